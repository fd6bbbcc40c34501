// Package lakeop runs one maintenance operation on the lake — applying
// retention, erasing a data subject, rotating the key — the way gallra run
// commits a night: under the lake's lock, after recovering from any crash, as
// one manifest switch (lake.Publish), with an entry in the lake's run log.
//
// An operation is a function that reads the committed generation it is
// given and says what changes: rows written through the Tx's lake.Writer,
// other staged files, data files removed. Nothing it does is visible until
// Do publishes it; if it fails, or the process dies, the lake is as it was.
//
// The run log entry (_gallra/runs/<run id>.json) carries the same fields
// the nightly reports do (run_id, kind, started, finished, outcome,
// exit_code, lake_generation), so the runs view lists both, plus the
// operation's counts. Like every gallra record, it never holds an
// identifier, a pseudonym or key material.
package lakeop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gallra/gallra/pipeline/atomicfile"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
)

// Outcomes of an operation.
const (
	OutcomeOK      = "ok"      // committed
	OutcomeNothing = "nothing" // nothing to change; no commit
	OutcomeDryRun  = "dry-run" // planned only; no commit
	OutcomeFailed  = "failed"  // nothing was committed
	// OutcomeInterrupted is the outcome of a run-log entry written for an
	// operation that died after its commit point, by the run that finished
	// its commit (it says only what the manifest knows).
	OutcomeInterrupted = "interrupted"
)

// Log is an operation's entry in the lake's run log.
type Log struct {
	RunID string `json:"run_id"`
	// Kind names the operation: "retain", "subject-erase", "key-rotate", ...
	Kind string `json:"kind"`
	// Reference is the caller's reference, e.g. a data-subject request's
	// case number. It must not be an identifier.
	Reference  string    `json:"reference,omitempty"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	Outcome    string    `json:"outcome"`
	ExitCode   int       `json:"exit_code"`
	Error      string    `json:"error,omitempty"`
	Generation int64     `json:"lake_generation"`
	KeyID      string    `json:"key_id,omitempty"`
	// Counts are the operation's own pseudonym-free counts, e.g.
	// "rows_anonymised": 120.
	Counts map[string]int64 `json:"counts"`
	// Details holds any further pseudonym-free record the operation wants
	// kept (per-source plans, per-partition counts).
	Details any `json:"details,omitempty"`
	// FilesAdded and FilesRemoved are the data files the commit added and
	// removed (paths relative to the lake).
	FilesAdded   []string `json:"files_added,omitempty"`
	FilesRemoved []string `json:"files_removed,omitempty"`
	// StaleLock names a holder that died with the lock, if any.
	StaleLock string `json:"stale_lock,omitempty"`
	// Recovery is what recovering the lake did first, if anything.
	Recovery *lake.Recovery `json:"recovery,omitempty"`
}

// Count adds n to the named count.
func (l *Log) Count(name string, n int64) {
	if l.Counts == nil {
		l.Counts = map[string]int64{}
	}
	l.Counts[name] += n
}

// Tx is one operation in progress.
type Tx struct {
	// Base is the committed generation the operation starts from.
	Base *lake.Manifest
	// Lake is the lake's directory.
	Lake string
	// RunID is the operation's run ID; files it writes carry it.
	RunID string
	// Log is the operation's run-log entry; add counts to it.
	Log *Log
	// KeyID, if set, is the key generation the lake's rows carry after the
	// commit (lake.Manifest.KeyID); a key rotation sets it. A change of key
	// ID alone is a commit too.
	KeyID string

	w      *lake.Writer
	staged []lake.StagedFile
	remove []string
}

// Writer returns the operation's lake writer, made on first use. Rows
// written through it are staged and published with the operation.
func (t *Tx) Writer() (*lake.Writer, error) {
	if t.w == nil {
		w, err := lake.NewWriter(t.Lake, t.RunID)
		if err != nil {
			return nil, err
		}
		t.w = w
	}
	return t.w, nil
}

// AddStaged adds files staged by other means than the Writer (they must lie
// in the lake's staging area of this run) to the commit.
func (t *Tx) AddStaged(files ...lake.StagedFile) { t.staged = append(t.staged, files...) }

// StageFile stages a file that is not made of lake Rows (an anonymised or
// frozen-aggregates file) in the operation's staging area and adds it to the
// commit: see lake.Writer.StageFile.
func (t *Tx) StageFile(p lake.Partition, name string, write func(io.Writer) (rows int64, err error)) (lake.StagedFile, error) {
	w, err := t.Writer()
	if err != nil {
		return lake.StagedFile{}, err
	}
	f, err := w.StageFile(p, name, write)
	if err != nil {
		return f, err
	}
	t.AddStaged(f)
	return f, nil
}

// Remove adds data files (paths relative to the lake, as the manifest lists
// them) to those the commit removes.
func (t *Tx) Remove(paths ...string) { t.remove = append(t.remove, paths...) }

// Func is the work of one operation. It must not publish; Do does. If
// dryRun is set, it must not write or remove anything, only count.
type Func func(ctx context.Context, tx *Tx) error

// Options for Do.
type Options struct {
	Kind      string
	Reference string
	KeyID     string
	// DryRun runs fn but commits nothing (fn should only plan and count).
	DryRun bool
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Logger gets the operation's progress (slog.Default if nil).
	Logger *slog.Logger
}

// ErrLocked is returned (wrapped) when another run holds the lake.
var ErrLocked = lake.ErrLocked

// Do runs fn on the lake at lakeDir: it takes the lock, recovers, runs fn on
// the committed generation, and publishes what fn staged and removed as one
// commit. It writes the run-log entry whether fn succeeded or not, as long
// as it held the lock, and returns it.
func Do(ctx context.Context, lakeDir string, fn Func, opt Options) (log *Log, err error) {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.Default()
	}
	started := now().UTC()
	log = &Log{RunID: lake.NewRunID(started), Kind: opt.Kind, Reference: opt.Reference, KeyID: opt.KeyID,
		Started: started, Counts: map[string]int64{}}
	lock, err := lake.AcquireLock(lakeDir, log.RunID)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	log.StaleLock = lock.Stale
	base, rec, err := lake.Recover(lakeDir)
	if err != nil {
		return nil, fmt.Errorf("recovering the lake: %w", err)
	}
	if !rec.Empty() {
		log.Recovery = &rec
		logger.Warn("recovered the lake from an interrupted run", "rolled_forward_generation", rec.RolledForward,
			"discarded_runs", rec.DiscardedRuns, "orphans", len(rec.Orphans))
	}
	if rec.RolledForward != 0 {
		logInterrupted(lakeDir, base, log.RunID, logger)
	}
	log.Generation = base.Generation
	defer func() {
		log.Finished = now().UTC()
		switch {
		case err != nil:
			log.Outcome, log.ExitCode, log.Error = OutcomeFailed, 1, err.Error()
		case log.Outcome == "":
			log.Outcome = OutcomeOK
		}
		if werr := WriteLog(lakeDir, log); werr != nil {
			err = errors.Join(err, werr)
		}
	}()

	tx := &Tx{Base: base, Lake: lakeDir, RunID: log.RunID, Log: log}
	abort := func() {
		if tx.w != nil {
			_ = tx.w.Abort()
		}
		_ = os.RemoveAll(filepath.Join(lakeDir, lake.StagingDir, log.RunID))
	}
	if err := fn(ctx, tx); err != nil {
		abort()
		return log, err
	}
	if opt.DryRun {
		abort()
		log.Outcome = OutcomeDryRun
		return log, nil
	}
	staged := slices.Clone(tx.staged)
	if tx.w != nil {
		files, err := tx.w.Stage()
		if err != nil {
			abort()
			return log, err
		}
		staged = append(staged, files...)
	}
	keyChange := tx.KeyID != "" && tx.KeyID != base.KeyID
	if len(staged) == 0 && len(tx.remove) == 0 && !keyChange {
		abort()
		log.Outcome = OutcomeNothing
		return log, nil
	}
	next, err := lake.Publish(lakeDir, base, lake.Change{RunID: log.RunID, Add: staged, Remove: tx.remove, KeyID: tx.KeyID})
	if next == nil {
		abort() // the commit point was not reached: the lake is as it was
	}
	if err != nil {
		return log, err
	}
	log.Generation = next.Generation
	for _, f := range staged {
		log.FilesAdded = append(log.FilesAdded, f.Path)
	}
	log.FilesRemoved = slices.Clone(tx.remove)
	if err := duck.WriteViews(lakeDir); err != nil {
		logger.Error("writing views.sql", "error", err.Error())
	}
	return log, nil
}

// logInterrupted writes the run-log entry of the run that committed m but
// died before writing its own (Recover has just finished its commit), so
// that every committed run has one, as gallra run does for a night.
func logInterrupted(lakeDir string, m *lake.Manifest, by string, logger *slog.Logger) {
	if _, err := os.Stat(filepath.Join(lakeDir, lake.MetaDir, "runs", m.RunID+".json")); err == nil {
		return
	}
	l := &Log{RunID: m.RunID, Kind: "unknown", Outcome: OutcomeInterrupted, Generation: m.Generation,
		Error: "killed after its commit point; run " + by + " finished its commit", Counts: map[string]int64{}}
	if err := WriteLog(lakeDir, l); err != nil {
		logger.Error("run log of an interrupted run", "error", err.Error())
	}
}

// WriteLog writes an operation's run-log entry, _gallra/runs/<run id>.json.
func WriteLog(lakeDir string, l *Log) error {
	dir := filepath.Join(lakeDir, lake.MetaDir, "runs")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("run log: %w", err)
	}
	b, err := json.MarshalIndent(l, "", " ")
	if err != nil {
		return fmt.Errorf("run log: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, l.RunID+".json"), append(b, '\n'), 0o640); err != nil {
		return fmt.Errorf("run log: %w", err)
	}
	return nil
}

// Rewrite is a helper for operations that change rows in place: for every
// pseudonymised partition (Table == "") of the committed generation for which want
// returns true (all, if want is nil), it passes each stored row to fn, which
// returns the row to keep (possibly changed) and whether to keep it. A
// partition in which fn changes or drops nothing is left alone; any other is
// written anew through the Tx's Writer and its old files removed. fn must
// give the same answer for the same row every time: a partition that
// changes is read twice (once to find out, once to write), so memory does
// not grow with its size. It returns the numbers of rows dropped and
// changed.
func (t *Tx) Rewrite(want func(lake.Partition) bool, fn func(p lake.Partition, r lake.Row) (lake.Row, bool, error)) (dropped, changed int64, err error) {
	for _, p := range t.Base.Partitions() {
		if p.Table != lake.TablePseudonymised || want != nil && !want(p) {
			continue
		}
		var d, c int64
		err := t.each(p, func(r lake.Row) error {
			out, ok, err := fn(p, r)
			switch {
			case err != nil:
				return err
			case !ok:
				d++
			case !lake.SameContent(&out, &r):
				c++
			}
			return nil
		})
		if err != nil {
			return dropped, changed, err
		}
		if d == 0 && c == 0 {
			continue
		}
		dropped, changed = dropped+d, changed+c
		w, err := t.Writer()
		if err != nil {
			return dropped, changed, err
		}
		err = t.each(p, func(r lake.Row) error {
			out, ok, err := fn(p, r)
			if err != nil || !ok {
				return err
			}
			return w.Write(p, out)
		})
		if err != nil {
			return dropped, changed, err
		}
		for _, f := range t.Base.PartitionFiles(p) {
			t.Remove(f.Path)
		}
	}
	return dropped, changed, nil
}

// each reads every stored row of partition p.
func (t *Tx) each(p lake.Partition, fn func(lake.Row) error) error {
	for _, f := range t.Base.PartitionFiles(p) {
		if err := lake.ReadFile(filepath.Join(t.Lake, filepath.FromSlash(f.Path)), fn); err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	return nil
}

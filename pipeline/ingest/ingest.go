// Package ingest runs a gallra job: it reads every export waiting in the
// sources' inboxes, turns each usable row into a minimised, pseudonymised lake
// row, quarantines the rest with a reason, merges the rows into the lake and
// commits them all at once.
//
// A run, top to bottom, is run.execute: lock the lake, recover from a crashed
// run, read every inbox into one batch, merge it (pipeline/merge), stage the
// changed partitions, publish them with one manifest switch (pipeline/lake),
// then cull the raw exports. The path of one row is fileRun.convert:
// identifier -> policy -> measure -> period -> municipality -> pseudonym and
// record key -> declared attributes -> lake.Row. Nothing else from the export
// is ever copied out of the reader: the schema's allowlist selects the
// columns before a row reaches this package.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/crashpoint"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/merge"
	"github.com/gallra/gallra/pipeline/quarantine"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/source"
	"github.com/gallra/gallra/schemas"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/period"
	"github.com/gallra/gallra/transforms/pseudonym"
	"github.com/gallra/gallra/transforms/retention"
)

// Reason codes that this package assigns itself (identifier and period
// reasons come from transforms/identity and transforms/period).
const (
	ReasonFieldCount      = "field_count"          // the record has more or fewer fields than the header
	ReasonMalformed       = "malformed_csv"        // the record cannot be parsed (the reader's own reason, e.g. invalid_encoding, is kept)
	ReasonMissingMeasure  = "missing_measure"      // no measure label
	ReasonUnknownMeasure  = "unknown_measure"      // a label the schema does not map to the shared code list
	ReasonBadMunicipality = "unknown_municipality" // not a kommunkod
	ReasonReserve         = "reserve_number"       // a reserve/temporary number and the policy quarantines those
	ReasonBirthDateOnly   = "birth_date_only"      // only a birth date and the policy quarantines those
)

// Options are the run's settings that do not come from the job file.
type Options struct {
	Version string           // gallra version, for the report
	Now     func() time.Time // clock; nil = time.Now
	Logger  *slog.Logger     // nil = slog.Default()
	// Progress, if set, is called for each export file once it is open, with
	// its path relative to the inbox and its size, and returns the tracker
	// that follows its reading (see ProgressTracker).
	Progress func(file string, size int64) ProgressTracker
}

// Run executes the job once. The returned report is complete even when the
// run failed (then err is non-nil and the report says why); the report's
// JSON has been written to the reports folder.
func Run(ctx context.Context, job *config.Job, key pseudonym.Key, opt Options) (*report.Run, error) {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	started := now().UTC()
	ref := job.ReferenceDate
	if ref.IsZero() {
		ref = time.Date(started.Year(), started.Month(), started.Day(), 0, 0, 0, 0, time.UTC)
	}
	r := &run{
		job: job, log: log, ref: ref, now: now, progress: opt.Progress,
		rep: &report.Run{
			RunID: lake.NewRunID(started), Kind: "run", Version: opt.Version, Started: started,
			ReferenceDate: ref.Format("2006-01-02"), Config: job.Path,
			KeyID: key.ID(), Domain: job.Key.Domain,
			Totals: report.Counts{Quarantined: map[string]int{}},
		},
	}
	if memoryLimit > 0 {
		// The run's memory budget, unless the process has one (GOMEMLIMIT).
		if cur := debug.SetMemoryLimit(-1); cur == math.MaxInt64 {
			debug.SetMemoryLimit(memoryLimit)
			defer debug.SetMemoryLimit(cur)
		}
	}
	err := r.execute(ctx, key)
	// The run's buffers are garbage now: give their memory back to the
	// operating system, so that what the process does next (gallra run
	// applies retention, in DuckDB) does not come on top of it. At 10M rows
	// the night with retention peaked at 280 MiB without this.
	debug.FreeOSMemory()
	if err != nil {
		r.rep.Error = err.Error()
		r.rep.Locked = errors.Is(err, lake.ErrLocked)
	}
	r.rep.Finished = now().UTC()
	r.rep.Conclude()
	path := filepath.Join(job.Reports, "run-"+r.rep.RunID+".json")
	if werr := r.rep.WriteJSON(path); werr != nil {
		err = errors.Join(err, fmt.Errorf("writing run report: %w", werr))
		r.rep.Error = err.Error()
		r.rep.Conclude()
	}
	log.Info("run finished", "run_id", r.rep.RunID, "outcome", r.rep.Outcome, "exit_code", r.rep.ExitCode,
		"rows_read", r.rep.Totals.Read, "rows_accepted", r.rep.Totals.Accepted,
		"rows_quarantined", r.rep.Totals.QuarantinedTotal(), "report", path)
	return r.rep, err
}

type run struct {
	job *config.Job
	log *slog.Logger
	ref time.Time
	now func() time.Time
	rep *report.Run
	q   *quarantine.Writer
	pz  *pseudonym.Pseudonymizer
	// what the lake already holds, and the exports this run has seen
	base *lake.Manifest
	seen map[string]string // content hash -> file, within this run

	progress func(file string, size int64) ProgressTracker // Options.Progress
}

// execute is one run: take the lake's lock, recover from any crash, read every
// inbox into one batch, merge it into the lake, and publish the result with
// one manifest switch. Only then are the raw exports culled.
func (r *run) execute(ctx context.Context, key pseudonym.Key) (err error) {
	for _, dir := range []string{r.job.Reports, r.job.Lake} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
	}
	if r.pz, err = pseudonym.NewPseudonymizer(key, r.job.Key.Domain); err != nil {
		return err
	}
	lock, err := lake.AcquireLock(r.job.Lake, r.rep.RunID)
	if err != nil {
		return err
	}
	defer lock.Release()
	r.rep.StaleLock = lock.Stale
	base, rec, err := lake.Recover(r.job.Lake)
	if err != nil {
		return fmt.Errorf("recovering the lake: %w", err)
	}
	if !rec.Empty() {
		r.rep.Recovery = &rec
		r.log.Warn("recovered the lake from an interrupted run", "rolled_forward_generation", rec.RolledForward,
			"discarded_runs", rec.DiscardedRuns, "orphans", len(rec.Orphans), "stale_lock", lock.Stale)
	}
	// Only the key generation the lake was last written with may write to
	// it: after a half-done rotation the pseudonyms would not link.
	if err := keyfile.CheckLake(key, base.KeyID); err != nil {
		return err
	}
	r.base, r.seen = base, map[string]string{}
	if rec.RolledForward != 0 {
		r.logInterruptedRun(base)
	}
	defer func() { r.writeRunLog(err) }()

	qpath := filepath.Join(r.job.Reports, "quarantine-"+r.rep.RunID+".csv")
	if r.q, err = quarantine.Create(qpath, r.rep.RunID); err != nil {
		return err
	}
	r.rep.Quarantine = qpath

	// The run's writer comes first: its staging directory also holds the
	// batch's spilled runs, so whatever a crash leaves there the next
	// Recover removes.
	w, err := lake.NewWriter(r.job.Lake, r.rep.RunID, lake.MaxBufferedRows(writerBufferedRows))
	if err != nil {
		return err
	}
	published := false
	defer func() {
		if !published {
			_ = w.Abort()
		}
	}()
	batch := merge.NewSpillingBatch(filepath.Join(r.job.Lake, lake.StagingDir, r.rep.RunID, "merge"), batchMemory)
	defer batch.Close()

	// Read: every inbox, in configuration order, files in name order. Later
	// versions of a participation replace earlier ones within the batch.
	// The files are read and converted ahead, on every core, and added to
	// the batch in this order (see parallel.go).
	lists := make([][]string, len(r.job.Sources))
	listErrs := make([]error, len(r.job.Sources))
	var all []*prepared
	for i, src := range r.job.Sources {
		lists[i], listErrs[i] = InboxFiles(src.Inbox)
		if listErrs[i] != nil {
			break // the loop below fails at this source
		}
		for _, path := range lists[i] {
			all = append(all, &prepared{src: src, path: path, rel: r.relPath(path),
				ready: make(chan struct{}), hashed: make(chan struct{}), stop: make(chan struct{}),
				chunks: make(chan *chunk, chunksAhead)})
		}
	}
	rd := r.startReaders(all)
	defer rd.stop()
	var inputs []lake.Input
	var done []doneFile // exports to cull once the lake holds them
	next := 0
	for i, src := range r.job.Sources {
		srep := &report.Source{Name: src.Name, Schema: src.Schema.Name, Keep: src.Policy.Names(),
			Counts: report.Counts{Quarantined: map[string]int{}}}
		r.rep.Sources = append(r.rep.Sources, srep)
		if err := listErrs[i]; err != nil {
			return fmt.Errorf("source %s: %w", src.Name, err)
		}
		for _, path := range lists[i] {
			if err := ctx.Err(); err != nil {
				return err
			}
			frep, err := r.ingestFile(rd, next, batch)
			next++
			if err != nil {
				return err
			}
			srep.Files = append(srep.Files, frep)
			srep.Counts.Add(frep.Counts)
			switch frep.Status {
			case report.FileOK:
				inputs = append(inputs, lake.Input{SHA256: frep.SHA256, Source: src.Name, Name: frep.Path,
					Bytes: frep.Bytes, Rows: frep.Counts.Read, RunID: r.rep.RunID, Reference: r.ref.Format(time.DateOnly)})
				done = append(done, doneFile{src.Name, path})
			case report.FileDuplicate:
				done = append(done, doneFile{src.Name, path})
			}
			crashpoint.Hit("file-read")
		}
		r.rep.Totals.Add(srep.Counts)
	}
	rd.stop()
	// The quarantine file is synced while the batch merges (the fsync left
	// both cores idle for tens of milliseconds): it must be on disk before
	// the manifest names the run, not before the merge starts.
	qclosed := make(chan error, 1)
	go func() { qclosed <- r.q.Close() }()

	// Merge and publish: nothing is visible until the manifest switches.
	res, err := merge.Apply(r.job.Lake, r.base, batch, w)
	if err != nil {
		return err
	}
	if err := batch.Close(); err != nil {
		return err
	}
	if err := <-qclosed; err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	crashpoint.Hit("merged")
	staged, err := w.Stage()
	if err != nil {
		return err
	}
	if len(staged) == 0 && len(res.Superseded) == 0 && len(inputs) == 0 {
		_ = w.Abort()
		r.rep.Generation = r.base.Generation
		r.log.Info("nothing new to commit", "generation", r.base.Generation)
	} else {
		next, err := lake.Publish(r.job.Lake, r.base, lake.Change{RunID: r.rep.RunID, Add: staged, Remove: res.Superseded, Inputs: inputs, KeyID: key.ID()})
		// Without a next manifest the commit point was not reached: the
		// deferred Abort leaves the lake as it was. Past it, the staged
		// files belong to the manifest.
		published = next != nil
		if err != nil {
			return err
		}
		r.base = next
		r.rep.Generation = next.Generation
		r.writeViews()
	}
	r.rep.Partitions = res.Stats
	for _, s := range res.Stats {
		r.rep.DroppedPastRetention += s.Dropped
	}
	for _, f := range staged {
		r.rep.LakeFiles = append(r.rep.LakeFiles, report.File{Path: f.Path, Rows: f.Rows, Bytes: f.Bytes, SHA256: f.SHA256})
	}
	r.rep.Superseded = res.Superseded

	// The lake holds the rows: cull the raw exports as the policy says.
	for _, d := range done {
		if err := r.afterIngest(d); err != nil {
			r.log.Error("export is in the lake but could not be culled; the next run skips it by its hash",
				"source", d.source, "file", r.relPath(d.path), "after_ingest", string(r.job.AfterIngest), "error", err.Error())
			r.rep.CullErrors++
		}
	}
	return nil
}

type doneFile struct{ source, path string }

// Memory bounds of a run: the batch spills beyond batchMemory, and the lake
// writer holds at most writerBufferedRows rows in unfinished row groups.
// Together with the readers' buffers they keep a run's peak RSS flat in the
// size of the night's exports.
// Variables, not constants, so that tests can make a run spill.
//
// memoryLimit is the soft limit (runtime/debug.SetMemoryLimit) a run sets
// for the Go runtime while it runs, unless the process already has one. A
// run's live heap is about 100-180 MiB whatever the night's size (while
// reading: the batch's budget, the readers' chunks, the held quarantine
// entries of the files not yet settled; while merging: the Parquet buffers
// of the open partition files, within the writer's bound, and the spilled
// runs' read buffers); without a limit the collector lets the heap grow to
// twice that, and peak RSS with it (418 MB at 10M rows; 234 MB with the
// limit, see benchmarks/RESULTS.md). A live heap near the limit makes the
// collector run all the time: a 100M-row night took 512-541 s while settled
// files' quarantine entries were kept, 420-450 s once they were not.
var (
	batchMemory        int64 = 32 << 20
	writerBufferedRows int64 = 1 << 18
	memoryLimit        int64 = 192 << 20
)

// afterIngest deletes, moves or keeps an export that the lake now holds.
func (r *run) afterIngest(d doneFile) error {
	switch r.job.AfterIngest {
	case config.Keep:
		return nil
	case config.Move:
		dir := filepath.Join(r.job.Done, d.source)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.Base(d.path))
		if _, err := os.Lstat(dst); err == nil {
			dst = filepath.Join(dir, r.rep.RunID+"-"+filepath.Base(d.path))
		}
		return os.Rename(d.path, dst)
	default:
		return os.Remove(d.path)
	}
}

// writeRunLog appends this run's report to the lake's run log
// (_gallra/runs/<run id>.json). It runs while the lock is held.
func (r *run) writeRunLog(err error) {
	if err != nil {
		r.rep.Error = err.Error()
	}
	dir := filepath.Join(r.job.Lake, lake.MetaDir, "runs")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		r.log.Error("run log", "error", err.Error())
		return
	}
	r.rep.Finished = r.now().UTC()
	r.rep.Conclude()
	if err := r.rep.WriteJSON(filepath.Join(dir, r.rep.RunID+".json")); err != nil {
		r.log.Error("run log", "error", err.Error())
	}
}

// writeViews writes <lake>/_gallra/views.sql (see duck.WriteViews). A failure
// is logged, not fatal: the lake is committed.
func (r *run) writeViews() {
	if err := duck.WriteViews(r.job.Lake); err != nil {
		r.log.Error("writing views.sql", "error", err.Error())
	}
}

// logInterruptedRun writes the run-log entry of a run that died after its
// commit point (Recover has just finished its commit), so that every
// committed run has one. It says only what the manifest knows.
func (r *run) logInterruptedRun(m *lake.Manifest) {
	path := filepath.Join(r.job.Lake, lake.MetaDir, "runs", m.RunID+".json")
	if _, err := os.Stat(path); err == nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		r.log.Error("run log", "error", err.Error())
		return
	}
	stub := &report.Run{RunID: m.RunID, Kind: "run", Outcome: report.OutcomeInterrupted, Generation: m.Generation,
		Error: "killed after its commit point; run " + r.rep.RunID + " finished its commit"}
	for _, in := range m.Inputs {
		if in.RunID == m.RunID {
			stub.Totals.Files++
			stub.Totals.Read += in.Rows
		}
	}
	if err := stub.WriteJSON(path); err != nil {
		r.log.Error("run log", "error", err.Error())
	}
}

func (r *run) relPath(path string) string {
	rel, err := filepath.Rel(r.job.Inbox, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// InboxFiles lists the exports waiting in a source's inbox (or a done
// folder): regular files with
// a known extension, sorted by name. Hidden files and Excel lock files (~$…)
// are skipped; a missing inbox is an empty one.
func InboxFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") {
			continue
		}
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv", ".txt", ".tsv", ".xlsx":
			out = append(out, filepath.Join(dir, name))
		}
	}
	sort.Strings(out)
	return out, nil
}

// ingestFile settles the i-th export of the run: it drives the readers
// (parallel.go) until the file is read, converted and added to the batch, or
// decided against, and then writes its quarantine entries, logs and reports
// it, in inbox order. A file is all-or-nothing: if it cannot be read to the
// end, its entries are discarded from the batch and its quarantine entries
// dropped, and it is reported as rejected and stays in the inbox. An export
// the lake already holds (same content hash) is a duplicate: read by
// nobody, culled after the run like any ingested file. The error is not the
// file's but the run's (the batch could not spill): the run fails.
func (r *run) ingestFile(rd *readers, i int, batch *merge.Batch) (*report.InputFile, error) {
	p := rd.files[i]
	defer p.abandon()
	defer func() {
		p.release()
		if settledHook != nil {
			settledHook(rd.files)
		}
	}()
	var prog ProgressTracker
	sent := 0
	for {
		if p.progress {
			// The file's progress is shown while it is the one being
			// settled; what was read ahead of its turn is handed on now.
			if prog == nil {
				prog = r.startProgress(p.rel, p.frep.Bytes)
				defer prog.Done()
			}
			for _, e := range p.events[sent:] {
				prog.Update(e.bytes, e.rows)
			}
			sent = len(p.events)
		}
		if p.finished {
			break
		}
		did, err := rd.step(batch)
		if err != nil {
			return p.frep, err
		}
		if !did && !p.finished {
			<-rd.notify
		}
	}
	p.finalised = true
	frep := p.frep
	if p.reading && p.streamed {
		// Read to the end, and hashed on the way: only now can it be
		// recognised as an export already ingested.
		<-p.hashed
		switch {
		case p.hashErr != nil:
			rd.reject(p, batch, "unreadable", p.hashErr)
		case rd.settleDuplicate(p, batch):
		case p.readErr != nil:
			rd.reject(p, batch, fileReason(p.readErr, "unreadable"), p.readErr)
		}
	}
	if !p.reading {
		p.outcome()
		return frep, nil
	}
	from, to := p.seqRange()
	fr := p.fr
	for _, h := range fr.held {
		e := quarantine.Entry{Source: p.src.Name, File: fr.file, Line: h.line, Field: fr.strs[h.field], Reason: fr.strs[h.reason]}
		if err := r.q.Add(e); err != nil {
			rd.reject(p, batch, "quarantine", err)
			p.outcome()
			return frep, nil
		}
	}
	batch.Release(from, to)
	r.seen[frep.SHA256] = p.rel
	frep.Counts = fr.counts
	r.log.Info("file read", "source", p.src.Name, "file", p.rel, "rows_read", fr.counts.Read, "rows_accepted", fr.counts.Accepted,
		"rows_quarantined", fr.counts.QuarantinedTotal(), "encoding", frep.Encoding)
	return frep, nil
}

func fileReason(err error, def string) string {
	var fe *source.FileError
	if errors.As(err, &fe) && fe.Reason != "" {
		return fe.Reason
	}
	return def
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// fileRun holds what converting one file's rows needs.
type fileRun struct {
	*run
	src    *config.Source
	schema *schemas.Schema
	width  int
	file   string
	codes  *schemas.Codes
	ids    identity.Parser // against the run's reference date
	// positions of the read columns in a selected row; -1 when the schema has none
	id, birth, measure, start, end, muni, recordID int
	// header names for quarantine entries
	idName, birthName, measureName, startName, endName, muniName string
	counts                                                       report.Counts
	// lastRef is the reference date of the source's latest export already
	// in the lake (zero if none): a participation that had started by then
	// was in that export if the source sends snapshots.
	lastRef time.Time
	// held are the file's quarantine entries until the file is read to
	// its end (a rejected file leaves none), compact because a large
	// export has many: field and reason as numbers in strs.
	held []heldEntry
	strs []string
}

type heldEntry struct {
	line          int
	field, reason uint16
}

// code returns the number of s in fr.strs, adding it if new.
func (fr *fileRun) code(s string) uint16 {
	for i, t := range fr.strs {
		if t == s {
			return uint16(i)
		}
	}
	fr.strs = append(fr.strs, s)
	return uint16(len(fr.strs) - 1)
}

func newFileRun(r *run, src *config.Source, b *schemas.Binding, file string) *fileRun {
	codes, _ := schemas.LoadCodes() // already loaded and checked by config.Load
	fr := &fileRun{run: r, src: src, schema: src.Schema, width: b.Width, file: file, codes: codes,
		ids:    identity.NewParser(r.ref),
		counts: report.Counts{Files: 1, Quarantined: map[string]int{}}}
	if last := r.base.LastReference(src.Name); last != "" {
		fr.lastRef, _ = time.Parse(time.DateOnly, last)
	}
	pos := func(holds string) (int, string) {
		i, ok := b.Pos[holds]
		if !ok {
			return -1, ""
		}
		return i, b.Names[i]
	}
	fr.id, fr.idName = pos("identifier")
	fr.birth, fr.birthName = pos("birth_date")
	fr.measure, fr.measureName = pos("measure")
	fr.start, fr.startName = pos("period_start")
	fr.end, fr.endName = pos("period_end")
	fr.muni, fr.muniName = pos("municipality")
	fr.recordID, _ = pos("record_id")
	return fr
}

func (fr *fileRun) quarantine(line int, field, reason string) {
	fr.counts.Quarantined[reason]++
	fr.held = append(fr.held, heldEntry{line: line, field: fr.code(field), reason: fr.code(reason)})
}

type rejection struct{ field, reason string }

func field(row source.Row, i int) string {
	if i < 0 || i >= len(row.Fields) {
		return ""
	}
	return row.Fields[i]
}

// convert is the path of one row from export to lake.
func (fr *fileRun) convert(pz *pseudonym.Pseudonymizer, sl *slabs, row source.Row) (merge.Entry, *rejection) {
	var none merge.Entry
	if row.NumFields != fr.width {
		return none, &rejection{"", ReasonFieldCount}
	}

	// 1. Who: the identifier, validated and canonicalised. The raw text goes
	//    no further than this block.
	id, rej := fr.identify(row)
	if rej != nil {
		return none, rej
	}
	linked := true
	switch id.Kind {
	case identity.Reserve:
		switch fr.src.Reserve {
		case config.Quarantine:
			return none, &rejection{fr.idName, ReasonReserve}
		case config.Unlinked:
			linked = false
		}
	case identity.BirthDate:
		switch fr.src.BirthDate {
		case config.Quarantine:
			return none, &rejection{fr.birthOrIDName(), ReasonBirthDateOnly}
		case config.Unlinked:
			linked = false
		}
	}

	// 2. What: the source's own label mapped to the shared measure code.
	label := strings.TrimSpace(field(row, fr.measure))
	if label == "" {
		return none, &rejection{fr.measureName, ReasonMissingMeasure}
	}
	measure, ok := fr.schema.MapMeasure(label)
	if !ok {
		return none, &rejection{fr.measureName, ReasonUnknownMeasure}
	}

	// 3. When: the period.
	per, err := period.Parse(field(row, fr.start), field(row, fr.end), fr.ref)
	if err != nil {
		var pe *period.Error
		errors.As(err, &pe)
		name := fr.startName
		if pe.Field == "end" {
			name = fr.endName
		}
		return none, &rejection{name, string(pe.Reason)}
	}

	// 4. Where: the municipality, from a column (as the code list's own
	//    string, which every row with the code shares) or the source's
	//    configuration.
	muni := &fr.src.Municipality
	if fr.muni >= 0 {
		if m := field(row, fr.muni); !blank(m) {
			if muni = fr.codes.MunicipalityCode(m); muni == nil {
				return none, &rejection{fr.muniName, ReasonBadMunicipality}
			}
		}
	}

	// 5. The pseudonym (none when the policy keeps the row unlinked) and a
	//    stable record key for merging later versions of the same participation.
	kind := id.Kind.String()
	out := lake.Row{
		KeyID:       pz.KeyID(),
		IDKind:      kind,
		Measure:     measure,
		PeriodStart: lake.Date(per.Start),
		RunID:       fr.rep.RunID,
	}
	if linked {
		out.Pseudonym = sl.pseud.New([16]byte(pz.Pseudonym(kind, id.Canonical)))
	}
	byRecordID := false
	if rid := strings.TrimSpace(field(row, fr.recordID)); fr.recordID >= 0 && rid != "" {
		out.RecordKey = [16]byte(pz.RecordKey(fr.src.Name, "record_id", rid))
		byRecordID = true
	} else {
		var buf [8]byte
		day := appendYYYYMMDD(buf[:0], per.Start)
		out.RecordKey = [16]byte(pz.RecordKey(fr.src.Name, kind, id.Canonical, measure, string(day)))
	}
	if !per.Ongoing() {
		out.PeriodEnd = sl.dates.New(lake.Date(per.End))
	}

	// 6. Minimise: only the attributes the policy declares.
	attrs := fr.src.Policy.Derive(id, per.Start, muni)
	out.Sex, out.AgeBand, out.Municipality = attrs.Sex, attrs.AgeBand, attrs.Municipality

	// 7. Retention: the last day an age rule (UKA's 21) lets the row stay
	//    linkable, from the birth year; the birth date itself is not kept.
	//    A row already past its pseudonymised tier on the reference day,
	//    that had started by the day of the source's previous export (so was
	//    in it, for a source that sends snapshots), only updates a version
	//    the lake holds (merge.Entry.PastRetention): with none, retention
	//    culled it before and the snapshot sent it again. A row first seen
	//    after its tier ended (a first load, or sparse exports) is stored,
	//    for retention to anonymise right after the night.
	past := false
	if p := fr.src.Retention; p != nil {
		var until, end time.Time
		if lu, ok := p.LinkableUntil(id.Birth); ok {
			out.LinkableUntil = sl.dates.New(lake.Date(lu))
			until = lu
		}
		if !per.Ongoing() {
			end = per.End
		}
		past = !fr.lastRef.IsZero() && !per.Start.After(fr.lastRef) &&
			p.TierOn(fr.ref, end, until) != retention.Pseudonymised
	}

	return merge.Entry{Source: fr.src.Name, Row: out, ByRecordID: byRecordID, PastRetention: past}, nil
}

// appendYYYYMMDD appends t.Format("20060102"), without the layout parsing
// that makes Format one of convert's larger costs for the years 0-9999.
// convert appends to an array of its own, so that the string it makes of it
// for the record key stays on the stack.
func appendYYYYMMDD(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, "20060102")
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10),
		byte('0'+int(m)/10), byte('0'+int(m)%10), byte('0'+d/10), byte('0'+d%10))
}

// identify reads the identifier column, or the birth date column when the
// identifier is empty and the schema has one.
func (fr *fileRun) identify(row source.Row) (identity.ID, *rejection) {
	text := field(row, fr.id)
	if fr.birth >= 0 && blank(text) {
		bd := field(row, fr.birth)
		if !blank(bd) {
			id, err := fr.ids.ParseBirthDate(bd)
			if err != nil {
				return id, &rejection{fr.birthName, string(identity.ReasonOf(err))}
			}
			return id, nil
		}
	}
	if fr.id < 0 {
		return identity.ID{}, &rejection{fr.birthName, string(identity.ReasonEmpty)}
	}
	id, err := fr.ids.Parse(text)
	if err != nil {
		return id, &rejection{fr.idName, string(identity.ReasonOf(err))}
	}
	return id, nil
}

// blank is strings.TrimSpace(s) == "", answered at the first byte for a
// field that starts with a printable ASCII character: most do, and identify
// asks it of every row's identifier.
func blank(s string) bool {
	if s != "" && ' ' < s[0] && s[0] < utf8.RuneSelf {
		return false
	}
	return strings.TrimSpace(s) == ""
}

func (fr *fileRun) birthOrIDName() string {
	if fr.birthName != "" {
		return fr.birthName
	}
	return fr.idName
}

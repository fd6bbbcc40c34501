package lake

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gallra/gallra/pipeline/atomicfile"
	"github.com/gallra/gallra/pipeline/crashpoint"
)

// Change is what one run does to the lake.
type Change struct {
	RunID  string
	Add    []StagedFile // new data files, staged by a Writer of this run
	Remove []string     // data files (paths relative to the lake) that the new ones supersede
	Inputs []Input      // exports ingested
	KeyID  string       // the key generation the run wrote with; empty keeps the lake's Manifest.KeyID
}

// Publish makes a run's change the lake's, all at once:
//
//  1. the next manifest, listing the new files and not the superseded ones,
//     is written with the file operations still to do (Pending) and switched
//     in by an atomic rename: the commit point;
//  2. the staged files are renamed into their partitions and the superseded
//     ones deleted;
//  3. the manifest is written again without Pending.
//
// A crash before the switch leaves the lake as it was (the staged files are
// discarded by the next Recover); a crash after it is finished by the next
// Recover, which applies Pending again (each step is idempotent). Readers
// that glob the partition directories see the old files or the new ones per
// partition; during step 2 they may see both generations for a moment, which
// is why tools that need one consistent generation read the manifest's file
// list (duck.LakeView does). The caller must hold the lake's Lock and must not
// Abort the Writer after Publish returns or fails past the commit point.
func Publish(lakeDir string, base *Manifest, c Change) (*Manifest, error) {
	next := base.clone()
	next.Generation++
	next.RunID = c.RunID
	next.Runs = append(next.Runs, c.RunID)
	if c.KeyID != "" {
		next.KeyID = c.KeyID
	}
	removed := make(map[string]bool, len(c.Remove))
	for _, p := range c.Remove {
		removed[p] = true
	}
	next.Files = slices.DeleteFunc(next.Files, func(f FileInfo) bool { return removed[f.Path] })
	pend := &Pending{Deletes: slices.Clone(c.Remove)}
	for _, a := range c.Add {
		next.Files = append(next.Files, a.FileInfo)
		pend.Renames = append(pend.Renames, Rename{From: a.Staged, To: a.Path})
	}
	next.Inputs = append(next.Inputs, c.Inputs...)
	next.normalise()
	next.Pending = pend
	crashpoint.Hit("publish-before-manifest")
	if err := writeManifest(lakeDir, next); err != nil {
		return nil, err
	}
	crashpoint.Hit("publish-after-manifest")
	if err := apply(lakeDir, next); err != nil {
		return next, fmt.Errorf("lake: committed generation %d, but applying it failed (the next run finishes it): %w", next.Generation, err)
	}
	return next, nil
}

// apply carries out m.Pending and then records that it is done.
func apply(lakeDir string, m *Manifest) error {
	if m.Pending == nil {
		return nil
	}
	for _, r := range m.Pending.Renames {
		crashpoint.Hit("publish-rename")
		src := filepath.Join(lakeDir, filepath.FromSlash(r.From))
		dst := filepath.Join(lakeDir, filepath.FromSlash(r.To))
		if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
			if _, derr := os.Stat(dst); derr == nil {
				continue // renamed before a crash
			}
			return fmt.Errorf("lake: staged file %s for %s is missing", r.From, r.To)
		}
		if err := moveIntoLake(lakeDir, r.From, r.To); err != nil {
			return err
		}
	}
	// The committing run's staging directory is empty now (or never held a file).
	_ = os.Remove(filepath.Join(lakeDir, StagingDir, m.RunID))
	dirs := map[string]bool{}
	for _, d := range m.Pending.Deletes {
		crashpoint.Hit("publish-delete")
		p := filepath.Join(lakeDir, filepath.FromSlash(d))
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("lake: remove superseded %s: %w", d, err)
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		removeEmptyPartition(lakeDir, d)
		if err := atomicfile.SyncDir(filepath.Dir(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	crashpoint.Hit("publish-before-clear")
	m.Pending = nil
	return writeManifest(lakeDir, m)
}

// removeEmptyPartition removes a partition directory left empty, and its
// source directory if that is empty too.
func removeEmptyPartition(lakeDir, dir string) {
	for d := dir; d != filepath.Clean(lakeDir) && strings.HasPrefix(d, filepath.Clean(lakeDir)); d = filepath.Dir(d) {
		if os.Remove(d) != nil { // fails unless empty
			return
		}
	}
}

// Recovery says what Recover found and did.
type Recovery struct {
	RolledForward int64    `json:"rolled_forward_generation,omitempty"` // a commit interrupted after its commit point, finished now
	DiscardedRuns []string `json:"discarded_runs,omitempty"`            // staging areas of runs that never committed
	Orphans       []string `json:"orphans,omitempty"`                   // data files no manifest lists, moved aside to _gallra/orphans
}

// Empty reports whether there was nothing to recover.
func (r Recovery) Empty() bool {
	return r.RolledForward == 0 && len(r.DiscardedRuns) == 0 && len(r.Orphans) == 0
}

// Recover brings the lake back to its manifest after a crash: it finishes a
// commit that passed its commit point, discards the staging areas of runs
// that did not, and moves aside any data file the manifest does not list
// (never deleting it: a file someone copied in by hand is kept for them, as
// <name>.orphan under _gallra/orphans, where no reader glob matches it). The
// caller must hold the lake's Lock.
func Recover(lakeDir string) (*Manifest, Recovery, error) {
	var rec Recovery
	m, err := ReadManifest(lakeDir)
	if err != nil {
		return nil, rec, err
	}
	if m.Pending != nil {
		if err := apply(lakeDir, m); err != nil {
			return nil, rec, err
		}
		rec.RolledForward = m.Generation
	}
	staging := filepath.Join(lakeDir, StagingDir)
	if entries, err := os.ReadDir(staging); err == nil {
		for _, e := range entries {
			rec.DiscardedRuns = append(rec.DiscardedRuns, e.Name())
		}
	}
	if err := CleanStaging(lakeDir); err != nil {
		return nil, rec, err
	}
	files, err := dataFiles(lakeDir)
	if err != nil {
		return nil, rec, err
	}
	listed := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		listed[f.Path] = true
	}
	for _, f := range files {
		if listed[f] {
			continue
		}
		dst := filepath.Join(lakeDir, MetaDir, "orphans", strings.ReplaceAll(f, "/", "__")+".orphan")
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return nil, rec, err
		}
		if err := os.Rename(filepath.Join(lakeDir, filepath.FromSlash(f)), dst); err != nil {
			return nil, rec, fmt.Errorf("lake: move aside orphan %s: %w", f, err)
		}
		removeEmptyPartition(lakeDir, filepath.Dir(filepath.Join(lakeDir, filepath.FromSlash(f))))
		rec.Orphans = append(rec.Orphans, f)
	}
	// Temporary files of interrupted atomic writes: the manifest's and the run log's.
	for _, pattern := range []string{"*.tmp", "runs/*.tmp", "runs/.*.tmp"} {
		tmps, _ := filepath.Glob(filepath.Join(lakeDir, MetaDir, pattern))
		for _, t := range tmps {
			_ = os.Remove(t)
		}
	}
	return m, rec, nil
}

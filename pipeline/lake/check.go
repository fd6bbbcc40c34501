package lake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/parquet-go/parquet-go"
)

// Problem is one thing Check found wrong. Its text names the file and what is
// wrong with it: sizes, counts and column names, never a value read from a
// data file (and never a hash, which says nothing to an operator).
type Problem struct {
	File string // relative to the lake root, slash-separated
	What string // what is wrong, in words
}

func (p Problem) String() string { return p.File + ": " + p.What }

// CheckReport is what Check found.
type CheckReport struct {
	Generation int64     // the manifest's generation (0: no manifest)
	Files      int       // data files the manifest lists
	Rows       int64     // rows the manifest lists
	Bytes      int64     // bytes the manifest lists
	ReadData   bool      // whether every file's content was hashed
	BytesRead  int64     // bytes hashed (ReadData)
	Runs       int       // committed runs the manifest lists
	Orphans    []string  // files Recover moved aside under _gallra/orphans (kept for their owner; not a problem)
	Problems   []Problem // empty: the lake matches its manifest
}

// OK reports whether Check found no problem.
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 }

func (r *CheckReport) add(file, format string, a ...any) {
	r.Problems = append(r.Problems, Problem{File: file, What: fmt.Sprintf(format, a...)})
}

// ErrBusy: a run held the lake's lock, or the manifest changed, while Check
// ran; what Check saw may be a run in progress. Check again later.
var ErrBusy = fmt.Errorf("%w: a run is in progress; check again when it has finished", ErrLocked)

// Check verifies the lake at lakeDir against its manifest, in the spirit of
// `restic check`, without changing anything (it works on a read-only mount):
//
//   - the manifest parses, and no commit is pending (a pending commit means a
//     run was interrupted past its commit point; the next run finishes it);
//   - every listed file exists with the listed size, its Parquet footer
//     opens, its schema is that of its table (pseudonymised, anonymised or
//     aggregates: see Partition.Table), its row count is the listed one, and
//     its "gallra.partition" metadata names the directory it lies in (files
//     of the aggregates table have none);
//   - with readData, every listed file's SHA-256 is the listed one (this reads
//     the whole lake; without it, a flipped byte inside a data page goes
//     unnoticed);
//   - no Parquet file lies in the lake that the manifest does not list, no
//     staging entry and no *.tmp file was left behind;
//   - the manifest lists each input hash and each file once, and every
//     committed run has its run log, _gallra/runs/<run id>.json.
//
// Problems are returned in the report; the error is for a lake that cannot be
// checked at all (no such folder) or one that a run changed while Check read
// it (ErrBusy, which wraps ErrLocked). Check does not take the lake's lock, so
// it never makes a nightly run fail; it makes sure that no run held the lock
// when it started and when it ended and that the manifest did not change.
func Check(lakeDir string, readData bool) (*CheckReport, error) {
	st, err := os.Stat(lakeDir)
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("lake: %s is not a folder", lakeDir)
	}
	if err := probeLock(lakeDir); err != nil {
		return nil, err
	}
	before, _ := os.ReadFile(filepath.Join(lakeDir, MetaDir, ManifestFile))

	rep := &CheckReport{ReadData: readData}
	m := checkManifest(lakeDir, before, rep)
	// Files a pending commit has yet to move or delete are where they are
	// expected to be: the pending problem says it all.
	pendingFrom, pendingTo, pendingDel := map[string]bool{}, map[string]bool{}, map[string]bool{}
	if m != nil && m.Pending != nil {
		for _, r := range m.Pending.Renames {
			pendingFrom[r.From], pendingTo[r.To] = true, true
		}
		for _, d := range m.Pending.Deletes {
			pendingDel[d] = true
		}
	}
	listed := map[string]bool{}
	if m != nil {
		rep.Generation, rep.Runs = m.Generation, len(m.Runs)
		for _, f := range m.Files {
			if listed[f.Path] {
				rep.add(metaPath(ManifestFile), "lists data file %s twice", f.Path)
				continue
			}
			listed[f.Path] = true
			rep.Files++
			rep.Rows += f.Rows
			rep.Bytes += f.Bytes
			checkFile(lakeDir, f, readData, pendingTo[f.Path], rep)
		}
		checkInputs(m, rep)
		checkRunLogs(lakeDir, m, rep)
	}
	unlisted := checkDisk(lakeDir, m != nil, before != nil, listed, pendingFrom, pendingDel, rep)
	if before == nil && m != nil && unlisted > 0 {
		rep.add(metaPath(ManifestFile), "missing, but the folder holds %s: not a gallra lake, or its manifest was lost", plural(unlisted, "Parquet file"))
	}

	after, _ := os.ReadFile(filepath.Join(lakeDir, MetaDir, ManifestFile))
	if string(before) != string(after) {
		return nil, ErrBusy
	}
	if err := probeLock(lakeDir); err != nil {
		return nil, err
	}
	return rep, nil
}

func metaPath(name string) string { return MetaDir + "/" + name }

// probeLock reports ErrBusy if a run holds the lake's lock. It takes a
// shared flock for an instant, without writing the lock file.
func probeLock(lakeDir string) error {
	f, err := os.Open(filepath.Join(lakeDir, MetaDir, LockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no run ever took it
	}
	if err != nil {
		return fmt.Errorf("lake: open lock: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return ErrBusy
		}
		return fmt.Errorf("lake: lock: %w", err)
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// checkManifest parses the manifest. It returns nil when there is none to
// check the files against (then the problem is recorded, unless the lake is
// simply empty).
func checkManifest(lakeDir string, b []byte, rep *CheckReport) *Manifest {
	mp := metaPath(ManifestFile)
	if b == nil {
		if _, err := os.Stat(filepath.Join(lakeDir, MetaDir, ManifestFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			rep.add(mp, "cannot be read")
			return nil
		}
		// No manifest: an empty lake, unless it holds data files (which
		// checkDisk reports as not listed).
		return &Manifest{Format: ManifestFormat}
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		rep.add(mp, "does not parse as JSON")
		return nil
	}
	if m.Format != ManifestFormat {
		rep.add(mp, "has format %q; this gallra reads %q", m.Format, ManifestFormat)
		return nil
	}
	if m.Pending != nil {
		rep.add(mp, "a commit was interrupted; the next run finishes it (generation %d has file operations pending)", m.Generation)
	}
	return &m
}

// checkFile checks one listed data file.
func checkFile(lakeDir string, f FileInfo, readData, pending bool, rep *CheckReport) {
	p := f.Path
	if !localPath(p) || !strings.HasSuffix(p, ".parquet") {
		rep.add(metaPath(ManifestFile), "lists a data file outside the lake's partitions: %s", p)
		return
	}
	dir := path.Dir(p)
	if dir != f.Partition.Dir() {
		rep.add(p, "listed for partition %s but lies in %s", f.Partition.Dir(), dir)
	}
	full := filepath.Join(lakeDir, filepath.FromSlash(p))
	fh, err := os.Open(full)
	if errors.Is(err, fs.ErrNotExist) {
		if !pending {
			rep.add(p, "listed in the manifest but missing")
		}
		return
	}
	if err != nil {
		rep.add(p, "cannot be opened")
		return
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil || !st.Mode().IsRegular() {
		rep.add(p, "is not a regular file")
		return
	}
	if st.Size() != f.Bytes {
		rep.add(p, "has %d bytes, the manifest lists %d (truncated or replaced)", st.Size(), f.Bytes)
	}
	// parquet-go's errors quote bytes of the file: they are not repeated.
	pf, err := parquet.OpenFile(fh, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		rep.add(p, "is not a readable Parquet file (its footer does not open)")
	} else {
		if err := CheckTableSchema(f.Partition.Table, pf.Schema()); err != nil {
			rep.add(p, "schema is not that of the lake's %s table: %v", tableName(f.Partition.Table), err)
		}
		if n := pf.NumRows(); n != f.Rows {
			rep.add(p, "has %d rows, the manifest lists %d", n, f.Rows)
		}
		// Frozen-aggregates files carry their year in their rows instead.
		if f.Partition.Table != TableAggregates {
			if part, ok := pf.Lookup("gallra.partition"); !ok {
				rep.add(p, "has no gallra.partition metadata")
			} else if part != dir {
				rep.add(p, "gallra.partition metadata names another partition than the directory it lies in")
			}
		}
	}
	if readData {
		h := sha256.New()
		n, err := io.Copy(h, io.NewSectionReader(fh, 0, 1<<62))
		rep.BytesRead += n
		switch {
		case err != nil:
			rep.add(p, "cannot be read to the end")
		case hex.EncodeToString(h.Sum(nil)) != f.SHA256:
			rep.add(p, "content differs from the manifest (SHA-256 mismatch)")
		}
	}
}

// localPath reports whether p is a clean relative path inside the lake.
func localPath(p string) bool {
	return p != "" && path.Clean(p) == p && filepath.IsLocal(filepath.FromSlash(p)) && !strings.HasPrefix(p, MetaDir+"/") && !strings.HasPrefix(p, StagingDir+"/")
}

// checkInputs: each ingested export's hash is listed once.
func checkInputs(m *Manifest, rep *CheckReport) {
	seen := make(map[string]Input, len(m.Inputs))
	for _, in := range m.Inputs {
		if prev, ok := seen[in.SHA256]; ok {
			rep.add(metaPath(ManifestFile), "input %s/%s (run %s) has the same content hash as %s/%s (run %s)",
				in.Source, in.Name, in.RunID, prev.Source, prev.Name, prev.RunID)
			continue
		}
		seen[in.SHA256] = in
	}
}

// checkRunLogs: every committed run has its run log.
func checkRunLogs(lakeDir string, m *Manifest, rep *CheckReport) {
	seen := map[string]bool{}
	for _, id := range m.Runs {
		if seen[id] {
			rep.add(metaPath(ManifestFile), "lists run %s twice", id)
			continue
		}
		seen[id] = true
		if validRunID(id) != nil {
			rep.add(metaPath(ManifestFile), "lists a run whose ID is not a valid run ID")
			continue
		}
		rel := metaPath("runs/" + id + ".json")
		b, err := os.ReadFile(filepath.Join(lakeDir, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			rep.add(rel, "missing: run %s is committed but has no run log", id)
			continue
		}
		if err != nil {
			rep.add(rel, "cannot be read")
			continue
		}
		var log struct {
			RunID string `json:"run_id"`
		}
		if json.Unmarshal(b, &log) != nil {
			rep.add(rel, "does not parse as JSON")
		} else if log.RunID != id {
			rep.add(rel, "is the log of another run")
		}
	}
}

// checkDisk walks the lake for what the manifest does not account for:
// unlisted Parquet files, staging leftovers and temporary files. It returns
// the number of unlisted Parquet files.
func checkDisk(lakeDir string, haveManifest, manifestFile bool, listed, pendingFrom, pendingDel map[string]bool, rep *CheckReport) (unlisted int) {
	root := filepath.Clean(lakeDir)
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel := "."
		if r, rerr := filepath.Rel(root, p); rerr == nil {
			rel = filepath.ToSlash(r)
		}
		if err != nil {
			rep.add(rel, "cannot be listed")
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		switch {
		case p == root:
			return nil
		case d.IsDir() && rel == StagingDir:
			checkStaging(p, pendingFrom, rep)
			return filepath.SkipDir
		case d.IsDir() && rel == MetaDir+"/orphans":
			if ents, err := os.ReadDir(p); err == nil {
				for _, e := range ents {
					rep.Orphans = append(rep.Orphans, rel+"/"+e.Name())
				}
			}
			return filepath.SkipDir
		case d.IsDir():
			return nil
		case strings.HasSuffix(name, ".tmp"):
			rep.add(rel, "temporary file left behind by an interrupted run")
		case strings.HasSuffix(name, ".parquet") && !strings.HasPrefix(rel, MetaDir+"/"):
			switch {
			case listed[rel] || pendingDel[rel]:
			case haveManifest:
				unlisted++
				if manifestFile {
					rep.add(rel, "Parquet file not in the manifest (the next run moves it aside to %s/orphans)", MetaDir)
				} else {
					rep.add(rel, "Parquet file, but the lake has no manifest")
				}
			}
		}
		return nil
	})
	return unlisted
}

// checkStaging reports what is left under _staging/ that no pending commit
// still needs. An empty _staging folder itself is normal.
func checkStaging(dir string, pendingFrom map[string]bool, rep *CheckReport) {
	runs, err := os.ReadDir(dir)
	if err != nil {
		rep.add(StagingDir, "cannot be listed")
		return
	}
	for _, r := range runs {
		rel := StagingDir + "/" + r.Name()
		if !r.IsDir() {
			rep.add(rel, "leftover staging entry of an interrupted run (the next run removes it)")
			continue
		}
		files, _ := os.ReadDir(filepath.Join(dir, r.Name()))
		needed := 0
		for _, f := range files {
			if pendingFrom[rel+"/"+f.Name()] {
				needed++
			}
		}
		if extra := len(files) - needed; extra > 0 || len(files) == 0 && len(pendingFrom) == 0 {
			rep.add(rel, "leftover staging area of an interrupted run, %s (the next run removes it)", plural(extra, "file"))
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// tableName names a table for an operator.
func tableName(t string) string {
	if t == TablePseudonymised {
		return "pseudonymised"
	}
	return t
}

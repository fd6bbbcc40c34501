package lake

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// checkRun writes rows into the given partitions (year -> rows) with a new
// Writer, publishes them over base with the given inputs, and writes the
// run's log as ingest does.
func checkRun(t *testing.T, dir, runID string, base *Manifest, years map[int]int, remove []string, inputs ...Input) *Manifest {
	t.Helper()
	w, err := NewWriter(dir, runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, y := range []int{2022, 2023, 2024, 2025} {
		for i := 0; i < years[y]; i++ {
			if err := w.Write(Partition{Source: "amea", StartYear: y}, testRow(y, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	staged, err := w.Stage()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Publish(dir, base, Change{RunID: runID, Add: staged, Remove: remove, Inputs: inputs})
	if err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, MetaDir, "runs")
	if err := os.MkdirAll(runs, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runs, runID+".json"), []byte(`{"run_id": "`+runID+`", "outcome": "ok"}`+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkLake makes a lake of two generations: run1 writes 2023 and 2024, run2
// supersedes the 2024 file and adds 2025.
func checkLake(t *testing.T) (string, *Manifest) {
	t.Helper()
	dir := t.TempDir()
	m := checkRun(t, dir, "run1", &Manifest{Format: ManifestFormat}, map[int]int{2023: 10, 2024: 5}, nil,
		Input{SHA256: strings.Repeat("a", 64), Source: "amea", Name: "amea/night1.csv", RunID: "run1"})
	var old string
	for _, f := range m.Files {
		if f.Partition.StartYear == 2024 {
			old = f.Path
		}
	}
	m = checkRun(t, dir, "run2", m, map[int]int{2024: 8, 2025: 3}, []string{old},
		Input{SHA256: strings.Repeat("b", 64), Source: "amea", Name: "amea/night2.csv", RunID: "run2"})
	return dir, m
}

// fileOf returns the manifest's file of a partition year.
func fileOf(t *testing.T, m *Manifest, year int) FileInfo {
	t.Helper()
	for _, f := range m.Files {
		if f.Partition.StartYear == year {
			return f
		}
	}
	t.Fatalf("no file for %d in the manifest", year)
	return FileInfo{}
}

func mustCheck(t *testing.T, dir string, readData bool) *CheckReport {
	t.Helper()
	rep, err := Check(dir, readData)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return rep
}

// wantProblems asserts that the report's problems are exactly these, each
// given as the file and a fragment of its text.
func wantProblems(t *testing.T, rep *CheckReport, want ...[2]string) {
	t.Helper()
	if len(rep.Problems) != len(want) {
		t.Fatalf("got %d problem(s), want %d:\n%s", len(rep.Problems), len(want), problemText(rep))
	}
	for i, w := range want {
		p := rep.Problems[i]
		if p.File != w[0] || !strings.Contains(p.What, w[1]) {
			t.Errorf("problem %d = %q, want %s: …%s…", i, p.String(), w[0], w[1])
		}
	}
	if rep.OK() != (len(want) == 0) {
		t.Errorf("OK() = %v with %d problem(s)", rep.OK(), len(want))
	}
}

func problemText(rep *CheckReport) string {
	var b strings.Builder
	for _, p := range rep.Problems {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

func TestCheckClean(t *testing.T) {
	dir, m := checkLake(t)
	for _, readData := range []bool{false, true} {
		rep := mustCheck(t, dir, readData)
		wantProblems(t, rep)
		if rep.Generation != 2 || rep.Files != 3 || rep.Rows != 10+8+3 || rep.Runs != 2 || rep.Bytes == 0 {
			t.Errorf("report %+v", rep)
		}
		if readData && rep.BytesRead != rep.Bytes || !readData && rep.BytesRead != 0 {
			t.Errorf("read %d bytes of %d with readData %v", rep.BytesRead, rep.Bytes, readData)
		}
	}
	if m.Generation != 2 {
		t.Fatalf("generation %d", m.Generation)
	}
	// An empty folder is an empty lake.
	wantProblems(t, mustCheck(t, t.TempDir(), true))
	if _, err := Check(filepath.Join(dir, "nope"), false); err == nil {
		t.Error("Check of a missing folder succeeded")
	}
}

func TestCheckCorruptByte(t *testing.T) {
	dir, m := checkLake(t)
	f := fileOf(t, m, 2023)
	p := filepath.Join(dir, f.Path)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[8] ^= 0x5A // inside the first data page: the footer still opens
	if err := os.WriteFile(p, b, 0o640); err != nil {
		t.Fatal(err)
	}
	// Only reading the data finds it, as with restic check --read-data.
	wantProblems(t, mustCheck(t, dir, false))
	wantProblems(t, mustCheck(t, dir, true), [2]string{f.Path, "SHA-256 mismatch"})

	// A flipped byte in the footer's magic is found without reading the data.
	b[len(b)-1] ^= 0x5A
	if err := os.WriteFile(p, b, 0o640); err != nil {
		t.Fatal(err)
	}
	wantProblems(t, mustCheck(t, dir, false), [2]string{f.Path, "not a readable Parquet file"})
}

func TestCheckTruncated(t *testing.T) {
	dir, m := checkLake(t)
	f := fileOf(t, m, 2025)
	if err := os.Truncate(filepath.Join(dir, f.Path), f.Bytes/2); err != nil {
		t.Fatal(err)
	}
	wantProblems(t, mustCheck(t, dir, true),
		[2]string{f.Path, "the manifest lists"},
		[2]string{f.Path, "not a readable Parquet file"},
		[2]string{f.Path, "SHA-256 mismatch"})
}

func TestCheckDeleted(t *testing.T) {
	dir, m := checkLake(t)
	f := fileOf(t, m, 2024)
	if err := os.Remove(filepath.Join(dir, f.Path)); err != nil {
		t.Fatal(err)
	}
	wantProblems(t, mustCheck(t, dir, false), [2]string{f.Path, "missing"})
}

func TestCheckUnlistedFile(t *testing.T) {
	dir, m := checkLake(t)
	f := fileOf(t, m, 2023)
	b, err := os.ReadFile(filepath.Join(dir, f.Path))
	if err != nil {
		t.Fatal(err)
	}
	extra := "source=amea/start_year=2023/part-copied-0.parquet"
	if err := os.WriteFile(filepath.Join(dir, extra), b, 0o640); err != nil {
		t.Fatal(err)
	}
	wantProblems(t, mustCheck(t, dir, false), [2]string{extra, "not in the manifest"})

	// Without a manifest, the same files are not a gallra lake.
	if err := os.Remove(filepath.Join(dir, MetaDir, ManifestFile)); err != nil {
		t.Fatal(err)
	}
	rep := mustCheck(t, dir, false)
	if rep.OK() || rep.Problems[len(rep.Problems)-1].File != MetaDir+"/"+ManifestFile ||
		!strings.Contains(rep.Problems[len(rep.Problems)-1].What, "4 Parquet files") {
		t.Errorf("lake without a manifest:\n%s", problemText(rep))
	}
}

func TestCheckLeftovers(t *testing.T) {
	dir, _ := checkLake(t)
	// A run that died after staging its files, and a manifest write cut short.
	w, err := NewWriter(dir, "run3")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Partition{Source: "amea", StartYear: 2024}, testRow(2024, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Stage(); err != nil {
		t.Fatal(err)
	}
	tmp := MetaDir + "/" + ManifestFile + ".123.tmp"
	if err := os.WriteFile(filepath.Join(dir, tmp), []byte("{"), 0o640); err != nil {
		t.Fatal(err)
	}
	wantProblems(t, mustCheck(t, dir, false),
		[2]string{tmp, "temporary file"},
		[2]string{StagingDir + "/run3", "1 file"})

	// Recover clears both; the empty _staging folder that remains is normal.
	if _, _, err := Recover(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, StagingDir), 0o750); err != nil {
		t.Fatal(err)
	}
	wantProblems(t, mustCheck(t, dir, false))
}

func TestCheckPending(t *testing.T) {
	dir, m := checkLake(t)
	// Run 3 switched its manifest and died before moving its file in and
	// deleting the one it supersedes.
	w, err := NewWriter(dir, "run3")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if err := w.Write(Partition{Source: "amea", StartYear: 2025}, testRow(2025, i)); err != nil {
			t.Fatal(err)
		}
	}
	staged, err := w.Stage()
	if err != nil {
		t.Fatal(err)
	}
	old := fileOf(t, m, 2025).Path
	next := m.clone()
	next.Generation, next.RunID = 3, "run3"
	next.Runs = append(next.Runs, "run3")
	next.Files = append(next.Files[:0:0], fileOf(t, m, 2023), fileOf(t, m, 2024), staged[0].FileInfo)
	next.Pending = &Pending{Renames: []Rename{{From: staged[0].Staged, To: staged[0].Path}}, Deletes: []string{old}}
	next.normalise()
	if err := writeManifest(dir, next); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, MetaDir, "runs", "run3.json"), []byte(`{"run_id":"run3"}`), 0o640); err != nil {
		t.Fatal(err)
	}
	// One problem, not one per file the pending commit has yet to move.
	wantProblems(t, mustCheck(t, dir, true), [2]string{MetaDir + "/" + ManifestFile, "a commit was interrupted; the next run finishes it"})

	if _, _, err := Recover(dir); err != nil {
		t.Fatal(err)
	}
	rep := mustCheck(t, dir, true)
	wantProblems(t, rep)
	if rep.Generation != 3 || rep.Rows != 10+8+4 {
		t.Errorf("after recovery: %+v", rep)
	}
}

func TestCheckManifestContents(t *testing.T) {
	dir, m := checkLake(t)
	edit := func(fn func(*Manifest)) {
		t.Helper()
		c := m.clone()
		fn(c)
		if err := writeManifest(dir, c); err != nil {
			t.Fatal(err)
		}
	}
	mp := MetaDir + "/" + ManifestFile
	f23 := fileOf(t, m, 2023)

	edit(func(c *Manifest) { c.Files[0].Rows++ })
	wantProblems(t, mustCheck(t, dir, false), [2]string{m.Files[0].Path, "rows, the manifest lists"})

	edit(func(c *Manifest) {
		c.Inputs = append(c.Inputs, Input{SHA256: c.Inputs[0].SHA256, Source: "amea", Name: "amea/again.csv", RunID: "run2"})
	})
	wantProblems(t, mustCheck(t, dir, false), [2]string{mp, "same content hash"})

	if err := os.Remove(filepath.Join(dir, MetaDir, "runs", "run1.json")); err != nil {
		t.Fatal(err)
	}
	edit(func(*Manifest) {})
	wantProblems(t, mustCheck(t, dir, false), [2]string{MetaDir + "/runs/run1.json", "no run log"})
	if err := os.WriteFile(filepath.Join(dir, MetaDir, "runs", "run1.json"), []byte(`{"run_id":"run1"}`), 0o640); err != nil {
		t.Fatal(err)
	}

	// A file moved to another partition, the manifest following it: its
	// metadata still names the partition it was written for.
	moved := "source=amea/start_year=2022/" + filepath.Base(f23.Path)
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(moved)), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, f23.Path), filepath.Join(dir, moved)); err != nil {
		t.Fatal(err)
	}
	edit(func(c *Manifest) {
		for i := range c.Files {
			if c.Files[i].Path == f23.Path {
				c.Files[i].Path, c.Files[i].Partition.StartYear = moved, 2022
			}
		}
		c.normalise()
	})
	wantProblems(t, mustCheck(t, dir, false), [2]string{moved, "gallra.partition metadata names another partition"})
	if err := os.Rename(filepath.Join(dir, moved), filepath.Join(dir, f23.Path)); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(filepath.Join(dir, mp), []byte(`{"format": "gallra-lake-1", "files": [`), 0o640); err != nil {
		t.Fatal(err)
	}
	wantProblems(t, mustCheck(t, dir, false), [2]string{mp, "does not parse"})

	edit(func(*Manifest) {})
	wantProblems(t, mustCheck(t, dir, true))
}

func TestCheckForeignSchema(t *testing.T) {
	dir, m := checkLake(t)
	type other struct {
		Pseudonym string `parquet:"pseudonym"`
		Measure   string `parquet:"measure"`
	}
	p := "source=amea/start_year=2022/part-foreign-0.parquet"
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(dir, p), []other{{"x", "M01"}, {"y", "M02"}},
		parquet.KeyValueMetadata("gallra.partition", "source=amea/start_year=2022")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	c := m.clone()
	c.Files = append(c.Files, FileInfo{Partition: Partition{Source: "amea", StartYear: 2022}, Path: p, Rows: 2, Bytes: int64(len(b)), SHA256: checkSHA(b)})
	c.normalise()
	if err := writeManifest(dir, c); err != nil {
		t.Fatal(err)
	}
	wantProblems(t, mustCheck(t, dir, true), [2]string{p, "schema is not that of the lake's pseudonymised table"})
}

func TestCheckWhileLocked(t *testing.T) {
	dir, _ := checkLake(t)
	l, err := AcquireLock(dir, "run3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(dir, false); !errors.Is(err, ErrLocked) || !errors.Is(err, ErrBusy) {
		t.Errorf("Check while a run holds the lock: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	wantProblems(t, mustCheck(t, dir, false))
	// Check does not hold the lock: a run can take it at once.
	l, err = AcquireLock(dir, "run3")
	if err != nil {
		t.Fatalf("lock after Check: %v", err)
	}
	l.Release()
}

func checkSHA(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

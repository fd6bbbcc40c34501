package lake

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stage writes n rows into one partition with a new writer and stages them.
func stage(t *testing.T, dir, runID string, year, n int) []StagedFile {
	t.Helper()
	w, err := NewWriter(dir, runID)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := w.Write(Partition{Source: "amea", StartYear: year}, testRow(year, i)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Stage()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestPublishAndManifest(t *testing.T) {
	dir := t.TempDir()
	m0, err := ReadManifest(dir)
	if err != nil || m0.Generation != 0 || len(m0.Files) != 0 {
		t.Fatalf("empty lake: %+v, %v", m0, err)
	}
	s1 := stage(t, dir, "run1", 2024, 10)
	m1, err := Publish(dir, m0, Change{RunID: "run1", Add: s1, Inputs: []Input{{SHA256: "bb", Source: "amea", Name: "b.csv"}, {SHA256: "aa", Source: "amea", Name: "a.csv"}}})
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Generation != 1 || back.Pending != nil || len(back.Files) != 1 || back.Files[0].Path != s1[0].Path || back.Rows() != 10 {
		t.Fatalf("manifest after publish: %+v", back)
	}
	if in, ok := back.Input("aa"); !ok || in.Name != "a.csv" {
		t.Errorf("Input(aa) = %+v, %v", in, ok)
	}
	if _, ok := back.Input("cc"); ok {
		t.Error("Input(cc) found")
	}
	if _, err := os.Stat(filepath.Join(dir, s1[0].Path)); err != nil {
		t.Errorf("published file: %v", err)
	}

	// The next generation supersedes the file.
	s2 := stage(t, dir, "run2", 2024, 12)
	m2, err := Publish(dir, m1, Change{RunID: "run2", Add: s2, Remove: []string{s1[0].Path}})
	if err != nil {
		t.Fatal(err)
	}
	if m2.Generation != 2 || len(m2.Files) != 1 || m2.Files[0].Path != s2[0].Path || strings.Join(m2.Runs, ",") != "run1,run2" {
		t.Fatalf("second generation: %+v", m2)
	}
	if _, err := os.Stat(filepath.Join(dir, s1[0].Path)); !os.IsNotExist(err) {
		t.Errorf("superseded file still there: %v", err)
	}
	files, _ := dataFiles(dir)
	if len(files) != 1 {
		t.Errorf("data files %v", files)
	}
}

func TestRecoverBeforeCommitPoint(t *testing.T) {
	dir := t.TempDir()
	m1, err := Publish(dir, &Manifest{Format: ManifestFormat}, Change{RunID: "run1", Add: stage(t, dir, "run1", 2023, 5)})
	if err != nil {
		t.Fatal(err)
	}
	stage(t, dir, "run2", 2024, 5) // a run that died before its manifest switched
	m, rec, err := Recover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rec.RolledForward != 0 || len(rec.DiscardedRuns) != 1 || rec.DiscardedRuns[0] != "run2" || len(rec.Orphans) != 0 {
		t.Errorf("recovery %+v", rec)
	}
	if m.Generation != m1.Generation {
		t.Errorf("generation %d, want %d", m.Generation, m1.Generation)
	}
	if _, err := os.Stat(filepath.Join(dir, StagingDir)); !os.IsNotExist(err) {
		t.Errorf("staging left: %v", err)
	}
	if again, _, _ := Recover(dir); again == nil {
		t.Fatal("second Recover failed")
	}
}

func TestRecoverPastCommitPoint(t *testing.T) {
	dir := t.TempDir()
	s1 := stage(t, dir, "run1", 2023, 5)
	m1, err := Publish(dir, &Manifest{Format: ManifestFormat}, Change{RunID: "run1", Add: s1})
	if err != nil {
		t.Fatal(err)
	}
	// Run 2 switched its manifest and died after its first rename.
	s2 := stage(t, dir, "run2", 2023, 7)
	s2b := stage(t, dir, "run2b", 2024, 3)
	next := m1.clone()
	next.Generation, next.RunID = 2, "run2"
	next.Files = []FileInfo{s2[0].FileInfo, s2b[0].FileInfo}
	next.Pending = &Pending{
		Renames: []Rename{{From: s2[0].Staged, To: s2[0].Path}, {From: s2b[0].Staged, To: s2b[0].Path}},
		Deletes: []string{s1[0].Path},
	}
	next.normalise()
	if err := writeManifest(dir, next); err != nil {
		t.Fatal(err)
	}
	if err := moveIntoLake(dir, s2[0].Staged, s2[0].Path); err != nil {
		t.Fatal(err)
	}
	m, rec, err := Recover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rec.RolledForward != 2 || m.Pending != nil {
		t.Errorf("recovery %+v, pending %+v", rec, m.Pending)
	}
	files, _ := dataFiles(dir)
	if len(files) != 2 || files[0] != s2[0].Path || files[1] != s2b[0].Path {
		t.Errorf("data files after roll-forward: %v", files)
	}
	back, _ := ReadManifest(dir)
	if back.Pending != nil || back.Generation != 2 {
		t.Errorf("manifest on disk still pending: %+v", back)
	}
}

func TestRecoverMovesOrphansAside(t *testing.T) {
	dir := t.TempDir()
	m1, err := Publish(dir, &Manifest{Format: ManifestFormat}, Change{RunID: "run1", Add: stage(t, dir, "run1", 2023, 5)})
	if err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(dir, "source=amea", "start_year=2023", "copied-by-hand.parquet")
	if err := os.WriteFile(stray, []byte("PAR1"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, rec, err := Recover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Orphans) != 1 || rec.Orphans[0] != "source=amea/start_year=2023/copied-by-hand.parquet" {
		t.Fatalf("orphans %v", rec.Orphans)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Error("orphan still visible to readers")
	}
	kept, _ := filepath.Glob(filepath.Join(dir, MetaDir, "orphans", "*.orphan"))
	if len(kept) != 1 {
		t.Errorf("orphan not kept aside: %v", kept)
	}
	files, _ := dataFiles(dir)
	if len(files) != len(m1.Files) {
		t.Errorf("data files %v", files)
	}
}

func TestNoManifestIsNotALake(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, "old")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Partition{Source: "amea", StartYear: 2024}, testRow(2024, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err != nil { // files without a manifest
		t.Fatal(err)
	}
	if _, err := ReadManifest(dir); !errors.Is(err, ErrNoManifest) {
		t.Fatalf("ReadManifest = %v, want ErrNoManifest", err)
	}
	if _, _, err := Recover(dir); !errors.Is(err, ErrNoManifest) {
		t.Fatalf("Recover = %v: it must not treat a foreign folder's files as orphans", err)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	l1, err := AcquireLock(dir, "run1")
	if err != nil || l1.Stale != "" {
		t.Fatalf("first lock: %v %q", err, l1.Stale)
	}
	_, err = AcquireLock(dir, "run2")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "run run1") {
		t.Fatalf("second lock = %v, want ErrLocked naming run1", err)
	}
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := AcquireLock(dir, "run2")
	if err != nil || l2.Stale != "" {
		t.Fatalf("after release: %v, stale %q", err, l2.Stale)
	}
	// A holder that dies: the kernel drops the flock, the record stays.
	l2.f.Close()
	l2.f = nil
	l3, err := AcquireLock(dir, "run3")
	if err != nil || !strings.Contains(l3.Stale, "run run2") {
		t.Fatalf("after a dead holder: %v, stale %q", err, l3.Stale)
	}
	l3.Release()
}

package lake

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/gallra/gallra/pipeline/anonymised"
	"github.com/gallra/gallra/transforms/retention"
)

// stageAnonymised stages an anonymised file of n rows into partition p
// through Writer.StageFile and publishes it with run runID, removing remove.
func stageAnonymised(t *testing.T, dir, runID string, base *Manifest, p Partition, n int, remove ...string) *Manifest {
	t.Helper()
	w, err := NewWriter(dir, runID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := w.StageFile(p, "part-"+runID+"-0.parquet", func(out io.Writer) (int64, error) {
		aw := anonymised.NewWriter(out, p.Dir(), runID)
		for i := 0; i < n; i++ {
			err := aw.Write(anonymised.Row{Measure: "M01", PeriodStart: day(p.StartYear, 4, 1), Granularity: retention.Quarter,
				CellKey: anonymised.NewCellKey(), AnonymisedByRun: runID})
			if err != nil {
				return 0, err
			}
		}
		return aw.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	own, err := w.Stage()
	if err != nil || len(own) != 0 {
		t.Fatalf("Stage: %v, %v", own, err)
	}
	m, err := Publish(dir, base, Change{RunID: runID, Add: []StagedFile{f}, Remove: remove})
	if err != nil {
		t.Fatal(err)
	}
	writeRunLog(t, dir, runID)
	return m
}

func writeRunLog(t *testing.T, dir, runID string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"run_id": runID})
	if err := os.WriteFile(filepath.Join(dir, MetaDir, "runs", runID+".json"), b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// TestTables: an anonymised file staged with StageFile is published,
// listed under its table, read back, checked against its own schema (not
// the pseudonymised one), and its directories go when it is removed; the
// manifest of a lake without other tables has no "Table" key.
func TestTables(t *testing.T) {
	dir, m := checkLake(t)
	b, _ := os.ReadFile(filepath.Join(dir, MetaDir, ManifestFile))
	if json.Valid(b) && contains(string(b), `"Table"`) {
		t.Error("a manifest of pseudonymised files only names a Table")
	}
	p := Partition{Source: "uka", StartYear: 2023, Table: TableAnonymised}
	m = stageAnonymised(t, dir, "run3", m, p, 5)
	files := m.TableFiles(TableAnonymised)
	if len(files) != 1 || files[0].Path != "anonymised/source=uka/start_year=2023/part-run3-0.parquet" || files[0].Rows != 5 {
		t.Fatalf("anonymised files %+v", files)
	}
	if len(m.TableFiles(TablePseudonymised)) != 3 {
		t.Errorf("pseudonymised files %+v", m.TableFiles(TablePseudonymised))
	}
	back, err := ReadManifest(dir)
	if err != nil || len(back.TableFiles(TableAnonymised)) != 1 || back.TableFiles(TableAnonymised)[0].Partition != p {
		t.Fatalf("manifest read back: %+v %v", back, err)
	}
	n := 0
	err = anonymised.ReadFile(filepath.Join(dir, files[0].Path), func(r anonymised.Row) error {
		n++
		if r.Granularity != retention.Quarter || r.AnonymisedByRun != "run3" || r.PeriodEnd != nil {
			t.Errorf("row %+v", r)
		}
		return nil
	})
	if err != nil || n != 5 {
		t.Fatalf("read %d rows: %v", n, err)
	}
	wantProblems(t, mustCheck(t, dir, true))

	// A pseudonymised reader refuses the file; Check finds a file of the
	// wrong table.
	if err := ReadFile(filepath.Join(dir, files[0].Path), func(Row) error { return nil }); err == nil {
		t.Error("lake.ReadFile read an anonymised file")
	}
	c := back.clone()
	for i := range c.Files {
		if c.Files[i].Partition.Table == TableAnonymised {
			c.Files[i].Partition.Table = TablePseudonymised
		}
	}
	if err := writeManifest(dir, c); err != nil {
		t.Fatal(err)
	}
	rep := mustCheck(t, dir, false)
	if len(rep.Problems) < 2 || !contains(problemText(rep), "schema is not that of the lake's pseudonymised table") {
		t.Errorf("wrong table not found:\n%s", problemText(rep))
	}
	if err := writeManifest(dir, back); err != nil {
		t.Fatal(err)
	}

	// Removing the file removes its partition directories up to the lake.
	m = stageAnonymised(t, dir, "run4", back, Partition{Source: "uka", StartYear: 2024, Table: TableAnonymised}, 1, files[0].Path)
	if _, err := os.Stat(filepath.Join(dir, "anonymised", "source=uka", "start_year=2023")); !os.IsNotExist(err) {
		t.Errorf("emptied partition directory left: %v", err)
	}
	wantProblems(t, mustCheck(t, dir, true))

	// An unpublished staged file is discarded by Recover.
	w, err := NewWriter(dir, "run5")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.StageFile(Partition{StartYear: 2023, Table: TableAggregates}, "part-run5.parquet", func(out io.Writer) (int64, error) {
		_, err := out.Write([]byte("PAR1"))
		return 0, err
	}); err != nil {
		t.Fatal(err)
	}
	if _, rec, err := Recover(dir); err != nil || len(rec.DiscardedRuns) != 1 {
		t.Fatalf("Recover: %+v %v", rec, err)
	}
	wantProblems(t, mustCheck(t, dir, true))
	if m.Generation != 4 {
		t.Errorf("generation %d", m.Generation)
	}
}

func TestStageFileRefuses(t *testing.T) {
	w, err := NewWriter(t.TempDir(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	ok := func(out io.Writer) (int64, error) { return 0, nil }
	p := Partition{Source: "uka", StartYear: 2023, Table: TableAnonymised}
	for _, name := range []string{"", "x.parquet", "part-.parquet", "part-a/b.parquet", "part-a.csv", "../part-a.parquet"} {
		if _, err := w.StageFile(p, name, ok); err == nil {
			t.Errorf("StageFile(%q) succeeded", name)
		}
	}
	if _, err := w.StageFile(Partition{Source: "uka", StartYear: 2023, Table: "x"}, "part-a.parquet", ok); err == nil {
		t.Error("StageFile into an unknown table succeeded")
	}
	if err := w.Write(p, testRow(2023, 1)); err == nil {
		t.Error("Writer.Write into the anonymised table succeeded")
	}
	// Two partitions may use the same file name.
	for _, y := range []int{2023, 2024} {
		if _, err := w.StageFile(Partition{StartYear: y, Table: TableAggregates}, "part-r1.parquet", ok); err != nil {
			t.Errorf("aggregates %d: %v", y, err)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestLinkableUntil: the column round-trips, SameContent sees it, and a
// file written before it existed (the first eleven columns) still reads,
// with LinkableUntil nil, and passes CheckSchema.
func TestLinkableUntil(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, "r1")
	if err != nil {
		t.Fatal(err)
	}
	p := Partition{Source: "uka", StartYear: 2024}
	lu := day(2027, 12, 31)
	a, b := testRow(2024, 1), testRow(2024, 2)
	a.LinkableUntil = &lu
	for _, r := range []Row{a, b} {
		if err := w.Write(p, r); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	var got []Row
	if err := ReadFile(filepath.Join(dir, files[0].Path), func(r Row) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].LinkableUntil == nil || *got[0].LinkableUntil != lu || got[1].LinkableUntil != nil {
		t.Fatalf("read back %+v", got)
	}
	c := got[0]
	c.LinkableUntil = nil
	if SameContent(&c, &got[0]) || !SameContent(&a, &got[0]) {
		t.Error("SameContent ignores linkable_until")
	}

	type oldRow struct {
		Pseudonym    [16]byte `parquet:"pseudonym,uuid,optional"` // one row: v0.32's batch bug cannot bite
		KeyID        string   `parquet:"key_id,optional,dict"`
		IDKind       string   `parquet:"id_kind,dict"`
		Measure      string   `parquet:"measure,dict"`
		PeriodStart  int32    `parquet:"period_start,date"`
		PeriodEnd    *int32   `parquet:"period_end,date"`
		Sex          *string  `parquet:"sex,dict"`
		AgeBand      *string  `parquet:"age_band,dict"`
		Municipality *string  `parquet:"municipality,dict"`
		RecordKey    [16]byte `parquet:"record_key,uuid"`
		RunID        string   `parquet:"run_id,dict"`
	}
	old := filepath.Join(dir, "old.parquet")
	f, err := os.Create(old)
	if err != nil {
		t.Fatal(err)
	}
	ow := parquet.NewGenericWriter[oldRow](f)
	if _, err := ow.Write([]oldRow{{Pseudonym: [16]byte{7}, KeyID: "gk1-0123456789abcdef", IDKind: IDPersonnummer, Measure: "M01", PeriodStart: day(2020, 1, 2), RecordKey: [16]byte{9}, RunID: "r0"}}); err != nil {
		t.Fatal(err)
	}
	if err := ow.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got = nil
	if err := ReadFile(old, func(r Row) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].LinkableUntil != nil || got[0].Measure != "M01" || got[0].RunID != "r0" {
		t.Errorf("old file read as %+v", got)
	}
}

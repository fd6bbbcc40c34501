package risk

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/anonymised"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/transforms/retention"
)

func day(s string) int32 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return lake.Date(t)
}

func ptr[T any](v T) *T { return &v }

// seedAnonymised adds anonymised rows to a real lake through a lake
// operation, as retention would: amea/2023 gets six PRAKTIK rows of March and
// two of February and one of January 2023 (month granularity), amea/2024 two
// KARTLAGGNING rows for which the policy kept sex.
func seedAnonymised(t *testing.T, dir string) {
	t.Helper()
	type seed struct {
		p    lake.Partition
		rows []anonymised.Row
	}
	row := func(m, start, end string, sex *string, ck uint64) anonymised.Row {
		return anonymised.Row{Measure: m, PeriodStart: day(start), PeriodEnd: ptr(day(end)), Granularity: retention.Month,
			Sex: sex, CellKey: ck, AnonymisedByRun: "20261123T000000.000Z-seeded"}
	}
	var r2023 []anonymised.Row
	for i := range 6 {
		r2023 = append(r2023, row("PRAKTIK", "2023-03-01", "2023-06-01", nil, uint64(100+i)))
	}
	r2023 = append(r2023, row("PRAKTIK", "2023-02-01", "2023-06-01", nil, 200), row("PRAKTIK", "2023-02-01", "2023-06-01", nil, 201),
		row("PRAKTIK", "2023-01-01", "2023-05-01", nil, 202))
	seeds := []seed{
		{lake.Partition{Table: lake.TableAnonymised, Source: "amea", StartYear: 2023}, r2023},
		{lake.Partition{Table: lake.TableAnonymised, Source: "amea", StartYear: 2024}, []anonymised.Row{
			row("KARTLAGGNING", "2024-02-01", "2024-03-01", ptr("K"), 300), row("KARTLAGGNING", "2024-02-01", "2024-03-01", ptr("M"), 301)}},
	}
	_, err := lakeop.Do(context.Background(), dir, func(ctx context.Context, tx *lakeop.Tx) error {
		w, err := tx.Writer()
		if err != nil {
			return err
		}
		for _, s := range seeds {
			f, err := w.StageFile(s.p, "part-seed.parquet", func(out io.Writer) (int64, error) {
				aw := anonymised.NewWriter(out, s.p.Dir(), tx.RunID)
				for _, r := range s.rows {
					if err := aw.Write(r); err != nil {
						return 0, err
					}
				}
				return aw.Close()
			})
			if err != nil {
				return err
			}
			tx.AddStaged(f)
		}
		return nil
	}, lakeop.Options{Kind: "test-seed"})
	if err != nil {
		t.Fatal(err)
	}
}

func assess(t *testing.T, dir string, k int64) *Report {
	t.Helper()
	db, err := duck.Open(context.Background(), duck.Options{ReadOnlyLake: true, LakeDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := duck.LakeView(context.Background(), db, dir); err != nil {
		t.Fatal(err)
	}
	rep, err := Assess(context.Background(), db, k, -1)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func cellKeys(t *testing.T, dir string) []uint64 {
	t.Helper()
	m, err := lake.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, f := range m.Files {
		if f.Partition.Table != lake.TableAnonymised {
			continue
		}
		err := anonymised.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)), func(r anonymised.Row) error {
			out = append(out, r.CellKey)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

func TestFixCoarsensTheLakeToKAnonymity(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	seedAnonymised(t, l.Dir)
	before := assess(t, l.Dir, 3)
	// Classes: March ×6, February ×2, January ×1, 2024 K ×1, M ×1: four under k = 3.
	if before.Rows != 11 || before.Classes != 5 || before.SmallClasses != 4 {
		t.Fatalf("before: %+v", before)
	}
	pseudo0, _ := lake.ReadManifest(l.Dir)

	// A dry run changes nothing.
	log, plan, err := Fix(context.Background(), l.Dir, FixOptions{K: 3, Action: Coarsen, DryRun: true})
	if err != nil || log.Outcome != lakeop.OutcomeDryRun || plan.Generalised != 3 || plan.Suppressed != 2 {
		t.Fatalf("dry run: %v %+v %+v", err, log, plan)
	}
	if again := assess(t, l.Dir, 3); again.SmallClasses != 4 {
		t.Fatal("the dry run changed the lake")
	}

	// February and January go to quarter (2023-01-01, ends 2023-04-01) and
	// make a class of 3; the two 2024 singletons lose sex, merge into 2 and
	// are suppressed.
	log, plan, err = Fix(context.Background(), l.Dir, FixOptions{K: 3, Action: Coarsen})
	if err != nil || log.Outcome != lakeop.OutcomeOK {
		t.Fatalf("fix: %v %+v", err, log)
	}
	if log.Counts["rows_generalised"] != 3 || log.Counts["rows_suppressed"] != 2 || log.Counts["partitions_rewritten"] != 2 {
		t.Errorf("counts %v", log.Counts)
	}
	after := assess(t, l.Dir, 3)
	if !after.OK() || after.Rows != 9 || after.Classes != 2 {
		t.Errorf("after: %+v", after)
	}
	// Cell keys are kept: the survivors' keys are the old ones minus the suppressed.
	want := []uint64{100, 101, 102, 103, 104, 105, 200, 201, 202}
	if got := cellKeys(t, l.Dir); !slices.Equal(got, want) {
		t.Errorf("cell keys %v, want %v", got, want)
	}
	// The pseudonymised tier is untouched and the lake is consistent.
	pseudo1, _ := lake.ReadManifest(l.Dir)
	for _, f := range pseudo0.Files {
		if f.Partition.Table == lake.TablePseudonymised && !slices.ContainsFunc(pseudo1.Files, func(g lake.FileInfo) bool { return g.Path == f.Path }) {
			t.Errorf("pseudonymised file %s was rewritten", f.Path)
		}
	}
	if rep, err := lake.Check(l.Dir, true); err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
	// A second fix has nothing to do.
	log, _, err = Fix(context.Background(), l.Dir, FixOptions{K: 3, Action: Coarsen})
	if err != nil || log.Outcome != lakeop.OutcomeNothing {
		t.Errorf("second fix: %v %s", err, log.Outcome)
	}
}

func TestFixSuppress(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	seedAnonymised(t, l.Dir)
	log, _, err := Fix(context.Background(), l.Dir, FixOptions{K: 3, Action: Suppress})
	if err != nil || log.Counts["rows_suppressed"] != 5 || log.Counts["rows_generalised"] != 0 {
		t.Fatalf("%v %v", err, log.Counts)
	}
	// Only the March class of 6 is left; the 2024 partition is gone.
	after := assess(t, l.Dir, 3)
	if after.Rows != 6 || after.Classes != 1 || !after.OK() {
		t.Errorf("after: %+v", after)
	}
	m, _ := lake.ReadManifest(l.Dir)
	for _, f := range m.Files {
		if f.Partition.Table == lake.TableAnonymised && f.Partition.StartYear == 2024 {
			t.Errorf("suppressed partition still listed: %s", f.Path)
		}
	}
	if rep, err := lake.Check(l.Dir, true); err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
}

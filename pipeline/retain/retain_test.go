package retain_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/pipeline/retain"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/schemas/retention"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// query runs q over fresh views of the lake.
func query(t *testing.T, dir, q string) string {
	t.Helper()
	ctx := context.Background()
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, dir); err != nil {
		t.Fatal(err)
	}
	_, rows, err := duck.Query(ctx, db, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return fmt.Sprint(rows)
}

func checkLake(t *testing.T, dir string) {
	t.Helper()
	rep, err := lake.Check(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("check: %s", p)
	}
}

// The hand-checked lake under Jönköping's promise (linkable through the
// period's last day, anonymised by month for five years, then purged). Its
// nine rows end 2023-06-30, 2023-07-15…2024-02-29, 2024-01-01, 2024-03-14,
// 2024-05-31, 2024-06-30 and 2025-03-31; two are ongoing.
func TestApplyOnTheHandCheckedLake(t *testing.T) {
	ctx := context.Background()
	l := testlake.Build(t, testlake.HandChecked, "")
	p, err := retention.Lookup("jonkoping_amea")
	if err != nil {
		t.Fatal(err)
	}
	job := &config.Job{Lake: l.Dir, Sources: []*config.Source{{Name: "amea", Retention: &p}, {Name: "aksel"}}}
	before, _ := lake.ReadManifest(l.Dir)

	// On the first end's last day, nothing leaves: nothing to commit.
	res, err := retain.Apply(ctx, job, l.Key, date("2023-06-30"), retain.Options{})
	if err != nil || res.Log.Outcome != lakeop.OutcomeNothing || res.Log.Counts[retain.CountPseudonymisedKept] != 9 {
		t.Fatalf("2023-06-30: %v %+v", err, res.Log)
	}

	// A dry run on 2026-11-23 plans what the real run does and changes nothing.
	dry, err := retain.Apply(ctx, job, l.Key, date("2026-11-23"), retain.Options{DryRun: true})
	if err != nil || dry.Log.Outcome != lakeop.OutcomeDryRun {
		t.Fatalf("dry run: %v %+v", err, dry.Log)
	}
	if m, _ := lake.ReadManifest(l.Dir); m.Generation != before.Generation {
		t.Fatalf("the dry run committed generation %d", m.Generation)
	}
	res, err = retain.Apply(ctx, job, l.Key, date("2026-11-23"), retain.Options{})
	if err != nil || res.Log.Outcome != lakeop.OutcomeOK || res.Log.Kind != "retain" {
		t.Fatalf("2026-11-23: %v %+v", err, res.Log)
	}
	want := map[string]int64{retain.CountAnonymised: 7, retain.CountPurged: 0, retain.CountAnonymisedPurged: 0,
		retain.CountYearsFrozen: 3, retain.CountRowsForFrozenYears: 2, retain.CountPseudonymisedKept: 2, retain.CountAnonymisedRowsLeft: 7}
	for name, n := range want {
		if res.Log.Counts[name] != n || dry.Log.Counts[name] != n {
			t.Errorf("%s = %d (dry run %d), want %d", name, res.Log.Counts[name], dry.Log.Counts[name], n)
		}
	}
	if fmt.Sprint(res.Details.YearsFrozen) != "[2023 2024 2025]" || len(res.Details.Sources) != 2 ||
		res.Details.Sources[0] != (retain.Source{Source: "amea", Policy: "jonkoping_amea", Pseudonymised: 2, Anonymised: 7, AnonymisedKept: 7, ForFrozenYears: 2}) {
		t.Errorf("details %+v", res.Details)
	}
	checkLake(t, l.Dir)
	if got := query(t, l.Dir, "SELECT count(*), count(pseudonym), count(period_end) FROM lake"); got != "[[2 2 0]]" {
		t.Errorf("lake after: %s, want the two ongoing rows", got)
	}
	// Coarsened to the month, nothing kept but measure and period.
	got := query(t, l.Dir, `SELECT source, start_year, measure, strftime(period_start, '%Y-%m-%d'), strftime(period_end, '%Y-%m-%d'), granularity,
		count(sex) + count(age_band) + count(municipality), count(DISTINCT cell_key), min(anonymised_by_run) = '`+res.Log.RunID+`'
		FROM anonymised GROUP BY ALL ORDER BY ALL`)
	wantRows := "[[amea 2023 ARBETSTRANING 2023-07-01 2024-02-01 month 0 1 true] [amea 2023 PRAKTIK 2023-03-01 2023-06-01 month 0 1 true] " +
		"[amea 2024 ARBETSTRANING 2024-01-01 2024-01-01 month 0 1 true] [amea 2024 KARTLAGGNING 2024-02-01 2024-03-01 month 0 1 true] " +
		"[amea 2024 KARTLAGGNING 2024-06-01 2024-06-01 month 0 1 true] [amea 2024 PRAKTIK 2024-05-01 2024-05-01 month 0 1 true] " +
		"[amea 2024 PRAKTIK 2024-12-01 2025-03-01 month 0 1 true]]"
	if got != wantRows {
		t.Errorf("anonymised:\n%s\nwant\n%s", got, wantRows)
	}
	if got := query(t, l.Dir, "SELECT year, value FROM aggregates WHERE statistic = 'participants' AND source = 'TOTAL' AND measure = 'TOTAL' ORDER BY year"); got != "[[2023 2] [2024 4] [2025 3]]" {
		t.Errorf("frozen participants: %s, want 2023: P1 P3; 2024: P1-P4; 2025: P1 P2 P3", got)
	}

	// 2029-03-01: ends coarsened to 2023-06-01, 2024-01-01 and 2024-02-01
	// are past five years (the last one a month early: its true end,
	// 2024-02-29, would be kept through 2029-03-01); 2024-03-01 is not yet.
	res, err = retain.Apply(ctx, job, l.Key, date("2029-03-01"), retain.Options{})
	if err != nil || res.Log.Counts[retain.CountAnonymisedPurged] != 3 || res.Log.Counts[retain.CountYearsFrozen] != 0 ||
		res.Log.Counts[retain.CountAnonymisedRowsLeft] != 4 || res.Log.Counts[retain.CountAnonymised] != 0 {
		t.Fatalf("2029-03-01: %v %+v", err, res.Log.Counts)
	}
	checkLake(t, l.Dir)
	if got := query(t, l.Dir, "SELECT count(*), min(period_end) FROM anonymised"); got != "[[4 2024-03-01 00:00:00 +0000 UTC]]" && got != "[[4 2024-03-01]]" {
		t.Errorf("anonymised after 2029-03-01: %s", got)
	}
	// Far later everything ended is gone; the two ongoing rows stay.
	res, err = retain.Apply(ctx, job, l.Key, date("2040-01-01"), retain.Options{})
	if err != nil || res.Log.Counts[retain.CountAnonymisedPurged] != 4 || res.Log.Counts[retain.CountPseudonymisedKept] != 2 {
		t.Fatalf("2040: %v %+v", err, res.Log.Counts)
	}
	checkLake(t, l.Dir)
	m, _ := lake.ReadManifest(l.Dir)
	if n := len(m.TableFiles(lake.TableAnonymised)); n != 0 {
		t.Errorf("%d anonymised files left", n)
	}
	if n := len(m.TableFiles(lake.TableAggregates)); n != 3 {
		t.Errorf("%d frozen years, want 3 (kept)", n)
	}
}

// The frozen cell keys come from the pseudonyms under the key, so a key
// that is not the lake's (the wrong file, or a rotation half done) must not
// freeze or move anything.
func TestApplyRefusesAKeyThatIsNotTheLakes(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	p, err := retention.Lookup("jonkoping_amea")
	if err != nil {
		t.Fatal(err)
	}
	job := &config.Job{Lake: l.Dir, Sources: []*config.Source{{Name: "amea", Retention: &p}}}
	other, err := keyfile.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := lake.ReadManifest(l.Dir)
	_, err = retain.Apply(context.Background(), job, other, date("2026-11-23"), retain.Options{})
	if !errors.Is(err, keyfile.ErrKeyMismatch) {
		t.Fatalf("err %v, want ErrKeyMismatch", err)
	}
	if after, _ := lake.ReadManifest(l.Dir); after.Generation != before.Generation {
		t.Errorf("generation %d -> %d", before.Generation, after.Generation)
	}
}

package stats_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/stats"
	"github.com/gallra/gallra/pipeline/testlake"
)

// The suite's SQL was rewritten for speed (range joins and self-joins
// replaced by month and year bit masks, windows and histograms). The
// queries as they were before, plain joins that say the definitions
// directly, are kept in testdata/reference; on a generated lake dense with
// overlaps every statistic must give exactly their rows, for every
// breakdown and several spans.

// denseLake writes a lake of random participations of few persons (so that
// a person has many rows, overlapping, in the same category, on the same
// day, across years and month ends) straight through lake.Writer.
func denseLake(t *testing.T) string {
	t.Helper()
	const runID = "reference-test"
	rng := rand.New(rand.NewPCG(7, 11))
	sources := []string{"af_program", "amea", "aksel"}
	measures := []string{"ARBETSTRANING", "KARTLAGGNING", "PRAKTIK", "SFI"}
	sexes := []string{"K", "M"}
	bands := []string{"16-19", "20-24", "25-29"}
	munis := []string{"0180", "0680"}
	people := make([][16]byte, 400)
	for i := range people {
		for j := range people[i] {
			people[i][j] = byte(rng.UintN(256))
		}
		people[i][0] |= 1
	}
	// Days that test the edges: leap days, month ends, year ends.
	special := []time.Time{
		time.Date(2016, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2019, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2021, 1, 31, 0, 0, 0, 0, time.UTC), time.Date(2022, 6, 30, 0, 0, 0, 0, time.UTC),
	}
	parts := map[lake.Partition][]lake.Row{}
	for i := 0; i < 6000; i++ {
		// Person i starts no earlier than 2014 + i%13, so that every year
		// has new entrants and cohorts.
		pi := rng.IntN(len(people))
		first := 2014 + pi%13
		var start time.Time
		if s := special[rng.IntN(len(special))]; rng.IntN(10) == 0 && s.Year() >= first {
			start = s
		} else {
			start = time.Date(first+rng.IntN(2027-first), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(365))
		}
		r := lake.Row{KeyID: "gk1-00000000test0000", IDKind: lake.IDPersonnummer,
			Measure: measures[rng.IntN(len(measures))], PeriodStart: lake.Date(start), RunID: runID}
		for j := range r.RecordKey {
			r.RecordKey[j] = byte(rng.UintN(256))
		}
		if rng.IntN(20) > 0 { // some rows are not linked
			p := people[pi]
			r.Pseudonym = &p
		}
		switch n := rng.IntN(20); {
		case n < 3: // ongoing
		case n < 5: // ends on its start day, or on a month's last day
			end := r.PeriodStart
			if n == 4 {
				end = lake.Date(time.Date(start.Year(), start.Month()+time.Month(1+rng.IntN(14)), 0, 0, 0, 0, 0, time.UTC))
			}
			r.PeriodEnd = &end
		default:
			end := r.PeriodStart + int32(rng.IntN(800))
			r.PeriodEnd = &end
		}
		if rng.IntN(3) > 0 {
			r.Sex = &sexes[rng.IntN(len(sexes))]
			r.AgeBand = &bands[rng.IntN(len(bands))]
		}
		if rng.IntN(2) > 0 {
			r.Municipality = &munis[rng.IntN(len(munis))]
		}
		p := lake.Partition{Source: sources[rng.IntN(len(sources))], StartYear: start.Year()}
		parts[p] = append(parts[p], r)
	}
	return writeLake(t, runID, parts)
}

// writeLake writes the rows to a new lake through lake.Writer and
// publishes them.
func writeLake(t *testing.T, runID string, parts map[lake.Partition][]lake.Row) string {
	t.Helper()
	dir, _ := testlake.WriteRows(t, runID, parts)
	return dir
}

// viewDB opens a DuckDB session with the views of the lake at dir.
func viewDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := duck.Open(context.Background(), duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := duck.LakeView(context.Background(), db, dir); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestSuiteEqualsReferenceQueries(t *testing.T) {
	dir := denseLake(t)
	ctx := context.Background()
	db := viewDB(t, dir)
	suite, err := stats.Suite()
	if err != nil {
		t.Fatal(err)
	}
	spans := []stats.Span{
		{FromYear: 2016, ToYear: 2025},
		{FromYear: 2020, ToYear: 2021, WithinDays: 90},
		{FromYear: 2010, ToYear: 2030, WithinDays: 7}, // more than 120 months: two blocks of month bits
	}
	checked := 0
	for _, sp := range spans {
		sp.AsOf = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
		for _, by := range stats.Breakdowns {
			sp.By = by
			// The suite with one preparation, in SQL and with the person
			// inputs swept in Go, must give the same rows as each
			// statistic alone.
			prep, err := stats.Prepare(ctx, db, "", sp, suite)
			if err != nil {
				t.Fatalf("prepare %d–%d by %s: %v", sp.FromYear, sp.ToYear, by, err)
			}
			if len(prep.Inputs) == 0 {
				t.Fatal("the preparation materialised no shared input")
			}
			swept, err := stats.Prepare(ctx, db, dir, sp, suite)
			if err != nil {
				t.Fatalf("prepare swept %d–%d by %s: %v", sp.FromYear, sp.ToYear, by, err)
			}
			if swept.SweepTook == 0 {
				t.Fatal("the preparation with the lake's directory swept nothing")
			}
			for _, q := range suite {
				ref, err := os.ReadFile(filepath.Join("testdata", "reference", q.Name+".sql"))
				if err != nil {
					t.Fatal(err)
				}
				_, want, err := stats.Run(ctx, db, stats.Query{Name: q.Name, SQL: string(ref)}, sp)
				if err != nil {
					t.Fatalf("reference %s: %v", q.Name, err)
				}
				if len(want) == 0 {
					t.Fatalf("%s %d–%d by %s: the reference gives no rows; the lake tests nothing", q.Name, sp.FromYear, sp.ToYear, by)
				}
				_, got, err := stats.Run(ctx, db, q, sp)
				if err != nil {
					t.Fatalf("%s %d–%d by %s: %v", q.Name, sp.FromYear, sp.ToYear, by, err)
				}
				_, prepared, err := prep.Run(ctx, q)
				if err != nil {
					t.Fatalf("prepared %s %d–%d by %s: %v", q.Name, sp.FromYear, sp.ToYear, by, err)
				}
				_, bySweep, err := swept.Run(ctx, q)
				if err != nil {
					t.Fatalf("swept %s %d–%d by %s: %v", q.Name, sp.FromYear, sp.ToYear, by, err)
				}
				for _, c := range []struct {
					how  string
					rows [][]string
				}{{"alone", got}, {"prepared", prepared}, {"swept", bySweep}} {
					if g, w := joinRows(c.rows), joinRows(want); g != w {
						t.Errorf("%s %s %d–%d by %s:\n got\n  %s\n want\n  %s", q.Name, c.how, sp.FromYear, sp.ToYear, by,
							strings.ReplaceAll(g, "\n", "\n  "), strings.ReplaceAll(w, "\n", "\n  "))
					}
				}
				checked++
			}
			if err := prep.Close(); err != nil {
				t.Fatal(err)
			}
			if err := swept.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if checked != len(suite)*len(spans)*len(stats.Breakdowns) {
		t.Fatalf("checked %d combinations", checked)
	}
}

func joinRows(rows [][]string) string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, "|")
	}
	return strings.Join(out, "\n")
}

// Persons in participants are counted with a bit per year of the span: a
// longer span than 120 years is refused, not miscounted.
func TestParticipantsSpanLimit(t *testing.T) {
	d := lakeDB(t)
	q, err := stats.Lookup("participants")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := stats.Run(context.Background(), d.db, q, stats.Span{FromYear: 1900, ToYear: 2030}); err == nil || !strings.Contains(err.Error(), "at most 120 years") {
		t.Fatalf("a 131-year span: err = %v", err)
	}
	if _, rows, err := stats.Run(context.Background(), d.db, q, stats.Span{FromYear: 1906, ToYear: 2025}); err != nil || len(rows) == 0 {
		t.Fatalf("a 120-year span: %d rows, err = %v", len(rows), err)
	}
}

// wideLake writes a lake whose municipality breakdown has n categories: for
// each municipality i a person ends a participation there in 2024 and starts
// one in municipality i+1 ten days later.
func wideLake(t *testing.T, n int) string {
	t.Helper()
	const runID = "wide-test"
	p := lake.Partition{Source: "af_program", StartYear: 2024}
	parts := map[lake.Partition][]lake.Row{}
	munis := make([]string, n)
	for i := range munis {
		munis[i] = fmt.Sprintf("%04d", i)
	}
	for i := range munis {
		var person [16]byte
		binary.BigEndian.PutUint64(person[:], uint64(i)+1)
		start := lake.Date(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
		end := start + 20
		for j, r := range []lake.Row{
			{Measure: "PRAKTIK", PeriodStart: start, PeriodEnd: &end, Municipality: &munis[i]},
			{Measure: "SFI", PeriodStart: end + 10, Municipality: &munis[(i+1)%n]},
		} {
			r.Pseudonym, r.KeyID, r.IDKind, r.RunID = &person, "gk1-00000000test0000", lake.IDPersonnummer, runID
			r.RecordKey[0], r.RecordKey[1], r.RecordKey[2] = byte(i>>8), byte(i), byte(j+1)
			parts[p] = append(parts[p], r)
		}
	}
	return writeLake(t, runID, parts)
}

// Transitions keeps the started categories as a bit per category of a
// 128-bit unsigned integer: up to 128 categories it counts as the plain definition
// does; beyond, it refuses with an error that says why, and the other
// statistics that share its input still count, by SQL and by the sweep.
func TestTransitionsCategoryLimit(t *testing.T) {
	ctx := context.Background()
	sp := stats.Span{FromYear: 2024, ToYear: 2024, By: "municipality", AsOf: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, n := range []int{128, 129} {
		db, err := duck.Open(ctx, duck.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dir := wideLake(t, n)
		if err := duck.LakeView(ctx, db, dir); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"transitions", "reentry"} {
			q, err := stats.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := os.ReadFile(filepath.Join("testdata", "reference", name+".sql"))
			if err != nil {
				t.Fatal(err)
			}
			_, want, err := stats.Run(ctx, db, stats.Query{Name: name, SQL: string(ref)}, sp)
			if err != nil {
				t.Fatalf("reference %s: %v", name, err)
			}
			if len(want) != n {
				t.Fatalf("reference %s with %d categories: %d rows", name, n, len(want))
			}
			// alone, and prepared with the sweep (its next_slots NULL past 128)
			swept, err := stats.Prepare(ctx, db, dir, sp, []stats.Query{q})
			if err != nil {
				t.Fatal(err)
			}
			for _, run := range []func() ([]string, [][]string, error){
				func() ([]string, [][]string, error) { return stats.Run(ctx, db, q, sp) },
				func() ([]string, [][]string, error) { return swept.Run(ctx, q) },
			} {
				_, got, err := run()
				if name == "transitions" && n > 128 {
					if err == nil || !strings.Contains(err.Error(), "more than 128 categories") {
						t.Fatalf("transitions with %d categories: %d rows, err = %v", n, len(got), err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s with %d categories: %v", name, n, err)
				}
				if g, w := joinRows(got), joinRows(want); g != w {
					t.Errorf("%s with %d categories:\n got\n  %s\n want\n  %s", name, n, g, w)
				}
			}
			if swept.SweepTook == 0 {
				t.Error("the preparation with the lake's directory swept nothing")
			}
			swept.Close()
		}
	}
}

// A person's first two participations start on the same day in the same
// measure and source and differ only in sex (one keeps no sex at all): the
// person is a new entrant, and a cohort member, under the first category
// in order, a NULL last, whether counted alone, prepared in SQL or swept.
func TestFirstTieGoesToTheFirstCategory(t *testing.T) {
	const runID = "tie-test"
	p := lake.Partition{Source: "amea", StartYear: 2024}
	start := lake.Date(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	k, m := "K", "M"
	var rows []lake.Row
	for i, sexes := range [][]*string{{&m, &k}, {nil, &m}, {&k, nil, &m}} {
		person := [16]byte{byte(i + 1), 9}
		for j, sex := range sexes {
			r := lake.Row{Pseudonym: &person, KeyID: "gk1-00000000test0000", IDKind: lake.IDPersonnummer,
				Measure: "PRAKTIK", PeriodStart: start, Sex: sex, RunID: runID}
			r.RecordKey[0], r.RecordKey[1] = byte(i+1), byte(j+1)
			rows = append(rows, r)
		}
	}
	dir := writeLake(t, runID, map[lake.Partition][]lake.Row{p: rows})
	ctx := context.Background()
	db := viewDB(t, dir)
	sp := stats.Span{FromYear: 2024, ToYear: 2024, By: "sex", AsOf: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	want := map[string]string{
		"new_entrants": "2024|K|2|pseudonymised\n2024|M|1|pseudonymised",
		"cohorts":      "2024|K|2|2||\n2024|M|1|1||", // ongoing: active a year on; the second anniversary is after the as-of date
	}
	qs := map[string]stats.Query{}
	for name := range want {
		q, err := stats.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		qs[name] = q
	}
	for _, lakeDir := range []string{"", dir} {
		prep, err := stats.Prepare(ctx, db, lakeDir, sp, []stats.Query{qs["new_entrants"], qs["cohorts"]})
		if err != nil {
			t.Fatal(err)
		}
		if (lakeDir != "") != (prep.SweepTook > 0) {
			t.Fatalf("prepared with lake %q: swept for %v", lakeDir, prep.SweepTook)
		}
		for name, w := range want {
			q := qs[name]
			_, alone, err := stats.Run(ctx, db, q, sp)
			if err != nil {
				t.Fatal(err)
			}
			_, prepared, err := prep.Run(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if g := joinRows(alone); g != w {
				t.Errorf("%s alone:\n%s\nwant\n%s", name, g, w)
			}
			if g := joinRows(prepared); g != w {
				t.Errorf("%s prepared (lake %q):\n%s\nwant\n%s", name, lakeDir, g, w)
			}
		}
		prep.Close()
	}
}

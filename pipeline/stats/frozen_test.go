package stats_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/aggregates"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/stats"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// writeFrozen writes one Parquet file per year of cells into dir, as
// retention keeps them.
func writeFrozen(t *testing.T, dir string, cells []aggregates.Cell) {
	t.Helper()
	byYear := map[int][]aggregates.Cell{}
	for _, c := range cells {
		byYear[c.Year] = append(byYear[c.Year], c)
	}
	for y, cs := range byYear {
		f, err := os.Create(filepath.Join(dir, "aggregates-"+strconv.Itoa(y)+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := aggregates.Write(f, cs, "20260101T020000.000Z-abcdef", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// aggregatesView makes the view "aggregates" over the frozen files in dir,
// as the lake's views do.
func aggregatesView(t *testing.T, d *duckDB, dir string) {
	t.Helper()
	if _, err := d.db.ExecContext(context.Background(), "CREATE OR REPLACE VIEW aggregates AS SELECT * FROM read_parquet("+
		duck.Literal(filepath.ToSlash(dir)+"/*.parquet")+")"); err != nil {
		t.Fatal(err)
	}
}

// TestFrozenYears: with 2022 and 2024 frozen (hand-made values, unlike what
// the lake holds, so a frozen figure cannot be mistaken for a live one),
// participants, new_entrants and reentry give the frozen persons for those
// years, basis 'frozen', and count 2023 and 2025 from the lake.
func TestFrozenYears(t *testing.T) {
	d := lakeDB(t)
	dir := t.TempDir()
	const T = "TOTAL"
	c := func(year int, stat, source, measure string, v int64) aggregates.Cell {
		return aggregates.Cell{Year: year, Statistic: stat, Source: source, Measure: measure, Value: v, CellKey: 1}
	}
	writeFrozen(t, dir, []aggregates.Cell{
		c(2022, aggregates.Participants, T, "PRAKTIK", 99),
		c(2022, aggregates.Participants, T, T, 99),
		c(2024, aggregates.Participants, "amea", "PRAKTIK", 15),
		c(2024, aggregates.Participants, "amea", T, 20),
		c(2024, aggregates.Participants, "aksel", T, 3),
		c(2024, aggregates.Participants, T, "ARBETSTRANING", 5),
		c(2024, aggregates.Participants, T, "KARTLAGGNING", 0), // erased to zero
		c(2024, aggregates.Participants, T, "PRAKTIK", 17),
		c(2024, aggregates.Participants, T, T, 21),
		c(2024, aggregates.NewEntrants, "amea", "PRAKTIK", 9),
		c(2024, aggregates.NewEntrants, "amea", T, 9),
		c(2024, aggregates.NewEntrants, T, "PRAKTIK", 9),
		c(2024, aggregates.NewEntrants, T, T, 9),
		c(2024, aggregates.Ended, "amea", T, 8),
		c(2024, aggregates.Ended, T, "ARBETSTRANING", 6),
		c(2024, aggregates.Ended, T, "PRAKTIK", 2),
		c(2024, aggregates.Ended, T, T, 8),
		c(2024, aggregates.Reentries, "amea", T, 4),
		c(2024, aggregates.Reentries, T, "ARBETSTRANING", 4),
		c(2024, aggregates.Reentries, T, T, 4),
	})
	aggregatesView(t, d, dir)
	// Two rows of 2024 in the anonymised tier (retention anonymised them
	// when it froze 2024), their dates coarsened.
	if _, err := d.db.ExecContext(context.Background(), `CREATE OR REPLACE VIEW anonymised AS
		SELECT * FROM (VALUES
		  ('PRAKTIK', DATE '2024-01-01', DATE '2024-01-01', 'year', NULL, NULL, NULL, 7::UBIGINT, 'r', 'amea', 2024),
		  ('ARBETSTRANING', DATE '2024-04-01', DATE '2024-07-01', 'quarter', 'K', NULL, NULL, 8::UBIGINT, 'r', 'amea', 2024))
		t(measure, period_start, period_end, granularity, sex, age_band, municipality, cell_key, anonymised_by_run, source, start_year)`); err != nil {
		t.Fatal(err)
	}

	// Participations are the lake's rows, both tiers: in 2024, Arbetsträning
	// 2 (P1, P2) and one anonymised, Kartläggning 2 (P4 twice), Praktik 3
	// (P2, P3, U) and one anonymised. Kartläggning's frozen persons went to
	// zero: the row stays, from the lake's participations, with no persons.
	expect(t, "participants", d.run("participants", span), []string{
		"2023|ARBETSTRANING|1|1|pseudonymised",
		"2023|PRAKTIK|2|2|pseudonymised",
		"2024|ARBETSTRANING|5|3|frozen",
		"2024|KARTLAGGNING|0|2|frozen",
		"2024|PRAKTIK|17|4|frozen",
		"2025|PRAKTIK|3|3|pseudonymised",
	})
	// 2022 is frozen but has no rows left in the lake: persons, no
	// participations.
	wide := span
	wide.FromYear = 2022
	got := d.run("participants", wide)
	if len(got) == 0 || got[0] != "2022|PRAKTIK|99|0|frozen" {
		t.Errorf("participants from 2022: %v", got)
	}
	bySource := span
	bySource.By = "source"
	expect(t, "participants by source", d.run("participants", bySource), []string{
		"2023|amea|2|3|pseudonymised",
		"2024|aksel|3|0|frozen",
		"2024|amea|20|9|frozen",
		"2025|amea|3|3|pseudonymised",
	})
	// Not frozen by sex: a frozen year's total, category TOTAL, with the
	// year's 9 participations; the other years as before (sex not kept).
	bySex := span
	bySex.By = "sex"
	expect(t, "participants by sex", d.run("participants", bySex), []string{
		"2023||2|3|pseudonymised",
		"2024|TOTAL|21|9|frozen",
		"2025||3|3|pseudonymised",
	})

	// 2024's live new entrants (P2, P4) are replaced by the frozen 9.
	expect(t, "new_entrants", d.run("new_entrants", span), []string{
		"2023|PRAKTIK|2|pseudonymised",
		"2024|PRAKTIK|9|frozen",
	})
	expect(t, "new_entrants by source", d.run("new_entrants", bySource), []string{
		"2023|amea|2|pseudonymised",
		"2024|amea|9|frozen",
	})
	// Not frozen by sex: the frozen year's total, category TOTAL.
	expect(t, "new_entrants by sex", d.run("new_entrants", bySex), []string{
		"2023||2|pseudonymised",
		"2024|TOTAL|9|frozen",
	})

	// Praktik has ended persons but no reentries cell: none re-entered.
	expect(t, "reentry", d.run("reentry", span), []string{
		"2023|PRAKTIK|1|1|pseudonymised",
		"2024|ARBETSTRANING|6|4|frozen",
		"2024|PRAKTIK|2|0|frozen",
		"2025|PRAKTIK|1|0|pseudonymised",
	})
	expect(t, "reentry by source", d.run("reentry", bySource), []string{
		"2023|amea|1|1|pseudonymised",
		"2024|amea|8|4|frozen",
		"2025|amea|1|0|pseudonymised",
	})
	expect(t, "reentry by sex", d.run("reentry", bySex), []string{
		"2023||1|1|pseudonymised",
		"2024|TOTAL|8|4|frozen",
		"2025||1|0|pseudonymised",
	})

	// The rest of the suite runs with the view in place, unchanged.
	all, err := stats.Suite()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range all {
		if _, _, err := stats.Run(context.Background(), d.db, q, span); err != nil {
			t.Errorf("%s: %v", q.Name, err)
		}
	}
}

// TestFrozenEqualsLive: freezing every year from the lake as it is (what
// retention does before the pseudonyms go) changes no figure, only the
// basis: the frozen definitions are the suite's.
func TestFrozenEqualsLive(t *testing.T) {
	t.Run("HandChecked", func(t *testing.T) { frozenEqualsLive(t, testlake.Build(t, testlake.HandChecked, "")) })
	t.Run("TwoSources", func(t *testing.T) { frozenEqualsLive(t, testlake.BuildSources(t, testlake.TwoSources()...)) })
	t.Run("Dense", func(t *testing.T) {
		// The reference test's lake: many rows per person, overlapping,
		// on the same day, across years.
		l := &testlake.Lake{Dir: denseLake(t)}
		var err error
		if l.Key, err = pseudonym.NewKey(bytes.Repeat([]byte{7}, 32)); err != nil {
			t.Fatal(err)
		}
		if l.DB, err = duck.Open(context.Background(), duck.Options{Threads: 2}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.DB.Close() })
		if err := duck.LakeView(context.Background(), l.DB, l.Dir); err != nil {
			t.Fatal(err)
		}
		frozenEqualsLive(t, l)
	})
}

func frozenEqualsLive(t *testing.T, l *testlake.Lake) {
	d := &duckDB{t: t, db: l.DB}
	wide := span
	wide.FromYear, wide.ToYear = 2022, 2026
	type run struct {
		name string
		by   string
	}
	runs := []run{{"participants", "measure"}, {"participants", "source"}, {"new_entrants", ""}, {"new_entrants", "source"}, {"reentry", "measure"}, {"reentry", "source"}}
	live := map[run][]string{}
	for _, r := range runs {
		s := wide
		s.By = r.by
		live[r] = d.run(r.name, s)
		if len(live[r]) == 0 {
			t.Fatalf("%v: no rows", r)
		}
	}
	dir := t.TempDir()
	var cells []aggregates.Cell
	for y := wide.FromYear; y <= wide.ToYear; y++ {
		cs, err := aggregates.Compute(context.Background(), l.DB, l.Key, "lake", y)
		if err != nil {
			t.Fatal(err)
		}
		cells = append(cells, cs...)
	}
	writeFrozen(t, dir, cells)
	aggregatesView(t, d, dir)
	for _, r := range runs {
		s := wide
		s.By = r.by
		frozen := d.run(r.name, s)
		want := slices.Clone(live[r])
		for i := range want {
			want[i] = strings.TrimSuffix(want[i], "|pseudonymised") + "|frozen"
		}
		expect(t, r.name+" by "+r.by+" frozen", frozen, want)
	}
}

// TestEmptyAggregatesView: a lake without frozen files has an empty view
// "aggregates" (as the lake's views make it): every year is counted live.
func TestEmptyAggregatesView(t *testing.T) {
	d := lakeDB(t)
	if _, err := d.db.ExecContext(context.Background(), `CREATE OR REPLACE VIEW aggregates AS
		SELECT CAST(NULL AS INTEGER) AS year, CAST(NULL AS VARCHAR) AS source, CAST(NULL AS VARCHAR) AS measure,
		       CAST(NULL AS VARCHAR) AS statistic, CAST(NULL AS BIGINT) AS value, CAST(NULL AS UBIGINT) AS cell_key,
		       CAST(NULL AS VARCHAR) AS frozen_by_run, CAST(NULL AS DATE) AS frozen_on
		WHERE false`); err != nil {
		t.Fatal(err)
	}
	expect(t, "new_entrants", d.run("new_entrants", span), []string{
		"2023|PRAKTIK|2|pseudonymised",
		"2024|ARBETSTRANING|1|pseudonymised",
		"2024|KARTLAGGNING|1|pseudonymised",
	})
	expect(t, "reentry", d.run("reentry", span), []string{
		"2023|PRAKTIK|1|1|pseudonymised",
		"2024|ARBETSTRANING|2|2|pseudonymised",
		"2024|KARTLAGGNING|1|1|pseudonymised",
		"2025|PRAKTIK|1|0|pseudonymised",
	})
	got := d.run("participants", span)
	if len(got) != 6 || got[2] != "2024|ARBETSTRANING|2|2|pseudonymised" {
		t.Errorf("participants: %v", got)
	}
}

package aggregates_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/aggregates"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/transforms/disclosure"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// persons finds the pseudonyms of testlake.HandChecked's four persons by the
// first day of one of their participations, and their record keys computed
// here from the key (not through the package under test).
type persons struct {
	pseudonym map[string]string         // "P1" -> pseudonym::VARCHAR
	key       map[string]disclosure.Key // "P1" -> record key
}

func handPersons(t *testing.T, l *testlake.Lake) persons {
	t.Helper()
	rk, err := pseudonym.NewPseudonymizer(l.Key, tables.CellKeyDomain)
	if err != nil {
		t.Fatal(err)
	}
	ps := persons{map[string]string{}, map[string]disclosure.Key{}}
	for name, start := range map[string]string{"P1": "2023-03-01", "P2": "2024-01-01", "P3": "2023-11-01", "P4": "2024-02-15"} {
		_, rows, err := duck.Query(context.Background(), l.DB,
			"SELECT DISTINCT pseudonym::VARCHAR FROM lake WHERE period_start = DATE '"+start+"'")
		if err != nil || len(rows) != 1 || rows[0][0] == "" {
			t.Fatalf("%s: %v %v", name, rows, err)
		}
		ps.pseudonym[name] = rows[0][0]
		ps.key[name] = disclosure.RecordKey([16]byte(rk.Pseudonym("pseudonym", rows[0][0])))
	}
	return ps
}

// sum is the cell key of a set of persons.
func (ps persons) sum(names ...string) disclosure.Key {
	var k disclosure.Key
	for _, n := range names {
		k = k.Add(ps.key[n])
	}
	return k
}

// want is a cell expected by hand: statistic, source, measure and the
// persons in it.
type want struct {
	stat, source, measure string
	who                   []string
}

const T = tables.Total

// check compares cells with the expected ones: the same set of cells, each
// with the number of its persons and the sum of their record keys.
func check(t *testing.T, year int, ps persons, got []aggregates.Cell, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		var lines []string
		for _, c := range got {
			lines = append(lines, fmt.Sprintf("%s %s×%s=%d", c.Statistic, c.Source, c.Measure, c.Value))
		}
		t.Errorf("%d: %d cells, want %d:\n  %s", year, len(got), len(wants), strings.Join(lines, "\n  "))
	}
	index := map[[3]string]aggregates.Cell{}
	for _, c := range got {
		if c.Year != year {
			t.Errorf("cell %+v: year %d, want %d", c, c.Year, year)
		}
		index[[3]string{c.Statistic, c.Source, c.Measure}] = c
	}
	for _, w := range wants {
		c, ok := index[[3]string{w.stat, w.source, w.measure}]
		switch {
		case !ok:
			t.Errorf("%d %s %s×%s: missing", year, w.stat, w.source, w.measure)
		case c.Value != int64(len(w.who)):
			t.Errorf("%d %s %s×%s = %d, want %d (%v)", year, w.stat, w.source, w.measure, c.Value, len(w.who), w.who)
		case c.CellKey != ps.sum(w.who...):
			t.Errorf("%d %s %s×%s: cell key %x, want the sum of %v's keys %x", year, w.stat, w.source, w.measure, c.CellKey, w.who, ps.sum(w.who...))
		}
	}
	if !slices.IsSortedFunc(got, func(a, b aggregates.Cell) int {
		return strings.Compare(a.Statistic+"\x00"+a.Source+"\x00"+a.Measure, b.Statistic+"\x00"+b.Source+"\x00"+b.Measure)
	}) {
		t.Errorf("%d: cells not sorted by statistic, source, measure", year)
	}
}

// cells lists a statistic's expected cells on a one-source lake ("amea"):
// each measure's persons under amea and under TOTAL, and total's persons in
// the two total cells.
func cells(stat string, byMeasure map[string][]string, total []string) []want {
	var out []want
	for m, who := range byMeasure {
		out = append(out, want{stat, "amea", m, who}, want{stat, T, m, who})
	}
	return append(out, want{stat, "amea", T, total}, want{stat, T, T, total})
}

// TestComputeOnHandCheckedLake: every statistic of 2023, 2024 and 2025,
// worked out by hand from testlake.HandChecked (see its comment):
//
//	P1  Praktik 2023-03-01–2023-06-30, Arbetsträning 2023-07-15–2024-02-29, Praktik 2025-01-10–
//	P2  Arbetsträning 2024-01-01 (one day), Praktik 2024-12-31–2025-03-31
//	P3  Praktik 2023-11-01–
//	P4  Kartläggning 2024-02-15–2024-03-14 and 2024-06-01–2024-06-30
//	U   Praktik 2024-05 (unlinked: no person, counts nowhere)
func TestComputeOnHandCheckedLake(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	ps := handPersons(t, l)
	ctx := context.Background()
	const A, K, P = "ARBETSTRANING", "KARTLAGGNING", "PRAKTIK"

	expect := map[int][]want{}
	// 2023. Active: P1 in Praktik and Arbetsträning (once in the totals), P3.
	// First starts: P1 and P3, both Praktik. Ended: P1's Praktik (30 Jun),
	// followed by Arbetsträning 15 days later: a re-entry.
	expect[2023] = slices.Concat(
		cells(aggregates.Participants, map[string][]string{P: {"P1", "P3"}, A: {"P1"}}, []string{"P1", "P3"}),
		cells(aggregates.NewEntrants, map[string][]string{P: {"P1", "P3"}}, []string{"P1", "P3"}),
		cells(aggregates.Ended, map[string][]string{P: {"P1"}}, []string{"P1"}),
		cells(aggregates.Reentries, map[string][]string{P: {"P1"}}, []string{"P1"}),
	)
	// 2024. Active: P1 (Arbetsträning to 29 Feb), P2 (Arbetsträning 1 Jan,
	// Praktik from 31 Dec), P3 (Praktik), P4 (Kartläggning twice: once), not
	// U. First starts: P2 (Arbetsträning), P4 (Kartläggning). Ended: P1 and
	// P2 in Arbetsträning, P4 in Kartläggning (P2's Praktik ends in 2025).
	// Re-entries: P1 (29 Feb 2024 → 10 Jan 2025, 316 days), P2 (1 Jan →
	// 31 Dec 2024: 365 days in a leap year, the last day that counts), P4
	// (14 Mar → 1 Jun).
	expect[2024] = slices.Concat(
		cells(aggregates.Participants, map[string][]string{A: {"P1", "P2"}, K: {"P4"}, P: {"P2", "P3"}}, []string{"P1", "P2", "P3", "P4"}),
		cells(aggregates.NewEntrants, map[string][]string{A: {"P2"}, K: {"P4"}}, []string{"P2", "P4"}),
		cells(aggregates.Ended, map[string][]string{A: {"P1", "P2"}, K: {"P4"}}, []string{"P1", "P2", "P4"}),
		cells(aggregates.Reentries, map[string][]string{A: {"P1", "P2"}, K: {"P4"}}, []string{"P1", "P2", "P4"}),
	)
	// 2025. Active: P1, P2, P3, all Praktik. Nobody new: the TOTAL × TOTAL
	// cell alone, zero. Ended: P2's Praktik, with no later start.
	expect[2025] = slices.Concat(
		cells(aggregates.Participants, map[string][]string{P: {"P1", "P2", "P3"}}, []string{"P1", "P2", "P3"}),
		[]want{{aggregates.NewEntrants, T, T, nil}},
		cells(aggregates.Ended, map[string][]string{P: {"P2"}}, []string{"P2"}),
		[]want{{aggregates.Reentries, T, T, nil}},
	)
	for _, year := range []int{2023, 2024, 2025} {
		got, err := aggregates.Compute(ctx, l.DB, l.Key, "lake", year)
		if err != nil {
			t.Fatal(err)
		}
		check(t, year, ps, got, expect[year])

		// The participants cells agree with tables.Participants, keys too:
		// the grand total of a one-year table, and source × measure cells.
		tb, keys, err := tables.Participants(ctx, l.DB, l.Key, tables.Spec{FromYear: year, ToYear: year})
		if err != nil {
			t.Fatal(err)
		}
		total := find(got, aggregates.Participants, T, T)
		if v, _, _ := tb.Cell(fmt.Sprint(year)); int64(v) != total.Value || keys[tb.Offset(0)] != total.CellKey {
			t.Errorf("%d: participants TOTAL×TOTAL %d/%x, tables.Participants %v/%x", year, total.Value, total.CellKey, v, keys[tb.Offset(0)])
		}
		tb, keys, err = tables.Participants(ctx, l.DB, l.Key, tables.Spec{By: []string{"source", "measure"}, FromYear: year, ToYear: year})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got {
			if c.Statistic != aggregates.Participants {
				continue
			}
			v, _, err := tb.Cell(c.Source, c.Measure, fmt.Sprint(year))
			pos := []int{tb.Dims[0].Index(c.Source), tb.Dims[1].Index(c.Measure), 0}
			if err != nil || int64(v) != c.Value || keys[tb.Offset(pos...)] != c.CellKey {
				t.Errorf("%d participants %s×%s = %d/%x, tables.Participants %v/%x (%v)", year, c.Source, c.Measure, c.Value, c.CellKey, v, keys[tb.Offset(pos...)], err)
			}
		}
	}

	// Another key gives other cell keys, the same values.
	other, err := keyfile.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := aggregates.Compute(ctx, l.DB, l.Key, "lake", 2024)
	b, err := aggregates.Compute(ctx, l.DB, other, "lake", 2024)
	if err != nil || find(a, aggregates.Participants, T, T).CellKey == find(b, aggregates.Participants, T, T).CellKey ||
		find(a, aggregates.Participants, T, T).Value != find(b, aggregates.Participants, T, T).Value {
		t.Errorf("another key: %v", err)
	}

	if _, err := aggregates.Compute(ctx, l.DB, l.Key, "lake", 0); err == nil {
		t.Error("year 0 accepted")
	}
	if _, err := aggregates.Compute(ctx, l.DB, l.Key, "no_such_view", 2024); err == nil {
		t.Error("a view that does not exist gave no error")
	}
	if _, err := aggregates.Compute(ctx, l.DB, l.Key, `lake"; DROP VIEW lake; --`, 2024); err == nil {
		t.Error("a view name with a quote was not taken as one name")
	}
	if _, err := aggregates.Compute(ctx, l.DB, l.Key, "lake", 2024); err != nil {
		t.Errorf("the lake view after a hostile view name: %v", err)
	}
}

// TestComputeAcrossSources: a view with a second source, where P3's
// Praktik is also reported by "aksel" from the same first day, and P4 is
// in aksel's Praktik in 2024 too. Each person counts once in every total
// and once per source; P3's first start ties across sources and goes to
// the alphabetically first source (aksel), like the first measure on a tie.
func TestComputeAcrossSources(t *testing.T) {
	l := testlake.Build(t, append(slices.Clone(testlake.HandChecked),
		// P5 starts two measures on one first day: the first in
		// alphabetical order (Arbetsträning) is their first measure.
		[4]string{"19880103-2387", "Praktik", "2024-04-01", "2024-04-30"},
		[4]string{"880103-2387", "Arbetsträning", "2024-04-01", "2024-05-31"},
	), "")
	ps := handPersons(t, l)
	ctx := context.Background()
	_, rows, err := duck.Query(ctx, l.DB, "SELECT DISTINCT pseudonym::VARCHAR FROM lake WHERE period_start = DATE '2024-04-01'")
	if err != nil || len(rows) != 1 {
		t.Fatalf("P5: %v %v", rows, err)
	}
	rk, _ := pseudonym.NewPseudonymizer(l.Key, tables.CellKeyDomain)
	ps.key["P5"] = disclosure.RecordKey([16]byte(rk.Pseudonym("pseudonym", rows[0][0])))

	if _, err := l.DB.ExecContext(ctx, `CREATE VIEW two AS
		SELECT * FROM lake
		UNION ALL
		SELECT * REPLACE ('aksel' AS source) FROM lake
		WHERE pseudonym = '`+ps.pseudonym["P3"]+`'::UUID
		   OR (pseudonym = '`+ps.pseudonym["P4"]+`'::UUID AND period_start = DATE '2024-06-01')`); err != nil {
		t.Fatal(err)
	}
	// Make P4's aksel row Praktik, not Kartläggning, by a second view.
	if _, err := l.DB.ExecContext(ctx, `CREATE VIEW multi AS
		SELECT * REPLACE (CASE WHEN source = 'aksel' AND measure = 'KARTLAGGNING' THEN 'PRAKTIK' ELSE measure END AS measure)
		FROM two`); err != nil {
		t.Fatal(err)
	}
	got, err := aggregates.Compute(ctx, l.DB, l.Key, "multi", 2024)
	if err != nil {
		t.Fatal(err)
	}
	const A, K, P = "ARBETSTRANING", "KARTLAGGNING", "PRAKTIK"
	// 2024 participants: amea as in the hand-checked lake plus P5 (A and P);
	// aksel: P3 and P4 in Praktik. Praktik over all sources: P2, P3, P4, P5.
	// New entrants: P2 (amea A), P4 (amea K: their aksel row is later),
	// P5 (amea, A on the tie). P3's first start is 2023: not new in 2024.
	// Ended in 2024: P1, P2 (amea A), P4 (amea K, aksel P), P5 (amea A and
	// P). Re-entered: P1, P2, P4 (amea K, 14 Mar → 1 Jun; the aksel row of
	// 30 Jun has no later start), P5 none.
	wants := []want{
		{aggregates.Participants, "aksel", P, []string{"P3", "P4"}},
		{aggregates.Participants, "aksel", T, []string{"P3", "P4"}},
		{aggregates.Participants, "amea", A, []string{"P1", "P2", "P5"}},
		{aggregates.Participants, "amea", K, []string{"P4"}},
		{aggregates.Participants, "amea", P, []string{"P2", "P3", "P5"}},
		{aggregates.Participants, "amea", T, []string{"P1", "P2", "P3", "P4", "P5"}},
		{aggregates.Participants, T, A, []string{"P1", "P2", "P5"}},
		{aggregates.Participants, T, K, []string{"P4"}},
		{aggregates.Participants, T, P, []string{"P2", "P3", "P4", "P5"}},
		{aggregates.Participants, T, T, []string{"P1", "P2", "P3", "P4", "P5"}},

		{aggregates.NewEntrants, "amea", A, []string{"P2", "P5"}},
		{aggregates.NewEntrants, "amea", K, []string{"P4"}},
		{aggregates.NewEntrants, "amea", T, []string{"P2", "P4", "P5"}},
		{aggregates.NewEntrants, T, A, []string{"P2", "P5"}},
		{aggregates.NewEntrants, T, K, []string{"P4"}},
		{aggregates.NewEntrants, T, T, []string{"P2", "P4", "P5"}},

		{aggregates.Ended, "aksel", P, []string{"P4"}},
		{aggregates.Ended, "aksel", T, []string{"P4"}},
		{aggregates.Ended, "amea", A, []string{"P1", "P2", "P5"}},
		{aggregates.Ended, "amea", K, []string{"P4"}},
		{aggregates.Ended, "amea", P, []string{"P5"}},
		{aggregates.Ended, "amea", T, []string{"P1", "P2", "P4", "P5"}},
		{aggregates.Ended, T, A, []string{"P1", "P2", "P5"}},
		{aggregates.Ended, T, K, []string{"P4"}},
		{aggregates.Ended, T, P, []string{"P4", "P5"}},
		{aggregates.Ended, T, T, []string{"P1", "P2", "P4", "P5"}},

		{aggregates.Reentries, "amea", A, []string{"P1", "P2"}},
		{aggregates.Reentries, "amea", K, []string{"P4"}},
		{aggregates.Reentries, "amea", T, []string{"P1", "P2", "P4"}},
		{aggregates.Reentries, T, A, []string{"P1", "P2"}},
		{aggregates.Reentries, T, K, []string{"P4"}},
		{aggregates.Reentries, T, T, []string{"P1", "P2", "P4"}},
	}
	check(t, 2024, ps, got, wants)

	// 2023: P3's first start ties between amea and aksel: aksel.
	got, err = aggregates.Compute(ctx, l.DB, l.Key, "multi", 2023)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []want{
		{aggregates.NewEntrants, "aksel", P, []string{"P3"}},
		{aggregates.NewEntrants, "amea", P, []string{"P1"}},
		{aggregates.NewEntrants, T, P, []string{"P1", "P3"}},
	} {
		if c := find(got, w.stat, w.source, w.measure); c.Value != int64(len(w.who)) || c.CellKey != ps.sum(w.who...) {
			t.Errorf("2023 %s %s×%s = %d, want %v", w.stat, w.source, w.measure, c.Value, w.who)
		}
	}
}

// TestSubtract: P2's contribution to 2024, computed over a view of P2's rows
// alone, taken from the frozen 2024 cells, leaves what the lake without P2
// gives — checked against values worked out by hand and against Compute
// over the lake without P2.
func TestSubtract(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	ps := handPersons(t, l)
	ctx := context.Background()
	frozen, err := aggregates.Compute(ctx, l.DB, l.Key, "lake", 2024)
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(frozen)
	for _, q := range []string{
		"CREATE VIEW only_p2 AS SELECT * FROM lake WHERE pseudonym = '" + ps.pseudonym["P2"] + "'::UUID",
		"CREATE VIEW without_p2 AS SELECT * FROM lake WHERE pseudonym IS DISTINCT FROM '" + ps.pseudonym["P2"] + "'::UUID",
	} {
		if _, err := l.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	contrib, err := aggregates.Compute(ctx, l.DB, l.Key, "only_p2", 2024)
	if err != nil {
		t.Fatal(err)
	}
	// A contribution to a cell the frozen year does not have is ignored.
	contrib = append(contrib, aggregates.Cell{Year: 2024, Source: "aksel", Measure: "PRAKTIK", Statistic: aggregates.Participants, Value: 1, CellKey: 7})
	// And one to another year's cell with the same name.
	contrib = append(contrib, aggregates.Cell{Year: 2023, Source: T, Measure: T, Statistic: aggregates.Participants, Value: 1, CellKey: 7})
	got := aggregates.Subtract(frozen, contrib)
	if !slices.Equal(frozen, before) {
		t.Error("Subtract changed its argument")
	}
	const A, K, P = "ARBETSTRANING", "KARTLAGGNING", "PRAKTIK"
	// Without P2, 2024: participants P1 (A), P3 (P), P4 (K); nobody new in
	// Arbetsträning (P2 was); ended and re-entered: P1 (A), P4 (K). Every
	// frozen cell stays, with zero where only P2 was.
	check(t, 2024, ps, got, slices.Concat(
		[]want{
			{aggregates.Participants, "amea", A, []string{"P1"}}, {aggregates.Participants, T, A, []string{"P1"}},
			{aggregates.Participants, "amea", K, []string{"P4"}}, {aggregates.Participants, T, K, []string{"P4"}},
			{aggregates.Participants, "amea", P, []string{"P3"}}, {aggregates.Participants, T, P, []string{"P3"}},
			{aggregates.Participants, "amea", T, []string{"P1", "P3", "P4"}}, {aggregates.Participants, T, T, []string{"P1", "P3", "P4"}},
		},
		cells(aggregates.NewEntrants, map[string][]string{A: nil, K: {"P4"}}, []string{"P4"}),
		cells(aggregates.Ended, map[string][]string{A: {"P1"}, K: {"P4"}}, []string{"P1", "P4"}),
		cells(aggregates.Reentries, map[string][]string{A: {"P1"}, K: {"P4"}}, []string{"P1", "P4"}),
	))
	without, err := aggregates.Compute(ctx, l.DB, l.Key, "without_p2", 2024)
	if err != nil {
		t.Fatal(err)
	}
	var nonzero []aggregates.Cell
	for _, c := range got {
		if c.Value != 0 || (c.Source == T && c.Measure == T) {
			nonzero = append(nonzero, c)
		}
	}
	if !slices.Equal(nonzero, without) {
		t.Errorf("frozen minus P2 differs from the lake without P2:\n got  %v\n want %v", nonzero, without)
	}
	if got := aggregates.Subtract(frozen, nil); !slices.Equal(got, frozen) {
		t.Error("subtracting nothing changed the cells")
	}
}

func find(cells []aggregates.Cell, stat, source, measure string) aggregates.Cell {
	for _, c := range cells {
		if c.Statistic == stat && c.Source == source && c.Measure == measure {
			return c
		}
	}
	return aggregates.Cell{}
}

// TestComputeYearsIsComputeYearByYear: freezing several years in one pass
// gives, for every year, what freezing it alone gives, also for years with
// nobody in them and in an order that is not sorted.
func TestComputeYearsIsComputeYearByYear(t *testing.T) {
	l := testlake.BuildSources(t, testlake.TwoSources()...)
	ctx := context.Background()
	years := []int{2025, 2019, 2023, 2024, 2026}
	all, err := aggregates.ComputeYears(ctx, l.DB, l.Key, "lake", years)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(years) {
		t.Fatalf("got %d years, want %d", len(all), len(years))
	}
	nonEmpty := 0
	for _, y := range years {
		one, err := aggregates.Compute(ctx, l.DB, l.Key, "lake", y)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(all[y], one) {
			t.Errorf("%d: all years at once\n%v\none year\n%v", y, all[y], one)
		}
		for _, c := range one {
			if c.Value > 0 {
				nonEmpty++
			}
		}
	}
	if nonEmpty == 0 {
		t.Fatal("no cell with a person: the test compares nothing")
	}
}

// TestNewEntrantTieGoesToTheMeasureFirst: a person starts two measures on
// their first day, in two sources whose order is the other way round
// (ARBETSTRANING in amea, PRAKTIK in aksel). They are new under the
// alphabetically first measure, then source, as the statistics suite
// counts them: amea × ARBETSTRANING, not aksel × PRAKTIK.
func TestNewEntrantTieGoesToTheMeasureFirst(t *testing.T) {
	l := testlake.Build(t, [][4]string{
		{"19880103-2387", "Praktik", "2024-04-01", "2024-04-30"},
		{"19880103-2387", "Arbetsträning", "2024-04-01", "2024-05-31"},
	}, "")
	ctx := context.Background()
	if _, err := l.DB.ExecContext(ctx, `CREATE VIEW tie AS
		SELECT * REPLACE (CASE WHEN measure = 'PRAKTIK' THEN 'aksel' ELSE source END AS source) FROM lake`); err != nil {
		t.Fatal(err)
	}
	got, err := aggregates.Compute(ctx, l.DB, l.Key, "tie", 2024)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		source, measure string
		value           int64
	}{
		{"amea", "ARBETSTRANING", 1}, {"amea", T, 1}, {T, "ARBETSTRANING", 1}, {T, T, 1},
		{"aksel", "PRAKTIK", 0}, {"aksel", T, 0}, {T, "PRAKTIK", 0},
	} {
		if c := find(got, aggregates.NewEntrants, w.source, w.measure); c.Value != w.value {
			t.Errorf("new entrants %s×%s = %d, want %d", w.source, w.measure, c.Value, w.value)
		}
	}
	// Both rows count where a first row does not matter.
	if c := find(got, aggregates.Participants, "aksel", "PRAKTIK"); c.Value != 1 {
		t.Errorf("participants aksel×PRAKTIK = %d, want 1", c.Value)
	}
}

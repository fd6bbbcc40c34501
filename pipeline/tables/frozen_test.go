package tables_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/aggregates"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/transforms/disclosure"
	"github.com/gallra/gallra/transforms/table"
)

// Frozen2023 is a frozen 2023 unlike anything testlake.TwoSources holds
// (its live 2023 has 5 persons, none in Språkpraktik), each cell with a
// cell key of its own, and a cell of another statistic that must not be
// taken for participants.
var Frozen2023 = []aggregates.Cell{
	fc("amea", "PRAKTIK", 40, 0x1111),
	fc("amea", "SPRAKPRAKTIK", 3, 0x2222),
	fc("amea", tables.Total, 42, 0x3333),
	fc("aksel", "PRAKTIK", 7, 0x4444),
	fc("aksel", tables.Total, 7, 0x5555),
	fc(tables.Total, "PRAKTIK", 46, 0x6666),
	fc(tables.Total, "SPRAKPRAKTIK", 3, 0x7777),
	fc(tables.Total, tables.Total, 48, 0x8888),
	{Year: 2023, Statistic: aggregates.NewEntrants, Source: tables.Total, Measure: tables.Total, Value: 999, CellKey: 0x9999},
}

func fc(source, measure string, v int64, key disclosure.Key) aggregates.Cell {
	return aggregates.Cell{Year: 2023, Statistic: aggregates.Participants, Source: source, Measure: measure, Value: v, CellKey: key}
}

// FreezeInto writes cells with aggregates.Write, one file per year, and
// replaces the session's view "aggregates" with one over those files, as
// the lake's views read frozen files.
func FreezeInto(t *testing.T, l *testlake.Lake, cells []aggregates.Cell) {
	t.Helper()
	dir := t.TempDir()
	byYear := map[int][]aggregates.Cell{}
	for _, c := range cells {
		byYear[c.Year] = append(byYear[c.Year], c)
	}
	for y, cs := range byYear {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("year-%d.parquet", y)))
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
	if _, err := l.DB.ExecContext(context.Background(), "CREATE OR REPLACE VIEW aggregates AS SELECT * FROM read_parquet("+
		duck.Literal(filepath.ToSlash(dir)+"/*.parquet")+")"); err != nil {
		t.Fatal(err)
	}
}

// TestFrozenEqualsLive: freezing years from the lake as it is (what
// retention does before the pseudonyms go) changes no cell and no cell key
// of a table by source, measure and year; only the total over the years,
// which cannot be counted over frozen years, goes.
func TestFrozenEqualsLive(t *testing.T) {
	l := testlake.BuildSources(t, testlake.TwoSources()...)
	ctx := context.Background()
	spec := tables.Spec{By: []string{"source", "measure", "year"}, FromYear: 2023, ToYear: 2025}
	tb, keys, err := tables.Participants(ctx, l.DB, l.Key, spec)
	if err != nil {
		t.Fatal(err)
	}
	live := cells(tb, keys)
	var frozen []aggregates.Cell
	for _, y := range []int{2023, 2024} {
		cs, err := aggregates.Compute(ctx, l.DB, l.Key, "lake", y)
		if err != nil {
			t.Fatal(err)
		}
		frozen = append(frozen, cs...)
	}
	FreezeInto(t, l, frozen)
	tb, keys, err = tables.Participants(ctx, l.DB, l.Key, spec)
	if err != nil {
		t.Fatal(err)
	}
	got := cells(tb, keys)
	n := 0
	for k, c := range live {
		if strings.HasSuffix(k, "|TOTAL") {
			if _, ok := got[k]; ok {
				t.Errorf("%s: a total over frozen years is published", k)
			}
			continue
		}
		n++
		if got[k] != c {
			t.Errorf("%s = %v frozen, %v live", k, got[k], c)
		}
	}
	if len(got) != n || n == 0 {
		t.Errorf("%d cells frozen, %d live (without the totals over years)", len(got), n)
	}
	if !strings.Contains(notes(tb), "för 2023–2024 är personerna frysta aggregat") || !strings.Contains(notes(tb), "Övriga år (2025)") {
		t.Errorf("notes: %q", tb.Notes)
	}
}

type cell struct {
	v   float64
	key disclosure.Key
}

// cells returns a table's cells by their category codes joined with "|".
func cells(tb *table.Table, keys []disclosure.Key) map[string]cell {
	out := map[string]cell{}
	for off := range tb.Values {
		var codes []string
		for d, p := range tb.Positions(off) {
			codes = append(codes, tb.Dims[d].Categories[p].Code)
		}
		out[strings.Join(codes, "|")] = cell{tb.Values[off], keys[off]}
	}
	return out
}

func notes(tb *table.Table) string { return strings.Join(tb.Notes, "\n") }

// TestFrozenYear: 2023 frozen, 2024 and 2025 live, on the two-source lake.
func TestFrozenYear(t *testing.T) {
	l := testlake.BuildSources(t, testlake.TwoSources()...)
	ctx := context.Background()
	build := func(by ...string) (*table.Table, []disclosure.Key, error) {
		return tables.Participants(ctx, l.DB, l.Key, tables.Spec{By: by, FromYear: 2023, ToYear: 2025})
	}
	// Before the freeze: the lake's own cells, to compare the live years with.
	before, beforeKeys, err := build("source", "measure", "year")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notes(before), "inget år i tabellen är fryst") {
		t.Errorf("no basis note with an empty aggregates view: %q", before.Notes)
	}
	live := cells(before, beforeKeys)
	FreezeInto(t, l, Frozen2023)

	// By measure and year. 2023 is the frozen cells, total over sources:
	// Arbetsträning, which the lake has in 2023 (P1), is not frozen: 0.
	// 2024 and 2025 by hand from the lake: 2024 Arbetsträning P1, P2;
	// Extratjänst P4; Jobbcoachning P5; Kartläggning P4; Praktik P2, P3, P5
	// (U is unlinked); all five. 2025 Praktik P1, P2, P3, P5.
	tb, keys, err := build("measure", "year")
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"ARBETSTRANING|2023": 0, "ARBETSTRANING|2024": 2, "ARBETSTRANING|2025": 0,
		"EXTRATJANST|2023": 0, "EXTRATJANST|2024": 1, "EXTRATJANST|2025": 0,
		"JOBBCOACHNING|2023": 0, "JOBBCOACHNING|2024": 1, "JOBBCOACHNING|2025": 0,
		"KARTLAGGNING|2023": 0, "KARTLAGGNING|2024": 1, "KARTLAGGNING|2025": 0,
		"PRAKTIK|2023": 46, "PRAKTIK|2024": 3, "PRAKTIK|2025": 4,
		"SPRAKPRAKTIK|2023": 3, "SPRAKPRAKTIK|2024": 0, "SPRAKPRAKTIK|2025": 0,
		"TOTAL|2023": 48, "TOTAL|2024": 5, "TOTAL|2025": 4,
	}
	got := cells(tb, keys)
	if len(got) != len(want) {
		t.Errorf("%d cells, want %d (no total over years)", len(got), len(want))
	}
	for k, v := range want {
		if got[k].v != v {
			t.Errorf("%s = %v, want %v", k, got[k].v, v)
		}
	}
	if got["PRAKTIK|2023"].key != 0x6666 || got["SPRAKPRAKTIK|2023"].key != 0x7777 || got["TOTAL|2023"].key != 0x8888 || got["ARBETSTRANING|2023"].key != 0 {
		t.Errorf("2023's cell keys are not the frozen ones: %x %x %x %x", got["PRAKTIK|2023"].key, got["SPRAKPRAKTIK|2023"].key, got["TOTAL|2023"].key, got["ARBETSTRANING|2023"].key)
	}
	if got["TOTAL|2024"].key != live["TOTAL|TOTAL|2024"].key || got["PRAKTIK|2025"].key != live["TOTAL|PRAKTIK|2025"].key {
		t.Error("a live year's cell keys changed when 2023 was frozen")
	}
	if y := tb.Dims[1]; y.Total != "" || len(y.Categories) != 3 {
		t.Errorf("year dimension %+v: want 2023–2025 and no total", y)
	}
	for _, s := range []string{"för 2023 är personerna frysta aggregat (frysta 2026-01-01)", "Övriga år (2024–2025)", "Summan över år redovisas inte"} {
		if !strings.Contains(notes(tb), s) {
			t.Errorf("notes lack %q: %q", s, tb.Notes)
		}
	}

	// By source, measure and year: the frozen source × measure cells, their
	// margins, and the live years as before the freeze.
	tb, keys, err = build("source", "measure", "year")
	if err != nil {
		t.Fatal(err)
	}
	got = cells(tb, keys)
	for k, c := range map[string]cell{
		"amea|PRAKTIK|2023": {40, 0x1111}, "amea|SPRAKPRAKTIK|2023": {3, 0x2222}, "amea|TOTAL|2023": {42, 0x3333},
		"aksel|PRAKTIK|2023": {7, 0x4444}, "aksel|SPRAKPRAKTIK|2023": {0, 0}, "aksel|TOTAL|2023": {7, 0x5555},
		"TOTAL|PRAKTIK|2023": {46, 0x6666}, "TOTAL|TOTAL|2023": {48, 0x8888}, "amea|ARBETSTRANING|2023": {0, 0},
	} {
		if got[k] != c {
			t.Errorf("%s = %v, want %v", k, got[k], c)
		}
	}
	for k, c := range live {
		if strings.HasSuffix(k, "|2024") || strings.HasSuffix(k, "|2025") {
			if got[k] != c {
				t.Errorf("live %s = %v, was %v before the freeze", k, got[k], c)
			}
		}
	}

	// By sex: the frozen aggregates have no sex, so 2023 is left out, and
	// the total over the years left is counted from the lake: 2024 K P1, P2,
	// P4; M P3, P5. 2025 K P1, P2; M P3, P5. 2024–2025: K 3, M 2, all 5.
	tb, keys, err = build("sex", "year")
	if err != nil {
		t.Fatal(err)
	}
	got = cells(tb, keys)
	want = map[string]float64{
		"K|2024": 3, "K|2025": 2, "K|TOTAL": 3,
		"M|2024": 2, "M|2025": 2, "M|TOTAL": 2,
		"TOTAL|2024": 5, "TOTAL|2025": 4, "TOTAL|TOTAL": 5,
	}
	if len(got) != len(want) {
		t.Errorf("by sex: %d cells, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k].v != v {
			t.Errorf("by sex %s = %v, want %v", k, got[k].v, v)
		}
	}
	if tb.RefPeriod != "2024–2025" || !strings.HasSuffix(tb.Title, "2024–2025") {
		t.Errorf("by sex: reference period %q, title %q", tb.RefPeriod, tb.Title)
	}
	if !strings.Contains(notes(tb), "2023 redovisas inte i tabellen") || !strings.Contains(notes(tb), "inte per kön") {
		t.Errorf("by sex: no note on the year left out: %q", tb.Notes)
	}

	// A span of frozen years only, by age band: nothing is left.
	_, _, err = tables.Participants(ctx, l.DB, l.Key, tables.Spec{By: []string{"age_band"}, FromYear: 2023, ToYear: 2023})
	if !errors.Is(err, tables.ErrAllFrozen) {
		t.Errorf("by age band in frozen 2023 only: %v, want ErrAllFrozen", err)
	}
}

// TestNoAggregatesView: a session made before frozen aggregates existed (no
// view "aggregates") counts every year from the lake, with a total over the
// years and no basis note.
func TestNoAggregatesView(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	if _, err := l.DB.ExecContext(context.Background(), "DROP VIEW aggregates"); err != nil {
		t.Fatal(err)
	}
	tb, _, err := tables.Participants(context.Background(), l.DB, l.Key, tables.Spec{By: []string{"measure", "year"}, FromYear: 2023, ToYear: 2025})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := tb.Cell("TOTAL", "TOTAL"); err != nil || v != 4 {
		t.Errorf("total over measures and years = %v (%v), want 4", v, err)
	}
	if strings.Contains(notes(tb), "Underlag") {
		t.Errorf("a basis note without frozen aggregates: %q", tb.Notes)
	}
}

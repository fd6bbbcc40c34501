package publication_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gallra/gallra/pipeline/aggregates"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/export/jsonstat"
	"github.com/gallra/gallra/pipeline/export/px"
	"github.com/gallra/gallra/pipeline/export/xlsx"
	"github.com/gallra/gallra/pipeline/publication"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/transforms/disclosure"
	"github.com/gallra/gallra/transforms/table"
)

// freeze writes a frozen 2023 with aggregates.Write and makes the session's
// view "aggregates" read it. Its Praktik cell (total over sources) holds 46
// persons with cell key praktik, its grand total 48 with key total; the
// two-source test lake has 3 persons in Praktik in 2023 and 5 in all.
func freeze(t *testing.T, l *testlake.Lake, praktik, total disclosure.Key) {
	t.Helper()
	c := func(source, measure string, v int64, k disclosure.Key) aggregates.Cell {
		return aggregates.Cell{Year: 2023, Statistic: aggregates.Participants, Source: source, Measure: measure, Value: v, CellKey: k}
	}
	cells := []aggregates.Cell{
		c("amea", "PRAKTIK", 46, praktik), c("amea", "SPRAKPRAKTIK", 3, 0x2222), c("amea", "TOTAL", 48, total),
		c("TOTAL", "PRAKTIK", 46, praktik), c("TOTAL", "SPRAKPRAKTIK", 3, 0x2222), c("TOTAL", "TOTAL", 48, total),
	}
	path := filepath.Join(t.TempDir(), "aggregates.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aggregates.Write(f, cells, "20260101T020000.000Z-abcdef", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DB.ExecContext(context.Background(), "CREATE OR REPLACE VIEW aggregates AS SELECT * FROM read_parquet("+duck.Literal(path)+")"); err != nil {
		t.Fatal(err)
	}
}

// keysWithNoise returns two cell keys under which the default perturbation
// table moves a count n by two different, non-zero noises.
func keysWithNoise(t *testing.T, pt *disclosure.PTable, n int) (a, b disclosure.Key) {
	t.Helper()
	var found []disclosure.Key
	var noises []int
	for i := uint64(1); i < 64 && len(found) < 2; i++ {
		k := disclosure.Key(i * (1 << 58)) // i/64 of the way through [0, 1)
		d := pt.Perturb(n, k) - n
		if d != 0 && (len(noises) == 0 || noises[0] != d) {
			found, noises = append(found, k), append(noises, d)
		}
	}
	if len(found) < 2 {
		t.Fatalf("no two keys with different noise for %d", n)
	}
	return found[0], found[1]
}

// exported reads the Praktik × 2023 and total × 2023 cells back from each
// file of an export, with a reader other than the writer: the PX parser,
// the JSON-stat checker, DuckDB for the CSV and excelize for the XLSX; and
// the notes from PX, JSON-stat and the CSV sidecar.
func exported(t *testing.T, dir, id string) (cells map[string][2]float64, notes map[string]string) {
	t.Helper()
	cells, notes = map[string][2]float64{}, map[string]string{}
	pick := func(format string, tb *table.Table) {
		p, _, err1 := tb.Cell("PRAKTIK", "2023")
		tot, _, err2 := tb.Cell("TOTAL", "2023")
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", format, err1, err2)
		}
		cells[format] = [2]float64{p, tot}
		notes[format] = strings.Join(tb.Notes, "\n")
	}
	b, err := os.ReadFile(filepath.Join(dir, id+".px"))
	if err != nil {
		t.Fatal(err)
	}
	tb, err := px.ReadPX(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("PX: %v", err)
	}
	pick("px", tb)
	if b, err = os.ReadFile(filepath.Join(dir, id+".json")); err != nil {
		t.Fatal(err)
	}
	if tb, err = jsonstat.CheckJSONStat(b); err != nil {
		t.Fatalf("JSON-stat: %v", err)
	}
	pick("json-stat", tb)

	ctx := context.Background()
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, rows, err := duck.Query(ctx, db, "SELECT measure, value FROM read_csv("+duck.Literal(filepath.Join(dir, id+".csv"))+
		", header = true, all_varchar = true) WHERE year = '2023' AND measure IN ('PRAKTIK', 'TOTAL') ORDER BY measure")
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %v %v", rows, err)
	}
	var csvCells [2]float64
	for i, r := range rows {
		if csvCells[i], err = strconv.ParseFloat(r[1], 64); err != nil {
			t.Fatalf("CSV value %q", r[1])
		}
	}
	cells["csv"] = csvCells
	if b, err = os.ReadFile(filepath.Join(dir, id+".csv-meta.json")); err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatalf("CSV sidecar: %v", err)
	}
	notes["csv"] = string(b)

	f, err := excelize.OpenFile(filepath.Join(dir, id+".xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	xrows, err := f.GetRows(xlsx.DataSheet)
	if err != nil {
		t.Fatal(err)
	}
	var xl [2]float64
	for _, r := range xrows[1:] { // measure, label, year, label, value, status
		if r[2] != "2023" {
			continue
		}
		i := map[string]int{"PRAKTIK": 0, "TOTAL": 1}[r[0]]
		if r[0] != "PRAKTIK" && r[0] != "TOTAL" {
			continue
		}
		if xl[i], err = strconv.ParseFloat(r[4], 64); err != nil {
			t.Fatalf("XLSX value %q", r[4])
		}
	}
	cells["xlsx"] = xl
	return cells, notes
}

// TestFrozenYearExported: a frozen 2023 whose counts are unlike the lake's
// comes out in every format, perturbed by the frozen cell keys: two freezes
// with the same counts and different keys publish what the perturbation
// table gives for each key.
func TestFrozenYearExported(t *testing.T) {
	l := testlake.BuildSources(t, testlake.TwoSources()...)
	pt, err := disclosure.NewPTable(disclosure.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := keysWithNoise(t, pt, 46)
	t1, t2 := keysWithNoise(t, pt, 48)
	for _, keys := range [][2]disclosure.Key{{p1, t1}, {p2, t2}} {
		freeze(t, l, keys[0], keys[1])
		tb, cellKeys, err := tables.Participants(context.Background(), l.DB, l.Key, tables.Spec{By: []string{"measure", "year"}, FromYear: 2023, ToYear: 2025})
		if err != nil {
			t.Fatal(err)
		}
		tb.Source, tb.Contact, tb.Updated = "test", "test", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		if err := publication.Protect(tb, cellKeys, publication.Options{}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if _, err := publication.Write(dir, tb); err != nil {
			t.Fatal(err)
		}
		want := [2]float64{float64(pt.Perturb(46, keys[0])), float64(pt.Perturb(48, keys[1]))}
		cells, notes := exported(t, dir, tb.ID)
		for format, got := range cells {
			if got != want {
				t.Errorf("keys %x, %x: %s has Praktik and total 2023 = %v, want %v (46 and 48 perturbed by the frozen keys)", keys[0], keys[1], format, got, want)
			}
		}
		for format, n := range notes {
			if !strings.Contains(n, "2023 är personerna frysta aggregat") {
				t.Errorf("%s does not say that 2023 is frozen: %s", format, n)
			}
		}
	}
	if pt.Perturb(46, p1) == pt.Perturb(46, p2) {
		t.Fatal("the two keys give the same published value: the test would not see which key was used")
	}
}

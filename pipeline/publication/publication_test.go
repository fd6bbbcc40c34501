package publication

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/transforms/table"
)

// persons builds a measure × year table of distinct persons: the measure
// total is not additive (a person in two measures), the year total is.
func persons() *table.Table {
	t := table.New(
		table.Dimension{Code: "measure", Label: "Åtgärd", Total: "TOTAL", Categories: []table.Category{{Code: "PRAKTIK"}, {Code: "SFI"}, {Code: "TOTAL"}}},
		table.Dimension{Code: "year", Label: "År", Total: "TOTAL", Time: true, Categories: []table.Category{{Code: "2024"}, {Code: "2025"}, {Code: "TOTAL"}}},
	)
	// PRAKTIK 10, 12 | SFI 3, 40 | TOTAL (persons) 12, 50 — one person in both
	// measures in 2024, two in 2025; each row's year total is the row's sum.
	copy(t.Values, []float64{10, 12, 22, 3, 40, 43, 12, 50, 62})
	t.ID, t.Title, t.Unit, t.Source, t.Contact, t.RefPeriod = "p", "Deltagare", "antal personer", "test", "test", "2024–2025"
	t.Updated = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return t
}

func TestSuppressionDropsNonAdditiveTotals(t *testing.T) {
	tb := persons()
	if err := Protect(tb, nil, Options{Method: Suppress}); err != nil {
		t.Fatal(err)
	}
	if len(tb.Dims[0].Categories) != 2 || tb.Dims[0].Total != "" {
		t.Errorf("the measure total (not additive) is still there: %+v", tb.Dims[0])
	}
	if len(tb.Dims[1].Categories) != 3 || tb.Dims[1].Total != "TOTAL" {
		t.Errorf("the year total (additive) was dropped: %+v", tb.Dims[1])
	}
	// SFI 2024 = 3 is under the threshold; its row total is published, so
	// SFI 2025 (or the total) must go too.
	if v, s, _ := tb.Cell("SFI", "2024"); s != table.StatusSuppressed || v != 3 {
		t.Errorf("SFI 2024: %v %q", v, s)
	}
	n := 0
	for _, s := range tb.Status {
		if s == table.StatusSuppressed {
			n++
		}
	}
	if n < 2 {
		t.Errorf("%d suppressed cells: the primary one can be recomputed from its row total", n)
	}
	if !strings.Contains(strings.Join(tb.Notes, " "), "Summan över åtgärd redovisas inte") {
		t.Errorf("notes do not say why the total is missing: %v", tb.Notes)
	}
}

func TestWriteNeverCarriesSuppressedValues(t *testing.T) {
	tb := persons()
	tb.Values[3] = 987654 // a value no other cell has
	tb.Status[3] = table.StatusSuppressed
	tb.Method = "test"
	files, err := Write(t.TempDir(), tb)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("files %v", files)
	}
	for _, f := range files {
		if filepath.Ext(f) == ".xlsx" {
			continue // zipped; the export package reads it back in its own tests
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "987654") {
			t.Errorf("%s carries a suppressed value", f)
		}
	}
	if tb.Values[3] != 987654 {
		t.Error("Write changed the caller's table")
	}
}

func TestUnknownMethod(t *testing.T) {
	if err := Protect(persons(), nil, Options{Method: "guess"}); err == nil {
		t.Error("unknown method accepted")
	}
}

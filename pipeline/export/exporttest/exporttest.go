// Package exporttest builds the tables that the export formats' round-trip
// tests write and read back, and compares a table read back with the one
// written.
package exporttest

import (
	"fmt"
	"strings"
	"time"

	"github.com/gallra/gallra/transforms/table"
)

// Hidden is the value stored in suppressed cells of Table: it must never
// appear in an export.
const Hidden = 987654

// LongTitle is Table's title: longer than a PX line (256 bytes) and full of
// Swedish letters.
var LongTitle = "Deltagare i arbetsmarknadsåtgärder hos Arbetsmarknadsförvaltningen i Luleå kommun " +
	"efter åtgärd, år och kön: antal unika personer som någon gång under året deltog i en åtgärd, " +
	"räknat från deltagarsystemets exporter; personer med flera åtgärder räknas en gång per åtgärd " +
	"och en gång i totalen för samtliga åtgärder (öppna perioder ingår)"

// Table returns a measure (with total "TOT") × year (time) × sex (with
// total "T") table with Swedish labels, distinct values in every cell and
// some suppressed cells holding Hidden.
func Table() *table.Table {
	t := table.New(
		table.Dimension{Code: "measure", Label: "Åtgärd", Total: "TOT", Categories: []table.Category{
			{Code: "TOT", Label: "Samtliga åtgärder"},
			{Code: "ARBPR", Label: "Arbetsträning"},
			{Code: "FRJOB", Label: "Extratjänst, förstärkt"},
			{Code: "OVR", Label: "Övriga insatser (öppen förskola, språkstöd)"},
		}},
		table.Dimension{Code: "year", Label: "År", Time: true, Categories: []table.Category{
			{Code: "2023", Label: "2023"}, {Code: "2024", Label: "2024"}, {Code: "2025", Label: "2025"},
		}},
		table.Dimension{Code: "sex", Label: "Kön", Total: "T", Categories: []table.Category{
			{Code: "T", Label: "Totalt"}, {Code: "K", Label: "Kvinnor"}, {Code: "M", Label: "Män"},
		}},
	)
	t.ID = "participants_measure_year_sex"
	t.Title = LongTitle
	t.Unit = "antal personer"
	t.Source = "Arbetsmarknadsförvaltningen, Luleå kommun (gallra)"
	t.Contact = "Statistikfunktionen, Luleå kommun, statistik@example.se"
	t.RefPeriod = "2023-2025"
	t.Updated = time.Date(2026, 3, 14, 9, 26, 0, 0, time.UTC)
	t.Language = "sv"
	t.Notes = []string{"Öppna perioder räknas till och med uttagsdagen.", "Kön enligt folkbokföringen."}
	t.Method = "primär och sekundär undertryckning (tröskel 5)"
	for i := range t.Values {
		t.Values[i] = float64(11*i + 5)
	}
	for _, i := range []int{4, 5, 13, 22, 35} {
		t.Values[i] = Hidden
		t.Status[i] = table.StatusSuppressed
	}
	return t
}

// Compare returns the differences between a table read back (got) and the
// table written (want) in dimensions (codes, labels of categories, time,
// total), values and statuses; suppressed cells' values are not compared.
// dimCodes says whether dimension codes must match (PX carries only the
// label).
func Compare(got, want *table.Table, dimCodes bool) []string {
	var diff []string
	if len(got.Dims) != len(want.Dims) {
		return []string{fmt.Sprintf("%d dimensions, want %d", len(got.Dims), len(want.Dims))}
	}
	for i, g := range got.Dims {
		w := want.Dims[i]
		if dimCodes && g.Code != w.Code {
			diff = append(diff, fmt.Sprintf("dim %d code %q, want %q", i, g.Code, w.Code))
		}
		if g.Label != w.Label {
			diff = append(diff, fmt.Sprintf("dim %d label %q, want %q", i, g.Label, w.Label))
		}
		if g.Time != w.Time || g.Total != w.Total {
			diff = append(diff, fmt.Sprintf("dim %d time %v total %q, want %v %q", i, g.Time, g.Total, w.Time, w.Total))
		}
		if len(g.Categories) != len(w.Categories) {
			diff = append(diff, fmt.Sprintf("dim %d: %d categories, want %d", i, len(g.Categories), len(w.Categories)))
			continue
		}
		for j := range g.Categories {
			if g.Categories[j] != w.Categories[j] {
				diff = append(diff, fmt.Sprintf("dim %d category %d %+v, want %+v", i, j, g.Categories[j], w.Categories[j]))
			}
		}
	}
	if len(got.Values) != len(want.Values) || len(got.Status) != len(want.Status) {
		return append(diff, fmt.Sprintf("%d cells, want %d", len(got.Values), len(want.Values)))
	}
	for i := range want.Values {
		if got.Status[i] != want.Status[i] {
			diff = append(diff, fmt.Sprintf("cell %d status %q, want %q", i, got.Status[i], want.Status[i]))
		} else if want.Status[i] == table.StatusOK && got.Values[i] != want.Values[i] {
			diff = append(diff, fmt.Sprintf("cell %d value %v, want %v", i, got.Values[i], want.Values[i]))
		}
	}
	return diff
}

// Contains returns the metadata texts of t that s lacks: title, unit,
// source, reference period, contact, method, each note and the ".."
// symbol's explanation (symbolNote) — the things every export must carry.
func Contains(s string, t *table.Table, symbolNote string) []string {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"title", t.Title}, {"unit", t.Unit}, {"source", t.Source}, {"refperiod", t.RefPeriod},
		{"contact", t.Contact}, {"method", t.Method}, {"symbol note", symbolNote},
	} {
		if !strings.Contains(s, f.v) {
			missing = append(missing, f.name)
		}
	}
	for i, n := range t.Notes {
		if !strings.Contains(s, n) {
			missing = append(missing, fmt.Sprintf("note %d", i))
		}
	}
	return missing
}

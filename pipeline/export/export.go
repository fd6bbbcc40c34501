// Package export holds what gallra's table exports have in common: the
// metadata every exported table must carry and the fixed texts (the symbol
// footnote, the disclosure-method note) that each format writes in its own
// way. The formats themselves live in the sub-packages px (PC-Axis),
// jsonstat (JSON-stat 2.0), tidy (CSV with a metadata sidecar) and xlsx.
package export

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gallra/gallra/transforms/table"
)

// Check reports whether t may be exported: its shape must pass
// table.Validate, it must have at least one dimension, every value must be
// finite, and it must carry the metadata that every export writes: title,
// unit, source, contact, reference period, last-updated time and the
// disclosure-control method (write "none" explicitly if none was applied).
func Check(t *table.Table) error {
	if t == nil {
		return errors.New("export: nil table")
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if len(t.Dims) == 0 {
		return fmt.Errorf("export: table %s: no dimensions", t.ID)
	}
	for _, f := range []struct{ name, v string }{
		{"title", t.Title}, {"unit", t.Unit}, {"source", t.Source}, {"contact", t.Contact},
		{"reference period", t.RefPeriod}, {"method", t.Method},
	} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("export: table %s: missing %s", t.ID, f.name)
		}
	}
	if t.Updated.IsZero() {
		return fmt.Errorf("export: table %s: missing last-updated time", t.ID)
	}
	for i, v := range t.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("export: table %s: cell %d is not a finite number", t.ID, i)
		}
	}
	return nil
}

// Swedish reports whether the table's texts are Swedish (Language "sv" or
// empty, gallra's default).
func Swedish(t *table.Table) bool {
	l := strings.ToLower(t.Language)
	return l == "" || l == "sv" || strings.HasPrefix(l, "sv-")
}

// SymbolNote is the footnote explaining the ".." symbol, in the table's
// language.
func SymbolNote(t *table.Table) string {
	if Swedish(t) {
		return ".. = uppgiften redovisas inte av sekretesskäl (röjandekontroll)"
	}
	return ".. = not published for reasons of confidentiality (disclosure control)"
}

// MethodPrefix is the text that opens the method note, in the table's
// language; MethodNote is MethodPrefix followed by t.Method.
func MethodPrefix(t *table.Table) string {
	if Swedish(t) {
		return "Röjandekontroll: "
	}
	return "Disclosure control: "
}

// MethodNote is the note that records the disclosure-control method.
func MethodNote(t *table.Table) string { return MethodPrefix(t) + t.Method }

// Notes returns the footnotes an export writes: t.Notes, followed by the
// symbol note unless t.Notes already holds it.
func Notes(t *table.Table) []string {
	out := append([]string(nil), t.Notes...)
	sym := SymbolNote(t)
	for _, n := range out {
		if n == sym {
			return out
		}
	}
	return append(out, sym)
}

// Label returns c's label, or its code when the label is empty.
func Label(c table.Category) string {
	if c.Label != "" {
		return c.Label
	}
	return c.Code
}

// DimLabel returns d's label, or its code when the label is empty.
func DimLabel(d table.Dimension) string {
	if d.Label != "" {
		return d.Label
	}
	return d.Code
}

// Package publication turns a table of counts into what a recipient
// receives: it applies the disclosure control the publication asks for
// (cell key method, suppression with an audit, or rounding), then writes the
// table in every format (tidy CSV with its metadata sidecar, XLSX, PX,
// JSON-stat 2.0) into a folder.
//
// Suppressed cells are never written with their values: the writers get the
// published copy of the table, in which they are zero and marked "..".
package publication

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gallra/gallra/pipeline/export/bundle"
	"github.com/gallra/gallra/pipeline/export/tidy"
	"github.com/gallra/gallra/transforms/disclosure"
	"github.com/gallra/gallra/transforms/table"
)

// Methods of disclosure control.
const (
	CellKey  = "cellkey"  // SCB's method from reference year 2025: small noise, no 1s and 2s (the default)
	Suppress = "suppress" // primary and secondary suppression, proved by an audit
	Round    = "round"    // rounding to a base
)

// Options say how a table is protected and written.
type Options struct {
	Method    string            // CellKey (default), Suppress or Round
	CellKey   disclosure.Params // zero: disclosure.DefaultParams
	Suppress  disclosure.SuppressParams
	RoundBase int      // Round: 3, 5 or 10 (default 5)
	Formats   []string // default: all of Formats
}

// Protect applies the method to t in place. cellKeys are needed for the
// cell key method (one per cell, see pipeline/tables).
func Protect(t *table.Table, cellKeys []disclosure.Key, opt Options) error {
	switch opt.Method {
	case "", CellKey:
		p := opt.CellKey
		if p == (disclosure.Params{}) {
			p = disclosure.DefaultParams
		}
		pt, err := disclosure.NewPTable(p)
		if err != nil {
			return err
		}
		return disclosure.Apply(t, cellKeys, pt)
	case Suppress:
		dropNonAdditiveTotals(t)
		_, err := disclosure.Suppress(t, opt.Suppress)
		return err
	case Round:
		base := opt.RoundBase
		if base == 0 {
			base = 5
		}
		return disclosure.Round(t, base)
	default:
		return fmt.Errorf("publication: unknown method %q (want %s, %s or %s)", opt.Method, CellKey, Suppress, Round)
	}
}

// Write writes the protected table into dir in every format (PX, JSON-stat,
// tidy CSV with its metadata sidecar, XLSX; see pipeline/export/bundle),
// named after the table's ID, and returns the files written. The writers get
// a copy in which suppressed cells hold zero, so that no code path can print
// a suppressed value.
func Write(dir string, t *table.Table) ([]string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	pub := *t
	pub.Values = slices.Clone(t.Values)
	for i, s := range t.Status {
		if s == table.StatusSuppressed {
			pub.Values[i] = 0
		}
	}
	return bundle.WriteDir(dir, &pub, bundle.Options{CSV: tidy.CSVOptions{BOM: true}})
}

// dropNonAdditiveTotals removes every total category that is not the sum of
// the categories it covers. Counts of distinct persons are not additive: a
// person in two measures in one year is one person in that year's total.
// Suppression and its audit rest on totals being sums, so such totals are
// not published with suppression (the cell key method publishes them, each
// with its own noise); a note says so.
func dropNonAdditiveTotals(t *table.Table) {
	for d := 0; d < len(t.Dims); d++ {
		dim := t.Dims[d]
		tot := dim.Index(dim.Total)
		if dim.Total == "" || tot < 0 || additive(t, d, tot) {
			continue
		}
		*t = *withoutCategory(t, d, tot)
		t.Notes = append(t.Notes, fmt.Sprintf("Summan över %s redovisas inte: en person kan ingå i flera %s, så summan är inte summan av delarna, och röjandekontrollen med undertryckning förutsätter det.",
			strings.ToLower(dim.Label), strings.ToLower(dim.Label)))
	}
}

// additive reports whether, along dimension d, every total cell equals the
// sum of the other cells of its line.
func additive(t *table.Table, d, tot int) bool {
	for off := 0; off < t.Len(); off++ {
		pos := t.Positions(off)
		if pos[d] != tot {
			continue
		}
		sum := 0.0
		for c := range t.Dims[d].Categories {
			if c != tot {
				pos[d] = c
				sum += t.Values[t.Offset(pos...)]
			}
		}
		if sum != t.Values[off] {
			return false
		}
	}
	return true
}

// withoutCategory returns a copy of t without category c of dimension d.
func withoutCategory(t *table.Table, d, c int) *table.Table {
	dims := slices.Clone(t.Dims)
	dims[d].Categories = slices.Delete(slices.Clone(dims[d].Categories), c, c+1)
	dims[d].Total = ""
	n := table.New(dims...)
	n.ID, n.Title, n.Unit, n.Source, n.Contact = t.ID, t.Title, t.Unit, t.Source, t.Contact
	n.RefPeriod, n.Updated, n.Language, n.Method = t.RefPeriod, t.Updated, t.Language, t.Method
	n.Notes = slices.Clone(t.Notes)
	for off := 0; off < t.Len(); off++ {
		pos := t.Positions(off)
		if pos[d] == c {
			continue
		}
		if pos[d] > c {
			pos[d]--
		}
		o := n.Offset(pos...)
		n.Values[o], n.Status[o] = t.Values[off], t.Status[off]
	}
	return n
}

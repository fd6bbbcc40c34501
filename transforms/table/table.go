// Package table is the statistical table that gallra's statistics produce,
// disclosure control protects and the exports write: a cube of counts over
// dimensions with ordered categories, each cell with a status, and the
// metadata a recipient such as Statistics Sweden expects.
//
// Cells are stored row-major over Dims: the last dimension varies fastest,
// as in PX's DATA block and JSON-stat's value array. A dimension may have a
// total category (its Total field names it); a cell in a total category is
// the sum of the cells it covers, and disclosure control treats it as a
// published margin.
package table

import (
	"fmt"
	"time"
)

// Status of a cell.
const (
	StatusOK         = ""   // published as is (possibly perturbed or rounded: see Table.Method)
	StatusSuppressed = ".." // not published: too few persons (primary) or to protect another cell (secondary)
)

// Category is one value of a dimension.
type Category struct {
	Code  string // stable code (e.g. a measure code, a year, a kommunkod)
	Label string // human label (Swedish where the recipient expects it)
}

// Dimension is one axis of the table.
type Dimension struct {
	Code       string // e.g. "measure", "year", "sex"
	Label      string // e.g. "Åtgärd", "År", "Kön"
	Categories []Category
	// Total is the code of the category that holds the sum over the
	// others ("" if the dimension has no total).
	Total string
	// Time marks the time dimension (PX TIMEVAL, JSON-stat role "time").
	Time bool
}

// Index returns the position of the category with the given code, or -1.
func (d Dimension) Index(code string) int {
	for i, c := range d.Categories {
		if c.Code == code {
			return i
		}
	}
	return -1
}

// Table is a cube of counts with its metadata.
type Table struct {
	ID        string    // short machine name, e.g. "participants_measure_year"
	Title     string    // e.g. "Deltagare per åtgärd och år"
	Unit      string    // e.g. "antal personer"
	Source    string    // e.g. "Arbetsmarknadsförvaltningen, Luleå kommun (gallra)"
	Contact   string    // whom to ask
	RefPeriod string    // e.g. "2016–2025"
	Updated   time.Time // when the numbers were produced
	Language  string    // e.g. "sv"
	Notes     []string  // footnotes: what the symbols mean, the method, caveats
	Method    string    // disclosure control applied, e.g. "cell key method (max deviation 3)"; recorded in every export

	Dims   []Dimension
	Values []float64 // len = product of len(Dims[i].Categories)
	Status []string  // per cell, same length as Values; StatusOK or StatusSuppressed
}

// New returns a table over dims with all counts zero and all cells OK.
func New(dims ...Dimension) *Table {
	n := 1
	for _, d := range dims {
		n *= len(d.Categories)
	}
	return &Table{Dims: dims, Values: make([]float64, n), Status: make([]string, n)}
}

// Len is the number of cells.
func (t *Table) Len() int { return len(t.Values) }

// Offset returns the cell index of the given category positions, one per
// dimension.
func (t *Table) Offset(pos ...int) int {
	if len(pos) != len(t.Dims) {
		panic(fmt.Sprintf("table: %d positions for %d dimensions", len(pos), len(t.Dims)))
	}
	off := 0
	for i, p := range pos {
		n := len(t.Dims[i].Categories)
		if p < 0 || p >= n {
			panic(fmt.Sprintf("table: position %d out of range for dimension %q", p, t.Dims[i].Code))
		}
		off = off*n + p
	}
	return off
}

// Positions returns the category positions of a cell index (the inverse of
// Offset).
func (t *Table) Positions(off int) []int {
	pos := make([]int, len(t.Dims))
	for i := len(t.Dims) - 1; i >= 0; i-- {
		n := len(t.Dims[i].Categories)
		pos[i] = off % n
		off /= n
	}
	return pos
}

// Cell returns the value and status at the given category codes.
func (t *Table) Cell(codes ...string) (float64, string, error) {
	off, err := t.offsetOf(codes)
	if err != nil {
		return 0, "", err
	}
	return t.Values[off], t.Status[off], nil
}

// Set sets the value at the given category codes.
func (t *Table) Set(v float64, codes ...string) error {
	off, err := t.offsetOf(codes)
	if err != nil {
		return err
	}
	t.Values[off] = v
	return nil
}

func (t *Table) offsetOf(codes []string) (int, error) {
	if len(codes) != len(t.Dims) {
		return 0, fmt.Errorf("table %s: %d codes for %d dimensions", t.ID, len(codes), len(t.Dims))
	}
	pos := make([]int, len(codes))
	for i, c := range codes {
		if pos[i] = t.Dims[i].Index(c); pos[i] < 0 {
			return 0, fmt.Errorf("table %s: dimension %q has no category %q", t.ID, t.Dims[i].Code, c)
		}
	}
	return t.Offset(pos...), nil
}

// IsTotal reports whether the cell lies in a total category of any
// dimension (a margin).
func (t *Table) IsTotal(off int) bool {
	for i, p := range t.Positions(off) {
		if d := t.Dims[i]; d.Total != "" && d.Categories[p].Code == d.Total {
			return true
		}
	}
	return false
}

// Validate checks the shape: categories unique per dimension, totals
// existing, values and statuses of the right length, statuses known.
func (t *Table) Validate() error {
	n := 1
	for _, d := range t.Dims {
		if len(d.Categories) == 0 {
			return fmt.Errorf("table %s: dimension %q has no categories", t.ID, d.Code)
		}
		seen := map[string]bool{}
		for _, c := range d.Categories {
			if seen[c.Code] {
				return fmt.Errorf("table %s: dimension %q repeats category %q", t.ID, d.Code, c.Code)
			}
			seen[c.Code] = true
		}
		if d.Total != "" && !seen[d.Total] {
			return fmt.Errorf("table %s: dimension %q names total %q, which is not a category", t.ID, d.Code, d.Total)
		}
		n *= len(d.Categories)
	}
	if len(t.Values) != n || len(t.Status) != n {
		return fmt.Errorf("table %s: %d values and %d statuses for %d cells", t.ID, len(t.Values), len(t.Status), n)
	}
	for i, s := range t.Status {
		if s != StatusOK && s != StatusSuppressed {
			return fmt.Errorf("table %s: cell %d has unknown status %q", t.ID, i, s)
		}
	}
	return nil
}

// Package tables builds the statistical tables that gallra publishes from the
// lake: counts of distinct persons over chosen dimensions, with a total
// category in every dimension, and for every cell its cell key for the cell
// key method (transforms/disclosure).
//
// Each person contributes once to every cell they belong to, margins
// included: a person in two measures in one year counts once in that
// year's total. A person's record key is a keyed hash of their pseudonym
// under a domain of its own ("cellkey"), so the same cell gets the same key
// (and so the same noise) in every table and every run, and nobody without
// the key can compute it from the lake.
package tables

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/schemas"
	"github.com/gallra/gallra/transforms/disclosure"
	"github.com/gallra/gallra/transforms/pseudonym"
	"github.com/gallra/gallra/transforms/table"
)

// CellKeyDomain is the pseudonym domain of the record keys behind cell keys.
const CellKeyDomain = "cellkey"

// Total is the code of every dimension's total category.
const Total = "TOTAL"

// Dimensions that a table may be broken down by, with their labels.
var dimensions = map[string]struct {
	label string
	expr  string // over the lake view l and the year y
}{
	"year":         {"År", "y.year::VARCHAR"},
	"measure":      {"Åtgärd", "l.measure"},
	"source":       {"Källa", "l.source"},
	"sex":          {"Kön", "coalesce(l.sex, 'uppgift saknas')"},
	"age_band":     {"Åldersgrupp vid start", "coalesce(l.age_band, 'uppgift saknas')"},
	"municipality": {"Kommun", "coalesce(l.municipality, 'uppgift saknas')"},
}

// Spec says which table to build: distinct participants active in each year
// of the span, broken down by the named dimensions (in order; "year" is one
// of them or is added last).
type Spec struct {
	By       []string
	FromYear int
	ToYear   int
}

// Participants builds the table of distinct participants (persons with at
// least one participation active at some time in the year: started on or
// before 31 December, not ended before 1 January), with cell keys.
// Unlinked rows have no person and are not counted.
func Participants(ctx context.Context, db *sql.DB, key pseudonym.Key, spec Spec) (*table.Table, []disclosure.Key, error) {
	by := slices.Clone(spec.By)
	if !slices.Contains(by, "year") {
		by = append(by, "year")
	}
	exprs := make([]string, len(by))
	for i, d := range by {
		dim, ok := dimensions[d]
		if !ok {
			return nil, nil, fmt.Errorf("tables: no dimension %q (known: year, measure, source, sex, age_band, municipality)", d)
		}
		exprs[i] = dim.expr + " AS d" + strconv.Itoa(i)
	}
	if spec.FromYear > spec.ToYear {
		return nil, nil, fmt.Errorf("tables: span %d–%d is empty", spec.FromYear, spec.ToYear)
	}
	q := fmt.Sprintf(`WITH years AS (SELECT y::INTEGER AS year FROM range(%d, %d) t(y))
SELECT DISTINCT l.pseudonym::VARCHAR AS p, %s
FROM years y JOIN lake l
  ON l.pseudonym IS NOT NULL
 AND l.period_start <= make_date(y.year, 12, 31)
 AND (l.period_end IS NULL OR l.period_end >= make_date(y.year, 1, 1))
ORDER BY p`, spec.FromYear, spec.ToYear+1, strings.Join(exprs, ", "))
	_, rows, err := duck.Query(ctx, db, q)
	if err != nil {
		return nil, nil, fmt.Errorf("tables: %w", err)
	}

	// Categories: every value seen, sorted, then the total; every year of
	// the span.
	seen := make([]map[string]bool, len(by))
	for i := range seen {
		seen[i] = map[string]bool{}
	}
	for _, r := range rows {
		for i := range by {
			seen[i][r[1+i]] = true
		}
	}
	codes, err := schemas.LoadCodes()
	if err != nil {
		return nil, nil, err
	}
	dims := make([]table.Dimension, len(by))
	for i, d := range by {
		dim := table.Dimension{Code: d, Label: dimensions[d].label, Total: Total, Time: d == "year"}
		var values []string
		if d == "year" {
			for y := spec.FromYear; y <= spec.ToYear; y++ {
				values = append(values, strconv.Itoa(y))
			}
		} else {
			for v := range seen[i] {
				values = append(values, v)
			}
			slices.Sort(values)
		}
		for _, v := range values {
			dim.Categories = append(dim.Categories, table.Category{Code: v, Label: label(codes, d, v)})
		}
		total := "Totalt"
		if d == "year" {
			total = fmt.Sprintf("%d–%d", spec.FromYear, spec.ToYear)
		}
		dim.Categories = append(dim.Categories, table.Category{Code: Total, Label: total})
		dims[i] = dim
	}
	t := table.New(dims...)
	keys := make([]disclosure.Key, t.Len())

	// One person at a time (the rows are sorted by pseudonym): the set of
	// cells, margins included, they belong to; each counted once.
	recordKey, err := RecordKeys(key)
	if err != nil {
		return nil, nil, err
	}
	cells := map[int]bool{}
	flush := func(p string) {
		if p == "" {
			return
		}
		k := recordKey(p)
		for c := range cells {
			t.Values[c]++
			keys[c] = keys[c].Add(k)
		}
		clear(cells)
	}
	prev := ""
	pos := make([]int, len(by))
	for _, r := range rows {
		if r[0] != prev {
			flush(prev)
			prev = r[0]
		}
		for i := range by {
			pos[i] = dims[i].Index(r[1+i])
		}
		// The cell and all its margins: every subset of dimensions set to
		// their total.
		for mask := 0; mask < 1<<len(by); mask++ {
			p := slices.Clone(pos)
			for i := range by {
				if mask&(1<<i) != 0 {
					p[i] = len(dims[i].Categories) - 1
				}
			}
			cells[t.Offset(p...)] = true
		}
	}
	flush(prev)
	t.ID = "participants_" + strings.Join(by, "_")
	t.Title = "Deltagare (unika personer) per " + strings.Join(labels(dims), ", ") + fmt.Sprintf(" %d–%d", spec.FromYear, spec.ToYear)
	t.Unit = "antal personer"
	t.RefPeriod = fmt.Sprintf("%d–%d", spec.FromYear, spec.ToYear)
	t.Language = "sv"
	t.Notes = append(t.Notes, "En person räknas en gång per cell, också i totalerna, även med flera deltaganden.")
	return t, keys, nil
}

// RecordKeys returns the function that gives a person's record key, the
// term their cell keys sum over: a keyed hash, under key's CellKeyDomain, of
// the person's pseudonym as DuckDB prints a UUID (pseudonym::VARCHAR,
// lower-case hex with hyphens). Participants uses it; so must anything else
// that computes cell keys meant to agree with its tables.
func RecordKeys(key pseudonym.Key) (func(pseudonym string) disclosure.Key, error) {
	rk, err := pseudonym.NewPseudonymizer(key, CellKeyDomain)
	if err != nil {
		return nil, err
	}
	return func(p string) disclosure.Key {
		return disclosure.RecordKey([16]byte(rk.Pseudonym("pseudonym", p)))
	}, nil
}

func labels(dims []table.Dimension) []string {
	out := make([]string, len(dims))
	for i, d := range dims {
		out[i] = strings.ToLower(d.Label)
	}
	return out
}

// label is a category's human label: the code list's Swedish name for
// measures and municipalities, the value itself otherwise.
func label(c *schemas.Codes, dim, v string) string {
	switch dim {
	case "measure":
		if m, ok := c.Measure(v); ok {
			return m.SV
		}
	case "municipality":
		if n, ok := c.Municipality(v); ok {
			return n
		}
	case "sex":
		switch v {
		case "K":
			return "Kvinnor"
		case "M":
			return "Män"
		}
	}
	return v
}

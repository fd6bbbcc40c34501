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
//
// Years that retention has frozen (years in the DuckDB view "aggregates",
// statistic "participants"; see pipeline/aggregates) can no longer be
// counted from pseudonyms: their cells come from the frozen aggregates,
// values and cell keys, so their noise stays what it was. The frozen cells
// are by source and measure (with totals) only: a table broken down by sex,
// age band or municipality leaves frozen years out, and says so. Every
// table says in a footnote which years are frozen.
package tables

import (
	"context"
	"database/sql"
	"errors"
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

// DimensionLabel returns a dimension's Swedish label (e.g. "Kön" for "sex"),
// or the code itself for a dimension tables does not know.
func DimensionLabel(d string) string {
	if dim, ok := dimensions[d]; ok {
		return dim.label
	}
	return d
}

// Spec says which table to build: distinct participants active in each year
// of the span, broken down by the named dimensions (in order; "year" is one
// of them or is added last).
type Spec struct {
	By       []string
	FromYear int
	ToYear   int
}

// ErrAllFrozen is returned (wrapped) by Participants when a table is
// broken down by a dimension the frozen aggregates lack (sex, age band,
// municipality) and every year of its span is frozen: no year is left.
var ErrAllFrozen = errors.New("tables: every year of the span is frozen")

// frozenDims are the dimensions the frozen aggregates have.
var frozenDims = map[string]bool{"year": true, "measure": true, "source": true}

// Participants builds the table of distinct participants (persons with at
// least one participation active at some time in the year: started on or
// before 31 December, not ended before 1 January), with cell keys.
// Unlinked rows have no person and are not counted.
//
// If db has a view "aggregates" (duck.LakeView makes it), years of the span
// present in it with statistic "participants" are frozen:
//   - a table by year, measure and source only takes every cell of a frozen
//     year from the frozen cell of the same source and measure (TOTAL where
//     the table has no such dimension, or for its margin): value and cell
//     key. A cell the frozen year lacks is zero. Live rows of a frozen year
//     are not counted. The year dimension then has no total: persons cannot
//     be counted once over frozen and other years. A note says so.
//   - a table by sex, age band or municipality leaves the frozen years out,
//     with a note saying why; if no year is left it returns ErrAllFrozen.
//
// Either way a note says which years are frozen ("basis"). A session
// without the view (a lake from before frozen aggregates) counts every year
// from the lake and adds no note.
func Participants(ctx context.Context, db *sql.DB, key pseudonym.Key, spec Spec) (*table.Table, []disclosure.Key, error) {
	by := slices.Clone(spec.By)
	if !slices.Contains(by, "year") {
		by = append(by, "year")
	}
	exprs := make([]string, len(by))
	canFreeze := true
	for i, d := range by {
		dim, ok := dimensions[d]
		if !ok {
			return nil, nil, fmt.Errorf("tables: no dimension %q (known: year, measure, source, sex, age_band, municipality)", d)
		}
		exprs[i] = dim.expr + " AS d" + strconv.Itoa(i)
		canFreeze = canFreeze && frozenDims[d]
	}
	if spec.FromYear > spec.ToYear {
		return nil, nil, fmt.Errorf("tables: span %d–%d is empty", spec.FromYear, spec.ToYear)
	}
	frozen, hasView, err := frozenYears(ctx, db, spec.FromYear, spec.ToYear)
	if err != nil {
		return nil, nil, err
	}

	// The years of the table, and of them those counted from the lake.
	var years, live, frozenIn, left []int
	for y := spec.FromYear; y <= spec.ToYear; y++ {
		switch _, f := frozen[y]; {
		case !f:
			years, live = append(years, y), append(live, y)
		case canFreeze:
			years, frozenIn = append(years, y), append(frozenIn, y)
		default:
			left = append(left, y)
		}
	}
	if len(years) == 0 {
		return nil, nil, fmt.Errorf("%w (%s), and its frozen aggregates have no breakdown by %s",
			ErrAllFrozen, yearList(left), strings.Join(unfrozen(by), ", "))
	}

	var rows [][]string
	if len(live) > 0 {
		q := fmt.Sprintf(`WITH years AS (SELECT unnest(%s)::INTEGER AS year)
SELECT DISTINCT l.pseudonym::VARCHAR AS p, %s
FROM years y JOIN lake l
  ON l.pseudonym IS NOT NULL
 AND l.period_start <= make_date(y.year, 12, 31)
 AND (l.period_end IS NULL OR l.period_end >= make_date(y.year, 1, 1))
ORDER BY p`, intList(live), strings.Join(exprs, ", "))
		if _, rows, err = duck.Query(ctx, db, q); err != nil {
			return nil, nil, fmt.Errorf("tables: %w", err)
		}
	}
	var cells []frozenCell
	if len(frozenIn) > 0 {
		if cells, err = frozenCells(ctx, db, frozenIn, by); err != nil {
			return nil, nil, err
		}
	}

	// Categories: every value seen, sorted, then the total; every year of
	// the table.
	seen := make([]map[string]bool, len(by))
	for i := range seen {
		seen[i] = map[string]bool{}
	}
	for _, r := range rows {
		for i := range by {
			seen[i][r[1+i]] = true
		}
	}
	for _, c := range cells {
		if c.value == 0 {
			continue
		}
		for i, d := range by {
			if v := c.code(d); v != Total && d != "year" {
				seen[i][v] = true
			}
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
			for _, y := range years {
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
			total = yearList(years)
		}
		if d == "year" && len(frozenIn) > 0 {
			dim.Total = "" // persons cannot be counted once over frozen years
		} else {
			dim.Categories = append(dim.Categories, table.Category{Code: Total, Label: total})
		}
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
	mine := map[int]bool{}
	flush := func(p string) {
		if p == "" {
			return
		}
		k := recordKey(p)
		for c := range mine {
			t.Values[c]++
			keys[c] = keys[c].Add(k)
		}
		clear(mine)
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
		// The cell and all its margins: every subset of the dimensions
		// that have a total set to it.
	masks:
		for mask := 0; mask < 1<<len(by); mask++ {
			p := slices.Clone(pos)
			for i := range by {
				if mask&(1<<i) != 0 {
					if dims[i].Total == "" {
						continue masks
					}
					p[i] = len(dims[i].Categories) - 1
				}
			}
			mine[t.Offset(p...)] = true
		}
	}
	flush(prev)

	// Frozen years: each table cell is one frozen cell, margins included.
	for _, c := range cells {
		for i, d := range by {
			pos[i] = dims[i].Index(c.code(d))
		}
		if slices.Contains(pos, -1) {
			continue // a category with no persons, in a cell erased to zero
		}
		o := t.Offset(pos...)
		t.Values[o], keys[o] = float64(c.value), c.key
	}

	t.ID = "participants_" + strings.Join(by, "_")
	t.Title = "Deltagare (unika personer) per " + strings.Join(labels(dims), ", ") + " " + yearList(years)
	t.Unit = "antal personer"
	t.RefPeriod = yearList(years)
	t.Language = "sv"
	t.Notes = append(t.Notes, "En person räknas en gång per cell, också i totalerna, även med flera deltaganden.")
	if hasView {
		t.Notes = append(t.Notes, basisNote(frozen, frozenIn, live, left, by)...)
	}
	return t, keys, nil
}

// frozenYears returns the years from–to frozen in the view "aggregates"
// (statistic participants), each with the day it was frozen; hasView is
// false when db has no such view or table.
func frozenYears(ctx context.Context, db *sql.DB, from, to int) (years map[int]string, hasView bool, err error) {
	_, rows, err := duck.Query(ctx, db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'aggregates'")
	if err != nil {
		return nil, false, fmt.Errorf("tables: %w", err)
	}
	if rows[0][0] == "0" {
		return nil, false, nil
	}
	_, rows, err = duck.Query(ctx, db, fmt.Sprintf(`SELECT year, min(frozen_on)::VARCHAR FROM aggregates
WHERE statistic = 'participants' AND year BETWEEN %d AND %d GROUP BY year`, from, to))
	if err != nil {
		return nil, false, fmt.Errorf("tables: frozen aggregates: %w", err)
	}
	years = map[int]string{}
	for _, r := range rows {
		y, err := strconv.Atoi(r[0])
		if err != nil {
			return nil, false, fmt.Errorf("tables: frozen aggregates: year %q", r[0])
		}
		years[y] = r[1]
	}
	return years, true, nil
}

// frozenCell is one frozen participants cell of a year.
type frozenCell struct {
	year            int
	source, measure string
	value           int64
	key             disclosure.Key
}

// code returns the cell's category in dimension d (year, source or measure).
func (c frozenCell) code(d string) string {
	switch d {
	case "year":
		return strconv.Itoa(c.year)
	case "source":
		return c.source
	case "measure":
		return c.measure
	}
	return ""
}

// frozenCells reads the frozen participants cells of years that a table by
// the dimensions by (year, source, measure only) uses: those whose source
// (measure) is TOTAL when the table has no source (measure) dimension.
func frozenCells(ctx context.Context, db *sql.DB, years []int, by []string) ([]frozenCell, error) {
	where := fmt.Sprintf("statistic = 'participants' AND year IN (SELECT unnest(%s))", intList(years))
	for _, d := range []string{"source", "measure"} {
		if !slices.Contains(by, d) {
			where += " AND " + d + " = 'TOTAL'"
		}
	}
	_, rows, err := duck.Query(ctx, db, "SELECT year, source, measure, value, cell_key FROM aggregates WHERE "+where+" ORDER BY ALL")
	if err != nil {
		return nil, fmt.Errorf("tables: frozen aggregates: %w", err)
	}
	out := make([]frozenCell, len(rows))
	for i, r := range rows {
		y, err1 := strconv.Atoi(r[0])
		v, err2 := strconv.ParseInt(r[3], 10, 64)
		k, err3 := strconv.ParseUint(r[4], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil || v < 0 {
			return nil, fmt.Errorf("tables: frozen aggregates: row %d is not a year, count and cell key", i+1)
		}
		out[i] = frozenCell{year: y, source: r[1], measure: r[2], value: v, key: disclosure.Key(k)}
	}
	return out, nil
}

// basisNote says where the table's persons come from: which years are
// frozen (frozenIn, from frozen cells; left, left out) and which are counted
// from the lake (live).
func basisNote(frozen map[int]string, frozenIn, live, left []int, by []string) []string {
	var notes []string
	if len(frozenIn) > 0 {
		notes = append(notes, fmt.Sprintf("Underlag: för %s är personerna frysta aggregat (%s), räknade en gång för alla innan årens pseudonymer gallrades; senare inkomna rader ändrar dem inte.%s",
			yearList(frozenIn), frozenOn(frozen, frozenIn), liveText(live)))
		notes = append(notes, "Summan över år redovisas inte: en person kan delta flera år, och för frysta år finns inga pseudonymer att räkna en person en gång över åren med.")
	}
	if len(left) > 0 {
		notes = append(notes, fmt.Sprintf("Underlag: %s redovisas inte i tabellen. Åren är frysta (%s): deras pseudonymer är gallrade, och de frysta aggregaten finns per källa och åtgärd, inte per %s.%s",
			yearList(left), frozenOn(frozen, left), strings.ToLower(strings.Join(unfrozenLabels(by), ", ")), liveText(live)))
	}
	if len(frozenIn) == 0 && len(left) == 0 {
		notes = append(notes, "Underlag: alla år är räknade ur de pseudonymiserade raderna; inget år i tabellen är fryst.")
	}
	return notes
}

// liveText is the sentence naming the years counted from the lake.
func liveText(live []int) string {
	if len(live) == 0 {
		return ""
	}
	return " Övriga år (" + yearList(live) + ") är räknade ur de pseudonymiserade raderna."
}

// frozenOn names the days the years were frozen.
func frozenOn(frozen map[int]string, years []int) string {
	var days []string
	for _, y := range years {
		if d := frozen[y]; !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	return "frysta " + strings.Join(days, ", ")
}

// unfrozen returns the dimensions of by that the frozen aggregates lack.
func unfrozen(by []string) []string {
	var out []string
	for _, d := range by {
		if !frozenDims[d] {
			out = append(out, d)
		}
	}
	return out
}

func unfrozenLabels(by []string) []string {
	var out []string
	for _, d := range unfrozen(by) {
		out = append(out, dimensions[d].label)
	}
	return out
}

// yearList writes years (ascending) as runs: "2021–2023, 2025".
func yearList(years []int) string {
	var parts []string
	for i := 0; i < len(years); {
		j := i
		for j+1 < len(years) && years[j+1] == years[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(years[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d–%d", years[i], years[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// intList writes a DuckDB list literal of years.
func intList(years []int) string {
	s := make([]string, len(years))
	for i, y := range years {
		s[i] = strconv.Itoa(y)
	}
	return "[" + strings.Join(s, ", ") + "]"
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

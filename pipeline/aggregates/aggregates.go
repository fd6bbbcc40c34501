// Package aggregates computes and keeps gallra's frozen aggregates: the
// person-level statistics of one calendar year that need linkage
// (distinct participants, new entrants, persons whose participation ended
// and re-entries), computed once from the pseudonymised lake before
// retention takes the year's pseudonyms away, and kept afterwards as one
// Parquet file per year.
//
// Retention freezes a year Y (once, for all sources together) on the first
// run that anonymises or purges any row active in Y (started on or before
// 31 December Y, not ended before 1 January Y); the values are computed from
// the whole pseudonymised lake at that moment, and rows that arrive later
// for a frozen year do not change them. See docs/retention.md, "Frozen
// aggregates".
//
// Every statistic is broken down by source and measure, with a total
// (tables.Total, "TOTAL") in both, and each person counts once per cell:
// a person in two measures of one source counts once in that source's
// total. Every cell carries its cell key for the cell key method (the sum
// of its persons' record keys, as tables.Participants computes them), so
// that published tables keep their noise after the pseudonyms are gone.
// Unlinked rows (no pseudonym) count in no statistic.
//
// The definitions are those of the statistics suite (pipeline/stats/sql):
// participants.sql, new_entrants.sql and reentry.sql, whose queries return
// these frozen values for frozen years.
package aggregates

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/transforms/disclosure"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// Statistic names.
const (
	// Participants: distinct persons with a participation active at some
	// time in the year (participants.sql).
	Participants = "participants"
	// NewEntrants: persons whose first start ever (among the lake's linkable
	// rows, over all sources and measures) is in the year, counted under the
	// source and measure of that first participation; a tie on the first day
	// goes to the alphabetically first measure, then source
	// (new_entrants.sql).
	NewEntrants = "new_entrants"
	// Reentries: persons with a participation ending in the year that is
	// followed by a start of the same person (any source, any measure) after
	// the end and within 365 days of it, counted under the source and
	// measure of the ended participation (reentry.sql, reentered_persons).
	Reentries = "reentries"
	// Ended: persons with a participation ending in the year, under the
	// source and measure of the ended participation: the base that
	// Reentries is a part of (reentry.sql, ended_persons).
	Ended = "ended"
)

// Statistics lists the statistic names, in the order cells are sorted.
var Statistics = []string{Ended, NewEntrants, Participants, Reentries}

// Cell is one frozen aggregate cell. Source and Measure are tables.Total
// ("TOTAL") for the margin over all.
type Cell struct {
	Year      int
	Source    string
	Measure   string
	Statistic string
	Value     int64
	CellKey   disclosure.Key // sum of the persons' record keys (tables.CellKeyDomain), as tables.Participants computes them
}

// queries select, for one statistic, the (year, person, source, measure)
// base cells of the years asked for: %[1]s is the view, %[2]s the years as a
// SQL list ("2016, 2017"), %[3]d and %[4]d the first and last of them. Each
// must order by year, then person. All the years come from one pass over
// the view: a first retention on a lake of ten years freezes ten of them.
var queries = map[string]string{
	Participants: `SELECT year, pid::VARCHAR AS p, source, measure FROM (
    SELECT DISTINCT t.year::INTEGER AS year, pseudonym AS pid, source, measure
    FROM %[1]s, unnest(range(greatest(year(period_start), %[3]d),
                             least(coalesce(year(period_end), %[4]d), %[4]d) + 1)) t(year)
    WHERE pseudonym IS NOT NULL
      AND period_start <= make_date(%[4]d, 12, 31)
      AND (period_end IS NULL OR period_end >= make_date(%[3]d, 1, 1))
      AND t.year IN (%[2]s))
ORDER BY year, pid`,
	// A person's first row is the least (start, measure, source): each
	// measure and source pair's place in alphabetical order (rank) makes
	// that one number, days above the rank, whose minimum gives the first
	// row's pair back (an arg_min over a struct took 60% more memory).
	NewEntrants: `WITH ranks AS (
    SELECT measure, source, row_number() OVER (ORDER BY measure, source) AS rank
    FROM (SELECT DISTINCT measure, source FROM %[1]s WHERE pseudonym IS NOT NULL)
)
SELECT year(f.first_start)::INTEGER AS year, f.pid::VARCHAR AS p, k.source, k.measure
FROM (SELECT l.pseudonym AS pid, min(l.period_start) AS first_start,
             min((l.period_start - DATE '1970-01-01')::BIGINT * 4294967296 + k.rank) AS first
      FROM %[1]s l
      JOIN ranks k ON k.measure = l.measure AND k.source = l.source
      WHERE l.pseudonym IS NOT NULL
      GROUP BY l.pseudonym) f
JOIN ranks k ON k.rank = f.first - (f.first_start - DATE '1970-01-01')::BIGINT * 4294967296
WHERE year(f.first_start) IN (%[2]s)
ORDER BY year, f.pid`,
	Ended: `SELECT year, pid::VARCHAR AS p, source, measure FROM (
    SELECT DISTINCT year(period_end)::INTEGER AS year, pseudonym AS pid, source, measure
    FROM %[1]s
    WHERE pseudonym IS NOT NULL AND period_end IS NOT NULL AND year(period_end) IN (%[2]s))
ORDER BY year, pid`,
	// An ended row counts when one of its person's rows starts 1 to 365
	// days after its end: a count over a frame of start days in a window
	// over the person's rows (as the suite's stats_ends), not a self-join,
	// which held the whole lake in a hash table.
	Reentries: `SELECT year, pid::VARCHAR AS p, source, measure FROM (
    SELECT DISTINCT year(period_end)::INTEGER AS year, pseudonym AS pid, source, measure
    FROM (SELECT pseudonym, source, measure, period_end,
                 count(*) OVER (PARTITION BY pseudonym ORDER BY period_start
                     RANGE BETWEEN (coalesce(period_end, period_start) - period_start + 1)::INTEGER FOLLOWING
                           AND (coalesce(period_end, period_start) - period_start + 365)::INTEGER FOLLOWING) AS later
          FROM %[1]s WHERE pseudonym IS NOT NULL)
    WHERE later > 0 AND period_end IS NOT NULL AND year(period_end) IN (%[2]s))
ORDER BY year, pid`,
}

// Compute freezes year: every statistic by source × measure with TOTAL
// margins (each person once per cell), from the view named view ("lake"
// normally; erasure passes a view holding one person's rows). The view
// needs the columns of duck.LakeView's "lake": pseudonym, source, measure,
// period_start and period_end. key is the lake's key, from which record
// keys are derived.
//
// Cells come back sorted by (Statistic, Source, Measure). Only cells with
// at least one person are returned, except the TOTAL × TOTAL cell of every
// statistic, which is always there (value 0 when nobody counts), so a
// frozen year is never without cells.
//
// A DuckDB TEMP view belongs to the connection that made it, and db is a
// pool: a caller passing a temporary view must keep db at one connection.
func Compute(ctx context.Context, db *sql.DB, key pseudonym.Key, view string, year int) ([]Cell, error) {
	byYear, err := ComputeYears(ctx, db, key, view, []int{year})
	if err != nil {
		return nil, err
	}
	return byYear[year], nil
}

// ComputeYears is Compute for several years at once, each statistic in one
// pass over the view for all of them; the rows stream from DuckDB, one
// person at a time, so memory follows the cells, not the persons. The
// result has an entry for every year asked for, as Compute returns it.
func ComputeYears(ctx context.Context, db *sql.DB, key pseudonym.Key, view string, years []int) (map[int][]Cell, error) {
	if len(years) == 0 {
		return map[int][]Cell{}, nil
	}
	lo, hi := years[0], years[0]
	list := make([]string, len(years))
	for i, y := range years {
		if y < 1900 || y > 9999 {
			return nil, fmt.Errorf("aggregates: year %d out of range", y)
		}
		lo, hi = min(lo, y), max(hi, y)
		list[i] = strconv.Itoa(y)
	}
	if view == "" {
		return nil, fmt.Errorf("aggregates: no view named")
	}
	recordKey, err := tables.RecordKeys(key)
	if err != nil {
		return nil, fmt.Errorf("aggregates: %w", err)
	}
	ident := `"` + strings.ReplaceAll(view, `"`, `""`) + `"`
	type cellID struct {
		year            int
		source, measure string
	}
	out := make(map[int][]Cell, len(years))
	for _, stat := range Statistics {
		cells := map[cellID]*Cell{}
		for _, y := range years {
			cells[cellID{y, tables.Total, tables.Total}] = &Cell{Year: y, Source: tables.Total, Measure: tables.Total, Statistic: stat}
		}
		// One person of one year at a time (rows are sorted by year and
		// person): the set of cells they belong to, margins included, each
		// counted once.
		mine := map[cellID]bool{}
		flush := func(p string) {
			if p == "" {
				return
			}
			k := recordKey(p)
			for id := range mine {
				c := cells[id]
				if c == nil {
					c = &Cell{Year: id.year, Source: id.source, Measure: id.measure, Statistic: stat}
					cells[id] = c
				}
				c.Value++
				c.CellKey = c.CellKey.Add(k)
			}
			clear(mine)
		}
		err := func() error {
			rows, err := db.QueryContext(ctx, fmt.Sprintf(queries[stat], ident, strings.Join(list, ", "), lo, hi))
			if err != nil {
				return err
			}
			defer rows.Close()
			prevYear, prev := 0, ""
			var (
				year     int
				p        string
				src, msr sql.NullString
			)
			for rows.Next() {
				if err := rows.Scan(&year, &p, &src, &msr); err != nil {
					return err
				}
				if year != prevYear || p != prev {
					flush(prev)
					prevYear, prev = year, p
				}
				mine[cellID{year, src.String, msr.String}] = true
				mine[cellID{year, src.String, tables.Total}] = true
				mine[cellID{year, tables.Total, msr.String}] = true
				mine[cellID{year, tables.Total, tables.Total}] = true
			}
			if err := rows.Err(); err != nil {
				return err
			}
			flush(prev)
			return nil
		}()
		if err != nil {
			return nil, fmt.Errorf("aggregates: %s %d–%d: %w", stat, lo, hi, err)
		}
		for _, c := range cells {
			out[c.Year] = append(out[c.Year], *c)
		}
	}
	for y := range out {
		sortCells(out[y])
	}
	return out, nil
}

// Subtract removes contributions from frozen cells and returns the result
// (frozen itself is not changed): for every cell of frozen, the value and
// cell key of the contrib cell with the same year, statistic, source and
// measure are subtracted (keys modulo 2⁶⁴, as they add). Cells of contrib
// that frozen does not have are ignored.
//
// contrib is what Compute returns over one person's rows. It must come
// from the rows the frozen values were computed from: a row of the person
// that arrived after the year was frozen, or one already anonymised, makes
// the contribution differ from what was counted, and a value may go below
// zero (which Write refuses).
func Subtract(frozen, contrib []Cell) []Cell {
	type id struct {
		year                       int
		statistic, source, measure string
	}
	minus := make(map[id]Cell, len(contrib))
	for _, c := range contrib {
		k := id{c.Year, c.Statistic, c.Source, c.Measure}
		m := minus[k]
		m.Value += c.Value
		m.CellKey = m.CellKey.Add(c.CellKey)
		minus[k] = m
	}
	out := slices.Clone(frozen)
	for i, c := range out {
		if m, ok := minus[id{c.Year, c.Statistic, c.Source, c.Measure}]; ok {
			out[i].Value -= m.Value
			out[i].CellKey -= m.CellKey
		}
	}
	return out
}

// sortCells sorts by (Statistic, Source, Measure), then Year.
func sortCells(cells []Cell) {
	slices.SortFunc(cells, func(a, b Cell) int {
		return cmp.Or(strings.Compare(a.Statistic, b.Statistic), strings.Compare(a.Source, b.Source),
			strings.Compare(a.Measure, b.Measure), cmp.Compare(a.Year, b.Year))
	})
}

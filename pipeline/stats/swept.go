package stats

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/stats/sweep"
)

// sweptInputs are the shared inputs package sweep computes, in
// prepare.sql's order.
var sweptInputs = []string{"stats_firsts", "stats_person_years", "stats_ends"}

// sweep computes the inputs names (of sweptInputs) with package sweep over
// the lake at lakeDir and puts each in its view's place as a temporary
// table of the view's own columns and types.
func (p *Prepared) sweep(ctx context.Context, lakeDir string, s Span, names []string) error {
	t := time.Now()
	files, err := duck.LakeFiles(lakeDir)
	if err != nil {
		return fmt.Errorf("stats: prepare: %w", err)
	}
	cats, err := p.categories(ctx)
	if err != nil {
		return err
	}
	// The pass's bucket files go where DuckDB spills, and it takes as
	// many cores as the session.
	var tempDir string
	var threads int
	if err := p.conn.QueryRowContext(ctx, "SELECT current_setting('temp_directory'), current_setting('threads')").Scan(&tempDir, &threads); err != nil {
		return fmt.Errorf("stats: prepare: %w", err)
	}
	if _, err := os.Stat(tempDir); err != nil {
		// DuckDB makes its directory when it first spills (and removes it
		// only if it made it): the pass's own goes next to it.
		tempDir = filepath.Dir(tempDir)
	}
	s = s.withDefaults() // as setSpan gave the SQL
	res, err := sweep.Run(ctx, sweep.Options{
		Files: files, FromYear: s.FromYear, ToYear: s.ToYear, WithinDays: s.WithinDays, By: s.By,
		Categories: cats, TempDir: tempDir, Workers: threads,
	})
	if err != nil {
		return fmt.Errorf("stats: prepare: %w", err)
	}
	p.SweepTook = time.Since(t)
	name := func(slot int) driver.Value {
		if cats[slot].Null {
			return nil
		}
		return cats[slot].Name
	}
	for _, in := range names {
		var rows [][]driver.Value
		switch in {
		case "stats_firsts": // year, category, active_1y, active_2y, active_3y, persons, last_first
			for _, f := range res.Firsts {
				rows = append(rows, []driver.Value{int32(f.Year), name(f.Slot),
					f.Active[0], f.Active[1], f.Active[2], f.Persons, lake.DateOf(f.LastFirst)})
			}
		case "stats_person_years": // category, year, month_ends, persons
			for _, y := range res.PersonYears {
				rows = append(rows, []driver.Value{name(y.Slot), int32(y.Year), int32(y.MonthEnds), y.Persons})
			}
		case "stats_ends": // year, slot, reentered, next_slots, persons
			for _, e := range res.Ends {
				var next driver.Value
				if !res.NextSlotsNull {
					n := new(big.Int).SetUint64(e.NextSlots[1])
					next = n.Lsh(n, 64).Or(n, new(big.Int).SetUint64(e.NextSlots[0]))
				}
				rows = append(rows, []driver.Value{int32(e.Year), int32(e.Slot), e.Reentered, next, e.Persons})
			}
		}
		t := time.Now()
		if err := p.load(ctx, in, rows); err != nil {
			return err
		}
		p.Inputs = append(p.Inputs, in)
		p.InputTook = append(p.InputTook, time.Since(t))
	}
	return nil
}

// categories reads stats_categories (the view, or the table Prepare made)
// in slot order.
func (p *Prepared) categories(ctx context.Context) ([]sweep.Category, error) {
	rows, err := p.conn.QueryContext(ctx, "SELECT category, slot FROM stats_categories ORDER BY slot")
	if err != nil {
		return nil, fmt.Errorf("stats: prepare: stats_categories: %w", err)
	}
	defer rows.Close()
	var cats []sweep.Category
	for rows.Next() {
		var c sql.NullString
		var slot int
		if err := rows.Scan(&c, &slot); err != nil {
			return nil, fmt.Errorf("stats: prepare: stats_categories: %w", err)
		}
		if slot != len(cats) {
			return nil, fmt.Errorf("stats: prepare: stats_categories: slot %d where %d was due", slot, len(cats))
		}
		cats = append(cats, sweep.Category{Name: c.String, Null: !c.Valid})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: prepare: stats_categories: %w", err)
	}
	return cats, nil
}

// load makes the table of input name, with its view's columns and types,
// from rows (a value per column), and puts it in the view's place.
func (p *Prepared) load(ctx context.Context, name string, rows [][]driver.Value) error {
	table := name + "__prepared"
	if _, err := p.conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+table+" AS SELECT * FROM "+name+" WHERE false"); err != nil {
		return fmt.Errorf("stats: prepare %s: %w", name, err)
	}
	if err := duck.Append(ctx, p.conn, "temp", "main", table, rows); err != nil {
		return fmt.Errorf("stats: prepare %s: %w", name, err)
	}
	for _, st := range []string{"DROP VIEW " + name, "ALTER TABLE " + table + " RENAME TO " + name} {
		if _, err := p.conn.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("stats: prepare %s: %w", name, err)
		}
	}
	return nil
}

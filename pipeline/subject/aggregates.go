package subject

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gallra/gallra/pipeline/aggregates"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// personView is the temporary view that holds the persons' rows for
// aggregates.Compute.
const personView = "subject_rows_before_freeze"

// eraseAggregates takes the persons' contributions out of the frozen
// aggregates, in the operation's commit.
//
// The rule: a person's contribution to a frozen year can only be traced
// through their rows still in the pseudonymised tier. For each frozen year,
// it is computed with aggregates.Compute over those of the persons' rows
// that were written no later than the run that froze the year (a row
// written after the freeze was not counted in it), and subtracted from the
// year's cells (aggregates.Subtract). Rows already anonymised hold no
// person: whatever they contributed stays. A cell is never taken below
// zero; a subtraction that would is clamped and counted
// (aggregate_cells_clamped), a sign that some of what the person
// contributed came from rows no longer linked to them.
//
// A year whose cells change is written anew (same frozen_by_run and
// frozen_on, so the freeze stays on record; the run log records the
// erasure) and its old file removed. Counts: aggregate_years_changed,
// aggregate_cells_changed, aggregate_cells_clamped.
func eraseAggregates(ctx context.Context, tx *lakeop.Tx, key pseudonym.Key, found []match, dryRun bool) error {
	files := tx.Base.TableFiles(lake.TableAggregates)
	tx.Log.Count("aggregate_years_changed", 0)
	tx.Log.Count("aggregate_cells_changed", 0)
	if len(files) == 0 || len(found) == 0 {
		return nil
	}
	years := map[int]int{}
	for _, f := range files {
		years[f.Partition.StartYear]++
		if years[f.Partition.StartYear] > 1 {
			return fmt.Errorf("subject: frozen year %d has more than one aggregates file; run gallra check", f.Partition.StartYear)
		}
	}
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the temporary table and view live in one connection
	if err := loadRows(ctx, db, found); err != nil {
		return err
	}
	for _, f := range files {
		year := f.Partition.StartYear
		cells, frozenBy, frozenOn, err := aggregates.ReadFile(filepath.Join(tx.Lake, filepath.FromSlash(f.Path)))
		if err != nil {
			return fmt.Errorf("subject: frozen aggregates %s: %w", f.Path, err)
		}
		// A view cannot take parameters: the run ID goes in as a quoted literal.
		if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TEMP VIEW `+personView+` AS
			SELECT pseudonym, source, measure, period_start, period_end FROM subject_rows
			WHERE run_id <= '`+strings.ReplaceAll(frozenBy, "'", "''")+`'`); err != nil {
			return fmt.Errorf("subject: %w", err)
		}
		contrib, err := aggregates.Compute(ctx, db, key, personView, year)
		if err != nil {
			return fmt.Errorf("subject: %w", err)
		}
		after := aggregates.Subtract(cells, contrib)
		changed, clamped := 0, 0
		for i := range after {
			if after[i].Value < 0 {
				after[i].Value = 0
				clamped++
			}
			if after[i] != cells[i] {
				changed++
			}
		}
		tx.Log.Count("aggregate_cells_clamped", int64(clamped))
		if changed == 0 {
			continue
		}
		// A cell nobody is left in goes, as Compute would not have made it;
		// the TOTAL × TOTAL cell of each statistic always stays.
		after = slices.DeleteFunc(after, func(c aggregates.Cell) bool {
			return c.Value == 0 && c.CellKey == 0 && (c.Source != tables.Total || c.Measure != tables.Total)
		})
		tx.Log.Count("aggregate_years_changed", 1)
		tx.Log.Count("aggregate_cells_changed", int64(changed))
		if dryRun {
			continue
		}
		p := lake.Partition{Table: lake.TableAggregates, StartYear: year}
		_, err = tx.StageFile(p, "part-"+tx.RunID+".parquet", func(w io.Writer) (int64, error) {
			return aggregates.Write(w, after, frozenBy, frozenOn)
		})
		if err != nil {
			return fmt.Errorf("subject: frozen aggregates %d: %w", year, err)
		}
		tx.Remove(f.Path)
	}
	return nil
}

// loadRows puts the persons' rows into the temporary table subject_rows of
// db's one connection. The in-memory database is closed, and the rows gone,
// when the operation ends; nothing of it is written anywhere.
func loadRows(ctx context.Context, db *sql.DB, found []match) error {
	if _, err := db.ExecContext(ctx, `CREATE TEMP TABLE subject_rows (pseudonym UUID, source VARCHAR, measure VARCHAR,
		period_start DATE, period_end DATE, run_id VARCHAR)`); err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	stmt, err := db.PrepareContext(ctx, `INSERT INTO subject_rows VALUES (?::UUID, ?, ?, ?::DATE, ?::DATE, ?)`)
	if err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	defer stmt.Close()
	for _, m := range found {
		r := m.row
		var end any
		if r.PeriodEnd != nil {
			end = lake.DateOf(*r.PeriodEnd).Format(time.DateOnly)
		}
		if _, err := stmt.ExecContext(ctx, pseudonym.Pseudonym(*r.Pseudonym).String(), m.p.Source, r.Measure,
			lake.DateOf(r.PeriodStart).Format(time.DateOnly), end, r.RunID); err != nil {
			// DuckDB's message could quote the values: keep it out.
			return fmt.Errorf("subject: loading the persons' rows into DuckDB failed")
		}
	}
	return nil
}

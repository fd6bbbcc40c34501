package subject

import (
	"context"
	"errors"
	"fmt"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// Erasure is what Erase did (or, in a dry run, would do). It refers to
// persons by request line number only.
type Erasure struct {
	// Log is the run-log entry: kind "subject-erase", the reference, the
	// outcome ("ok", "nothing" when no row was found, "dry-run") and the
	// counts (see Erase).
	Log *lakeop.Log
	// Lines says, per request line, how many rows were (or would be)
	// erased; a line naming the same person as an earlier one has SameAs
	// set and Rows 0.
	Lines []EraseLine
	// Exports are the raw exports still in an inbox or the done folder that
	// hold any of the persons. Erase does not change them: the operator
	// must delete them (or ask the source system for a new export).
	Exports []ExportFile
	// Unscannable are exports that could not be read to look (unreadable,
	// or a header without the schema's identifier column): the operator
	// must check them by hand. An export whose header drifted otherwise is
	// scanned by its identifier column.
	Unscannable []ExportFile
}

// EraseLine is the outcome for one request line.
type EraseLine struct {
	Line   int `json:"request_line"`
	SameAs int `json:"same_person_as_line,omitempty"`
	Rows   int `json:"rows"`
}

// Erase removes the rows of the request's persons from the pseudonymised
// tier of job's lake, as one lake operation of kind "subject-erase" with
// opt.Reference (required; see CheckReference) in the run log. Only the
// partitions holding such rows are rewritten (tx.Rewrite); every other
// file stays as it is. key must be the key the request was read with.
//
// The same commit subtracts the persons' contributions from frozen
// aggregates, as far as they can be traced (see docs/subjects.md, "Frozen
// aggregates"). Raw exports still in a source's inbox or in the done folder
// are scanned and those holding any of the persons are listed in the
// result; they are not changed.
//
// Counts in the run log: persons_requested, persons_found, rows_erased,
// partitions_rewritten, export_files_scanned, export_files_holding_persons,
// export_files_unscannable, and rows_under_other_keys (linked rows made with
// a key that is not a generation of this key, which it cannot find; rows of
// an older generation of a rotated key are found). With opt.DryRun nothing is
// committed and the counts say what would be done.
func Erase(ctx context.Context, job *config.Job, key pseudonym.Key, q *Request, opt Options) (*Erasure, error) {
	if err := CheckReference(opt.Reference); err != nil {
		return nil, err
	}
	pz, err := NewPseudonymizer(job, key)
	if err != nil {
		return nil, err
	}
	if pz.KeyID() != q.KeyID {
		return nil, errors.New("subject: the request was read with another key than the one given to Erase")
	}
	res := &Erasure{}
	log, err := lakeop.Do(ctx, job.Lake, func(ctx context.Context, tx *lakeop.Tx) error {
		found, other, err := find(tx.Lake, tx.Base, q)
		if err != nil {
			return err
		}
		perLine := make([]int, len(q.Lines))
		affected := map[lake.Partition]bool{}
		for _, m := range found {
			perLine[m.line]++
			affected[m.p] = true
		}
		persons := 0
		for i, l := range q.Lines {
			res.Lines = append(res.Lines, EraseLine{Line: l.Line, SameAs: l.SameAs, Rows: perLine[i]})
			if perLine[i] > 0 {
				persons++
			}
		}
		tx.Log.Count("persons_requested", int64(q.Persons()))
		tx.Log.Count("persons_found", int64(persons))
		tx.Log.Count("rows_erased", int64(len(found)))
		tx.Log.Count("partitions_rewritten", int64(len(affected)))
		tx.Log.Count("rows_under_other_keys", other)

		if !opt.DryRun && len(found) > 0 {
			dropped, _, err := tx.Rewrite(func(p lake.Partition) bool { return affected[p] },
				func(p lake.Partition, r lake.Row) (lake.Row, bool, error) {
					_, hit, _ := q.matchRow(&r)
					return r, !hit, nil
				})
			if err != nil {
				return err
			}
			if dropped != int64(len(found)) {
				return fmt.Errorf("subject: found %d rows to erase but the rewrite dropped %d; nothing was committed", len(found), dropped)
			}
		}

		if err := eraseAggregates(ctx, tx, key, found, opt.DryRun); err != nil {
			return err
		}

		ex, err := scanExports(job, q, pz, q.Reference)
		if err != nil {
			return fmt.Errorf("subject: scanning exports: %w", err)
		}
		res.Exports, res.Unscannable = ex.holding, ex.unscannable
		tx.Log.Count("export_files_scanned", int64(ex.scanned))
		tx.Log.Count("export_files_holding_persons", int64(len(ex.holding)))
		tx.Log.Count("export_files_unscannable", int64(len(ex.unscannable)))
		return nil
	}, lakeop.Options{Kind: KindErase, Reference: opt.Reference, KeyID: q.KeyID, DryRun: opt.DryRun, Now: opt.Now, Logger: opt.Logger})
	res.Log = log
	if log != nil {
		c := log.Counts
		opt.logger().Info("subject erase", "run_id", log.RunID, "outcome", log.Outcome, "dry_run", opt.DryRun,
			"persons_requested", c["persons_requested"], "persons_found", c["persons_found"],
			"rows_erased", c["rows_erased"], "partitions_rewritten", c["partitions_rewritten"],
			"aggregate_cells_changed", c["aggregate_cells_changed"],
			"export_files_holding_persons", c["export_files_holding_persons"],
			"export_files_unscannable", c["export_files_unscannable"])
		if c["rows_under_other_keys"] > 0 {
			opt.logger().Warn("the lake holds linked rows made with another key; this key cannot find its persons there",
				"rows_under_other_keys", c["rows_under_other_keys"], "key_id", q.KeyID)
		}
	}
	if err != nil {
		return res, err
	}
	return res, nil
}

// Package retain applies the sources' retention policies to the lake: the
// tiers of transforms/retention made real.
//
// One retention run (Apply) is one lake operation (lakeop, kind "retain"):
// under the lake's lock, from the committed generation, as one manifest
// switch. It
//
//  1. plans: for every pseudonymised row of a source with a policy, and every
//     anonymised row, what the policy says on the day (stay, anonymise,
//     purge), from a grouped DuckDB query over the lake's views;
//  2. freezes every closed calendar year (before the day's year) that a
//     leaving row (anonymised or purged) is active in and that is not frozen
//     yet: aggregates.Compute over the
//     whole pseudonymised lake as it is before anything leaves, written as
//     aggregates/year=<Y>/part-<run>.parquet;
//  3. rewrites every pseudonymised partition that loses rows without them,
//     and writes each anonymised partition that gains or loses rows anew:
//     its kept rows and the newly anonymised ones (pseudonym, key ID, record
//     key, identifier kind and run gone; the period coarsened to the
//     policy's granularity; only keep_anonymised attributes; a random cell
//     key);
//  4. commits all of it at once, with the counts per source in the run log
//     (never a value).
//
// A pseudonymised row past its deadline whose coarsened period is already
// past the policy's kept span is purged directly, never written anonymised.
// An anonymised row goes when the day is past kept after its coarsened end
// (retention.Policy.AnonymisedPurged): up to one period early, never late.
// Rows of sources without a policy, or not in the job, are left alone, but
// count in the frozen aggregates.
package retain

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gallra/gallra/pipeline/aggregates"
	"github.com/gallra/gallra/pipeline/anonymised"
	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/transforms/pseudonym"
	"github.com/gallra/gallra/transforms/retention"
)

// Kind is the run-log kind of a retention run.
const Kind = "retain"

// Names of the run-log counts (totals in Log.Counts, per source in
// Details.Sources).
const (
	CountAnonymised         = "rows_anonymised"            // pseudonymised rows moved to the anonymised tier
	CountPurged             = "rows_purged"                // pseudonymised rows removed without an anonymised trace
	CountAnonymisedPurged   = "anonymised_rows_purged"     // anonymised rows removed
	CountYearsFrozen        = "years_frozen"               // calendar years whose aggregates this run froze
	CountRowsForFrozenYears = "rows_for_frozen_years_live" // pseudonymised rows left that are active in a frozen year
	CountPseudonymisedKept  = "rows_pseudonymised"         // pseudonymised rows left
	CountAnonymisedRowsLeft = "rows_anonymised_kept"       // anonymised rows left
)

// Source is one source's counts of a retention run.
type Source struct {
	Source string `json:"source"`
	Policy string `json:"policy"` // "" when the source has no policy (or is not in the job)
	// Pseudonymised is the number of pseudonymised rows the source keeps
	// after the run.
	Pseudonymised int64 `json:"rows_pseudonymised"`
	// Anonymised and Purged are the pseudonymised rows that left.
	Anonymised int64 `json:"rows_anonymised"`
	Purged     int64 `json:"rows_purged"`
	// AnonymisedKept and AnonymisedPurged are the source's anonymised rows
	// after the run, and those the run removed.
	AnonymisedKept   int64 `json:"rows_anonymised_kept"`
	AnonymisedPurged int64 `json:"anonymised_rows_purged"`
	// ForFrozenYears is the number of pseudonymised rows kept that are
	// active in a frozen year (frozen by this run or before): rows a later
	// statistic of that year reads from the frozen aggregates instead.
	ForFrozenYears int64 `json:"rows_for_frozen_years_live"`
}

// Details is what a retention run records in its run-log entry besides the
// totals: the day it applied, the years it froze, and per-source counts.
type Details struct {
	Today       string   `json:"today"`
	YearsFrozen []int    `json:"years_frozen,omitempty"`
	Frozen      []int    `json:"frozen_years"` // every frozen year after the run
	Sources     []Source `json:"sources"`
}

// Options for Apply.
type Options struct {
	// DryRun plans and counts, and changes nothing (the run log records a
	// "dry-run" entry).
	DryRun bool
	// Now is the clock of the run log (time.Now if nil); the retention day
	// is Apply's today.
	Now func() time.Time
	// Logger gets progress (slog.Default if nil).
	Logger *slog.Logger
	// MemoryLimit is DuckDB's memory limit for the run (duck.Options;
	// duck.DefaultMemoryLimit if empty). Freezing many years at once, as
	// the first retention on a lake does, needs the most: a 10M-row lake's
	// ran within 256 MB, and the need grows with the lake.
	MemoryLimit string
}

// Result is what a retention run did (or, dry, would do).
type Result struct {
	Log     *lakeop.Log
	Details Details
}

// Apply applies every configured source's retention policy to the lake of
// job on day today (its calendar date counts) as one lake operation. key is
// the lake's key: the frozen aggregates' cell keys are derived from the
// record keys under it. It returns the run-log entry and the counts; the
// error is for a run that committed nothing (lakeop.ErrLocked if another run
// holds the lake).
func Apply(ctx context.Context, job *config.Job, key pseudonym.Key, today time.Time, opt Options) (*Result, error) {
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	res := &Result{Details: Details{Today: today.Format(time.DateOnly)}}
	fn := func(ctx context.Context, tx *lakeop.Tx) error {
		return apply(ctx, tx, job, key, today, opt, res)
	}
	var keyID string
	if !key.IsZero() {
		keyID = key.ID()
	}
	log, err := lakeop.Do(ctx, job.Lake, func(ctx context.Context, tx *lakeop.Tx) error {
		// The frozen cell keys are derived from the pseudonyms under the
		// key: only the generation the lake is at may freeze.
		if !key.IsZero() {
			if err := keyfile.CheckLake(key, tx.Base.KeyID); err != nil {
				return err
			}
		}
		err := fn(ctx, tx)
		tx.Log.Details = &res.Details
		return err
	}, lakeop.Options{Kind: Kind, KeyID: keyID, DryRun: opt.DryRun, Now: opt.Now, Logger: opt.Logger})
	res.Log = log
	return res, err
}

// action is what happens to one row.
type action int

const (
	keep action = iota
	anonymise
	purge
)

// pseudonymisedAction decides a pseudonymised row's fate on today.
func pseudonymisedAction(p *retention.Policy, today time.Time, start int32, end, linkableUntil *int32) action {
	if p == nil {
		return keep
	}
	var e, lu time.Time
	if end != nil {
		e = lake.DateOf(*end)
	}
	if linkableUntil != nil {
		lu = lake.DateOf(*linkableUntil)
	}
	if p.TierOn(today, e, lu) == retention.Pseudonymised {
		return keep
	}
	cs, ce := coarsen(p.Granularity, start, end)
	var cet time.Time
	if ce != nil {
		cet = lake.DateOf(*ce)
	}
	if p.AnonymisedPurged(today, lake.DateOf(cs), cet) {
		return purge
	}
	return anonymise
}

// anonymisedPurged decides whether an anonymised row goes on today.
func anonymisedPurged(p *retention.Policy, today time.Time, start int32, end *int32) bool {
	if p == nil {
		return false
	}
	var e time.Time
	if end != nil {
		e = lake.DateOf(*end)
	}
	return p.AnonymisedPurged(today, lake.DateOf(start), e)
}

func coarsen(g retention.Granularity, start int32, end *int32) (int32, *int32) {
	cs := lake.Date(retention.Coarsen(lake.DateOf(start), g))
	if end == nil {
		return cs, nil
	}
	ce := lake.Date(retention.Coarsen(lake.DateOf(*end), g))
	return cs, &ce
}

// anonymiseRow makes the anonymised row of r: measure, coarsened period,
// the kept attributes, a random cell key. Nothing else of r goes in.
func anonymiseRow(p *retention.Policy, r *lake.Row, runID string) anonymised.Row {
	cs, ce := coarsen(p.Granularity, r.PeriodStart, r.PeriodEnd)
	a := anonymised.Row{Measure: r.Measure, PeriodStart: cs, PeriodEnd: ce, Granularity: p.Granularity,
		CellKey: anonymised.NewCellKey(), AnonymisedByRun: runID}
	for _, k := range p.KeepAnonymised {
		switch k {
		case "sex":
			a.Sex = r.Sex
		case "age_band":
			a.AgeBand = r.AgeBand
		case "municipality":
			a.Municipality = r.Municipality
		}
	}
	return a
}

// partKey names a (source, start year) pair, in either tier.
type partKey struct {
	source string
	year   int
}

// partPlan is what happens to one (source, start year) pair.
type partPlan struct {
	keep, anonymise, purge int64 // pseudonymised rows
	anonKeep, anonPurge    int64 // anonymised rows already there
}

func (p *partPlan) pseudonymisedChanges() bool { return p.anonymise+p.purge > 0 }
func (p *partPlan) anonymisedChanges() bool    { return p.anonymise+p.anonPurge > 0 }

func apply(ctx context.Context, tx *lakeop.Tx, job *config.Job, key pseudonym.Key, today time.Time, opt Options, res *Result) error {
	dry := opt.DryRun
	policies := map[string]*retention.Policy{}
	for _, s := range job.Sources {
		policies[s.Name] = s.Retention
	}
	db, err := duck.Open(ctx, duck.Options{ReadOnlyLake: true, LakeDir: tx.Lake, MemoryLimit: opt.MemoryLimit})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, tx.Lake); err != nil {
		return err
	}
	frozen := map[int]bool{}
	for _, f := range tx.Base.TableFiles(lake.TableAggregates) {
		frozen[f.Partition.StartYear] = true
	}

	// 1. Plan.
	plans := map[partKey]*partPlan{}
	get := func(k partKey) *partPlan {
		if plans[k] == nil {
			plans[k] = &partPlan{}
		}
		return plans[k]
	}
	type keptSpan struct {
		source   string
		from, to int // active years; to = 9999 while ongoing
		n        int64
	}
	var kept []keptSpan
	toFreeze := map[int]bool{}
	err = groups(ctx, db, `SELECT source, start_year, period_start - DATE '1970-01-01', period_end - DATE '1970-01-01', linkable_until - DATE '1970-01-01', count(*)
		FROM (SELECT source, start_year, CASE WHEN period_end IS NULL THEN period_start ELSE make_date(start_year, 1, 1) END AS period_start,
		             period_end, linkable_until FROM lake)
		GROUP BY ALL`, func(src string, year int, d []*int32, n int64) error {
		start, end, lu := *d[0], d[1], d[2]
		pl := get(partKey{src, year})
		// The grouped start is the row's own only for ongoing rows, the
		// only ones whose fate depends on it (fewer groups).
		a := pseudonymisedAction(policies[src], today, start, end, lu)
		to := 9999
		if end != nil {
			to = lake.DateOf(*end).Year()
		}
		switch a {
		case keep:
			pl.keep += n
			kept = append(kept, keptSpan{src, year, to, n})
		case anonymise, purge:
			if a == anonymise {
				pl.anonymise += n
			} else {
				pl.purge += n
			}
			if end == nil {
				to = today.Year()
			}
			// Only closed years freeze: an open year's rows may still
			// arrive, and freezing it would stop counting them (for every
			// source). A row leaving during its open year is lost to that
			// year's person counts; see docs/retention.md.
			for y := year; y <= to && y < today.Year(); y++ {
				if !frozen[y] {
					toFreeze[y] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = groups(ctx, db, `SELECT source, start_year, period_start - DATE '1970-01-01', period_end - DATE '1970-01-01', count(*)
		FROM anonymised GROUP BY ALL`, func(src string, year int, d []*int32, n int64) error {
		pl := get(partKey{src, year})
		if anonymisedPurged(policies[src], today, *d[0], d[1]) {
			pl.anonPurge += n
		} else {
			pl.anonKeep += n
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Counts, per source in the job's order, then sources not in the job.
	years := slices.Sorted(mapKeys(toFreeze))
	res.Details.YearsFrozen = years
	for y := range toFreeze {
		frozen[y] = true
	}
	res.Details.Frozen = slices.Sorted(mapKeys(frozen))
	index := map[string]int{}
	addSource := func(name string) *Source {
		if i, ok := index[name]; ok {
			return &res.Details.Sources[i]
		}
		s := Source{Source: name}
		if p := policies[name]; p != nil {
			s.Policy = p.Name
		}
		index[name] = len(res.Details.Sources)
		res.Details.Sources = append(res.Details.Sources, s)
		return &res.Details.Sources[len(res.Details.Sources)-1]
	}
	for _, s := range job.Sources {
		addSource(s.Name)
	}
	keys := slices.SortedFunc(mapKeys(plans), func(a, b partKey) int {
		if a.source != b.source {
			return strings.Compare(a.source, b.source)
		}
		return a.year - b.year
	})
	for _, k := range keys {
		pl := plans[k]
		s := addSource(k.source)
		s.Pseudonymised += pl.keep
		s.Anonymised += pl.anonymise
		s.Purged += pl.purge
		s.AnonymisedKept += pl.anonKeep + pl.anonymise
		s.AnonymisedPurged += pl.anonPurge
	}
	for _, ks := range kept {
		for y := range frozen {
			if ks.from <= y && y <= ks.to {
				addSource(ks.source).ForFrozenYears += ks.n
				break
			}
		}
	}
	for _, s := range res.Details.Sources {
		tx.Log.Count(CountAnonymised, s.Anonymised)
		tx.Log.Count(CountPurged, s.Purged)
		tx.Log.Count(CountAnonymisedPurged, s.AnonymisedPurged)
		tx.Log.Count(CountRowsForFrozenYears, s.ForFrozenYears)
		tx.Log.Count(CountPseudonymisedKept, s.Pseudonymised)
		tx.Log.Count(CountAnonymisedRowsLeft, s.AnonymisedKept)
	}
	tx.Log.Count(CountYearsFrozen, int64(len(years)))
	if dry {
		return nil
	}

	// 2. Freeze, from the lake as it is before anything leaves: all the
	// years in one pass over the lake per statistic.
	computed, err := aggregates.ComputeYears(ctx, db, key, "lake", years)
	if err != nil {
		return err
	}
	for _, y := range years {
		cells := computed[y]
		_, err = tx.StageFile(lake.Partition{Table: lake.TableAggregates, StartYear: y}, "part-"+tx.RunID+".parquet",
			func(w io.Writer) (int64, error) { return aggregates.Write(w, cells, tx.RunID, today) })
		if err != nil {
			return fmt.Errorf("retain: freezing %d: %w", y, err)
		}
	}

	// 3. Rewrite the partitions that change.
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := rewrite(tx, k, plans[k], policies[k.source], today); err != nil {
			return err
		}
	}
	return nil
}

// rewrite carries out one (source, year) plan: the pseudonymised partition
// without its leaving rows, the anonymised partition with its kept rows and
// the new ones. It checks that what it does is what was planned.
func rewrite(tx *lakeop.Tx, k partKey, pl *partPlan, p *retention.Policy, today time.Time) error {
	if !pl.pseudonymisedChanges() && !pl.anonymisedChanges() {
		return nil
	}
	pp := lake.Partition{Source: k.source, StartYear: k.year}
	ap := lake.Partition{Source: k.source, StartYear: k.year, Table: lake.TableAnonymised}
	var got partPlan
	emit := func(aw *anonymised.Writer) error {
		if aw != nil && pl.anonKeep+pl.anonPurge > 0 {
			for _, f := range tx.Base.PartitionFiles(ap) {
				err := anonymised.ReadFile(filepath.Join(tx.Lake, filepath.FromSlash(f.Path)), func(r anonymised.Row) error {
					if anonymisedPurged(p, today, r.PeriodStart, r.PeriodEnd) {
						got.anonPurge++
						return nil
					}
					got.anonKeep++
					return aw.Write(r)
				})
				if err != nil {
					return fmt.Errorf("retain: %s: %w", f.Path, err)
				}
			}
		}
		if !pl.pseudonymisedChanges() {
			return nil
		}
		w, err := tx.Writer()
		if err != nil {
			return err
		}
		for _, f := range tx.Base.PartitionFiles(pp) {
			err := lake.ReadFile(filepath.Join(tx.Lake, filepath.FromSlash(f.Path)), func(r lake.Row) error {
				switch pseudonymisedAction(p, today, r.PeriodStart, r.PeriodEnd, r.LinkableUntil) {
				case keep:
					got.keep++
					return w.Write(pp, r)
				case anonymise:
					got.anonymise++
					return aw.Write(anonymiseRow(p, &r, tx.RunID))
				default:
					got.purge++
					return nil
				}
			})
			if err != nil {
				return fmt.Errorf("retain: %s: %w", f.Path, err)
			}
		}
		return nil
	}
	var err error
	if pl.anonKeep+pl.anonymise > 0 && pl.anonymisedChanges() {
		_, err = tx.StageFile(ap, "part-"+tx.RunID+"-0.parquet", func(w io.Writer) (int64, error) {
			aw := anonymised.NewWriter(w, ap.Dir(), tx.RunID)
			if err := emit(aw); err != nil {
				return 0, err
			}
			return aw.Close()
		})
	} else {
		err = emit(nil)
		if !pl.anonymisedChanges() {
			got.anonKeep, got.anonPurge = pl.anonKeep, pl.anonPurge // not read: nothing changes there
		} else {
			got.anonPurge = pl.anonPurge // every anonymised row goes
		}
	}
	if err != nil {
		return err
	}
	if !pl.pseudonymisedChanges() {
		got.keep = pl.keep
	}
	if got != *pl {
		return fmt.Errorf("retain: %s: the rows read differ from the plan (%+v, planned %+v)", pp.Dir(), got, *pl)
	}
	if pl.pseudonymisedChanges() {
		for _, f := range tx.Base.PartitionFiles(pp) {
			tx.Remove(f.Path)
		}
	}
	if pl.anonymisedChanges() {
		for _, f := range tx.Base.PartitionFiles(ap) {
			tx.Remove(f.Path)
		}
	}
	return nil
}

// groups runs a grouped query whose columns are source, start_year, some
// day numbers (days since 1970-01-01, NULL allowed) and a count, and passes
// each row to fn.
func groups(ctx context.Context, db *sql.DB, q string, fn func(source string, year int, days []*int32, n int64) error) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("retain: planning: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	nd := len(cols) - 3
	for rows.Next() {
		var src string
		var year, n int64
		ds := make([]sql.NullInt64, nd)
		dest := []any{&src, &year}
		for i := range ds {
			dest = append(dest, &ds[i])
		}
		dest = append(dest, &n)
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("retain: planning: %w", err)
		}
		days := make([]*int32, nd)
		for i, d := range ds {
			if d.Valid {
				v := int32(d.Int64)
				days[i] = &v
			}
		}
		if err := fn(src, int(year), days, n); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("retain: planning: %w", err)
	}
	return nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

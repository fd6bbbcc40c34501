package risk

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gallra/gallra/pipeline/anonymised"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/transforms/retention"
)

// FixOptions configure Fix.
type FixOptions struct {
	K      int64
	Action Action
	DryRun bool
	Now    func() time.Time
}

// FixDetails is what a fix records in the run log: no values, only the
// threshold, the action and the counts.
type FixDetails struct {
	K            int64  `json:"k"`
	Action       Action `json:"action"`
	SmallClasses int64  `json:"small_classes_before"`
	Generalised  int64  `json:"rows_generalised"`
	Suppressed   int64  `json:"rows_suppressed"`
}

// Fix makes the anonymised tier k-anonymous as one lake operation of kind
// "risk-fix": it plans on the classes (PlanFix) and rewrites only the
// anonymised partitions that hold rows of a changed class. A generalised
// row keeps its cell key and its partition (coarsening a period never moves
// it to another year); a suppressed row is removed.
func Fix(ctx context.Context, lakeDir string, opt FixOptions) (*lakeop.Log, *Plan, error) {
	if opt.K < 2 {
		return nil, nil, fmt.Errorf("risk: threshold k = %d: must be at least 2", opt.K)
	}
	var plan *Plan
	log, err := lakeop.Do(ctx, lakeDir, func(ctx context.Context, tx *lakeop.Tx) error {
		classes, err := allClasses(ctx, lakeDir)
		if err != nil {
			return err
		}
		plan = PlanFix(classes, opt.K, opt.Action)
		d := FixDetails{K: opt.K, Action: opt.Action, Generalised: plan.Generalised, Suppressed: plan.Suppressed}
		for _, c := range classes {
			if c.Rows < opt.K {
				d.SmallClasses++
			}
		}
		tx.Log.Details = d
		tx.Log.Count("rows_generalised", plan.Generalised)
		tx.Log.Count("rows_suppressed", plan.Suppressed)
		if len(plan.To) == 0 || opt.DryRun {
			return nil
		}
		return rewrite(tx, plan)
	}, lakeop.Options{Kind: "risk-fix", DryRun: opt.DryRun, Now: opt.Now})
	return log, plan, err
}

// allClasses reads every class of the committed anonymised tier.
func allClasses(ctx context.Context, lakeDir string) ([]Class, error) {
	db, err := duck.Open(ctx, duck.Options{ReadOnlyLake: true, LakeDir: lakeDir})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, lakeDir); err != nil {
		return nil, err
	}
	_, rows, err := duck.Query(ctx, db, classesSQL("anonymised"))
	if err != nil {
		return nil, fmt.Errorf("risk: %w", err)
	}
	out := make([]Class, len(rows))
	for i, r := range rows {
		out[i].Values = r[:len(QuasiIdentifiers)]
		if err := ints(r[len(QuasiIdentifiers):], &out[i].Rows); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rowValues are a row's quasi-identifier values as classesSQL gives them.
func rowValues(source string, r *anonymised.Row) []string {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	end := ""
	if r.PeriodEnd != nil {
		end = lake.DateOf(*r.PeriodEnd).Format(time.DateOnly)
	}
	return []string{source, r.Measure, string(r.Granularity), lake.DateOf(r.PeriodStart).Format(time.DateOnly), end,
		s(r.Sex), s(r.AgeBand), s(r.Municipality)}
}

// apply returns the row as the plan makes it, or ok false if suppressed.
func apply(plan *Plan, source string, r anonymised.Row) (anonymised.Row, bool, bool, error) {
	to, changed := plan.To[Key(rowValues(source, &r))]
	if !changed {
		return r, true, false, nil
	}
	if to == nil {
		return r, false, true, nil
	}
	day := func(s string) (int32, error) {
		t, err := time.Parse(time.DateOnly, s)
		return lake.Date(t), err
	}
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	var err error
	r.Granularity = retention.Granularity(to[vGranularity])
	if r.PeriodStart, err = day(to[vStart]); err != nil {
		return r, false, true, err
	}
	if to[vEnd] != "" {
		e, err := day(to[vEnd])
		if err != nil {
			return r, false, true, err
		}
		r.PeriodEnd = &e
	}
	r.Sex, r.AgeBand, r.Municipality = opt(to[vSex]), opt(to[vAgeBand]), opt(to[vMunicipality])
	return r, true, true, nil
}

// rewrite writes anew every anonymised partition that holds a changed row.
func rewrite(tx *lakeop.Tx, plan *Plan) error {
	for _, p := range tx.Base.Partitions() {
		if p.Table != lake.TableAnonymised {
			continue
		}
		files := tx.Base.PartitionFiles(p)
		each := func(fn func(anonymised.Row) error) error {
			for _, f := range files {
				if err := anonymised.ReadFile(filepath.Join(tx.Lake, filepath.FromSlash(f.Path)), fn); err != nil {
					return err
				}
			}
			return nil
		}
		touched, kept := false, 0
		err := each(func(r anonymised.Row) error {
			_, keep, changed, err := apply(plan, p.Source, r)
			touched = touched || changed
			if keep {
				kept++
			}
			return err
		})
		if err != nil {
			return err
		}
		if !touched {
			continue
		}
		tx.Log.Count("partitions_rewritten", 1)
		for _, f := range files {
			tx.Remove(f.Path)
		}
		if kept == 0 {
			continue
		}
		w, err := tx.Writer()
		if err != nil {
			return err
		}
		staged, err := w.StageFile(p, "part-"+tx.RunID+"-risk.parquet", func(out io.Writer) (int64, error) {
			aw := anonymised.NewWriter(out, p.Dir(), tx.RunID)
			err := each(func(r anonymised.Row) error {
				nr, keep, _, err := apply(plan, p.Source, r)
				if err != nil || !keep {
					return err
				}
				return aw.Write(nr)
			})
			if err != nil {
				return 0, err
			}
			return aw.Close()
		})
		if err != nil {
			return fmt.Errorf("risk: %s: %w", p.Dir(), err)
		}
		tx.AddStaged(staged)
	}
	return nil
}

// String is a one-line summary of a plan for the operator.
func (p *Plan) String() string {
	return "k=" + strconv.FormatInt(p.K, 10) + " " + string(p.Action) + ": " +
		strconv.FormatInt(p.Generalised, 10) + " rows generalised, " + strconv.FormatInt(p.Suppressed, 10) + " suppressed"
}

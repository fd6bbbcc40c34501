// Package retain applies the sources' retention policies to the lake. This
// first part plans: for a given day, how many rows of each source are in
// each tier (still pseudonymised, due to be anonymised, due to be purged),
// which is what `gallra retain --dry-run` reports. Carrying the plan out —
// freezing the aggregates that need linkage, writing the anonymised tier and
// purging — is the next step (issue 4).
package retain

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/transforms/retention"
)

// Plan is the tier count of one source on one day.
type Plan struct {
	Source string
	Policy string // "" when the source has no retention policy
	Rows   [3]int // by retention.Tier: pseudonymised, anonymised, purged
}

// Tiers counts, for every configured source, its lake rows by the tier its
// policy puts them in on day today. Rows of a source without a policy all
// count as pseudonymised. It reads only (source, period_end) from the view
// "lake" (see duck.LakeView), grouped, so it is cheap on a large lake.
func Tiers(ctx context.Context, db *sql.DB, job *config.Job, today time.Time) ([]Plan, error) {
	_, rows, err := duck.Query(ctx, db, `SELECT source, coalesce(strftime(period_end, '%Y-%m-%d'), ''), count(*)
		FROM lake GROUP BY ALL ORDER BY ALL`)
	if err != nil {
		return nil, fmt.Errorf("retain: %w", err)
	}
	plans := make([]Plan, len(job.Sources))
	index := map[string]int{}
	for i, s := range job.Sources {
		plans[i].Source = s.Name
		if s.Retention != nil {
			plans[i].Policy = s.Retention.Name
		}
		index[s.Name] = i
	}
	for _, r := range rows {
		i, ok := index[r[0]]
		if !ok {
			continue // a source no longer configured: its rows are not this job's to cull
		}
		var n int
		if _, err := fmt.Sscan(r[2], &n); err != nil {
			return nil, fmt.Errorf("retain: count %q: %w", r[2], err)
		}
		var end time.Time
		if r[1] != "" {
			if end, err = time.Parse("2006-01-02", r[1]); err != nil {
				return nil, fmt.Errorf("retain: period end %q: %w", r[1], err)
			}
		}
		tier := retention.Pseudonymised
		if p := job.Sources[i].Retention; p != nil {
			tier = p.TierOn(today, end, time.Time{})
		}
		plans[i].Rows[tier] += n
	}
	return plans, nil
}

package retain_test

import (
	"context"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/retain"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/schemas/retention"
)

// The hand-checked lake under Jönköping's promise: linkable through the
// period's last day, then anonymised for five years, then purged. Its nine
// rows end 2023-06-30, 2024-01-01, 2024-02-29, 2024-03-14, 2024-05-31,
// 2024-06-30 and 2025-03-31; two are ongoing.
func TestTiersOnTheHandCheckedLake(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	p, err := retention.Lookup("jonkoping_amea")
	if err != nil {
		t.Fatal(err)
	}
	src := &config.Source{Name: "amea", Retention: &p}
	job := &config.Job{Sources: []*config.Source{src, {Name: "aksel"}}}
	count := func(day time.Time) [3]int {
		plans, err := retain.Tiers(context.Background(), l.DB, job, day)
		if err != nil {
			t.Fatal(err)
		}
		if len(plans) != 2 || plans[1].Rows != [3]int{} || plans[0].Policy != "jonkoping_amea" {
			t.Fatalf("plans %+v", plans)
		}
		return plans[0].Rows
	}
	// On the first end's last day, everything is still linkable.
	if got := count(time.Date(2023, 6, 30, 0, 0, 0, 0, time.UTC)); got != [3]int{9, 0, 0} {
		t.Errorf("on 2023-06-30 (the first end's last linkable day): %v", got)
	}
	if got := count(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)); got != [3]int{2, 7, 0} {
		t.Errorf("on 2026-11-23: %v, want 2 ongoing pseudonymised, 7 anonymised", got)
	}
	// On 2029-03-01 the rows that ended 2023-06-30 (kept through 2028-06-30)
	// and 2024-01-01 (through 2029-01-01) are purged; the leap-day end
	// 2024-02-29 is kept through 2029-03-01 (five years on, 29 February does
	// not exist), so it is still anonymised that day.
	if got := count(time.Date(2029, 3, 1, 0, 0, 0, 0, time.UTC)); got != [3]int{2, 5, 2} {
		t.Errorf("on 2029-03-01: %v, want 2 pseudonymised, 5 anonymised, 2 purged", got)
	}
}

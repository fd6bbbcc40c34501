package stats_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/stats"
	"github.com/gallra/gallra/pipeline/testlake"
)

func lakeDB(t *testing.T) *duckDB {
	t.Helper()
	return &duckDB{t: t, db: testlake.Build(t, testlake.HandChecked, "").DB}
}

type duckDB struct {
	t  *testing.T
	db *sql.DB
}

// run returns the statistic's rows as "a|b|c" lines.
func (d *duckDB) run(name string, span stats.Span) []string {
	d.t.Helper()
	q, err := stats.Lookup(name)
	if err != nil {
		d.t.Fatal(err)
	}
	_, rows, err := stats.Run(context.Background(), d.db, q, span)
	if err != nil {
		d.t.Fatalf("%s: %v", name, err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, "|")
	}
	return out
}

var span = stats.Span{FromYear: 2023, ToYear: 2025, AsOf: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}

func expect(t *testing.T, name string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got\n  %s\n want\n  %s", name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestSuiteOnAHandCheckedLake(t *testing.T) {
	d := lakeDB(t)

	// Active at some time in the year. 2024 PRAKTIK: P3 (ongoing), P2 (starts
	// 31 Dec) and U (unlinked: a participation, not a person).
	expect(t, "participants", d.run("participants", span), []string{
		"2023|ARBETSTRANING|1|1|pseudonymised",
		"2023|PRAKTIK|2|2|pseudonymised",
		"2024|ARBETSTRANING|2|2|pseudonymised",
		"2024|KARTLAGGNING|1|2|pseudonymised",
		"2024|PRAKTIK|2|3|pseudonymised",
		"2025|PRAKTIK|3|3|pseudonymised",
	})
	// First start ever: P1 and P3 in 2023 (Praktik), P2 (Arbetsträning) and
	// P4 (Kartläggning) in 2024. P1's 10- and 12-digit forms are one person.
	expect(t, "new_entrants", d.run("new_entrants", span), []string{
		"2023|PRAKTIK|2|pseudonymised",
		"2024|ARBETSTRANING|1|pseudonymised",
		"2024|KARTLAGGNING|1|pseudonymised",
	})
	// Durations count both ends. 2023 Arbetsträning: 15 Jul 2023 – 29 Feb
	// 2024 = 17+31+30+31+30+31+31+29 = 230 days. 2024 Praktik: 91 (P2, 31 Dec
	// – 31 Mar) and 31 (U); quartiles of {31, 91}: 46, 61, 76.
	expect(t, "durations", d.run("durations", span), []string{
		"2023|ARBETSTRANING|1|230|230|230",
		"2023|PRAKTIK|1|122|122|122",
		"2024|ARBETSTRANING|1|1|1|1",
		"2024|KARTLAGGNING|2|29.25|29.5|29.75",
		"2024|PRAKTIK|2|46|61|76",
	})
	// Re-entry within 365 days of an end. P2's one-day measure ends 1 Jan
	// 2024; 365 days later, in a leap year, is 31 Dec 2024, the day P2 starts
	// again: re-entered. P1 ends 29 Feb 2024 and starts 10 Jan 2025: re-entered.
	// P4 re-enters after March, not after June: one person, re-entered.
	expect(t, "reentry", d.run("reentry", span), []string{
		"2023|PRAKTIK|1|1|pseudonymised",
		"2024|ARBETSTRANING|2|2|pseudonymised",
		"2024|KARTLAGGNING|1|1|pseudonymised",
		"2025|PRAKTIK|1|0|pseudonymised",
	})
	// Within 30 days: only P1, Praktik (ends 30 Jun 2023) to Arbetsträning
	// (starts 15 Jul 2023).
	expect(t, "transitions", d.run("transitions", span), []string{
		"2023|PRAKTIK|ARBETSTRANING|1",
	})
	// With 400 days P2's and P1's later starts count too, and P4's return.
	wide := span
	wide.WithinDays = 400
	expect(t, "transitions within 400 days", d.run("transitions", wide), []string{
		"2023|PRAKTIK|ARBETSTRANING|1",
		"2024|ARBETSTRANING|PRAKTIK|2",
		"2024|KARTLAGGNING|KARTLAGGNING|1",
	})
	// Cohort 2023 (P1, P3, both first in Praktik): on 1 Mar 2024 P1 is
	// between measures, P3 active; in 2025 and 2026 both are active. Cohort
	// 2024: P2 (first in Arbetsträning) is in Praktik on 1 Jan 2025, not
	// later; P4 (Kartläggning) never again; the third anniversary (2027) is
	// not known at the as-of date.
	expect(t, "cohorts", d.run("cohorts", span), []string{
		"2023|PRAKTIK|2|1|2|2",
		"2024|ARBETSTRANING|1|1|0|",
		"2024|KARTLAGGNING|1|0|0|",
	})
}

// TestBreakdowns: the same statistics by source (one source: the totals
// over measures, each person once) and by sex (not kept by this lake's
// policy: one empty category).
func TestBreakdowns(t *testing.T) {
	d := lakeDB(t)
	bySource := span
	bySource.By = "source"
	// 2024: P1, P2, P3, P4 are persons; U and P4's second period add
	// participations: 1 (P1) + 1 (P2 Arb) + 1 (P2 Praktik) + 1 (P3) + 2 (P4) + 1 (U) = 7.
	expect(t, "participants by source", d.run("participants", bySource), []string{
		"2023|amea|2|3|pseudonymised",
		"2024|amea|4|7|pseudonymised",
		"2025|amea|3|3|pseudonymised",
	})
	expect(t, "reentry by source", d.run("reentry", bySource), []string{
		"2023|amea|1|1|pseudonymised",
		"2024|amea|3|3|pseudonymised",
		"2025|amea|1|0|pseudonymised",
	})
	bySex := span
	bySex.By = "sex"
	// 2023: 122 and 230 days; 2024: 1, 29, 30, 31, 91 days.
	expect(t, "durations by sex (not kept)", d.run("durations", bySex), []string{
		"2023||2|149|176|203",
		"2024||5|29|30|31",
	})
	bad := span
	bad.By = "name"
	q, _ := stats.Lookup("participants")
	if _, _, err := stats.Run(context.Background(), d.db, q, bad); err == nil {
		t.Error("a breakdown by a column the lake does not have was accepted")
	}
}

func TestStockAtMonthEnd(t *testing.T) {
	d := lakeDB(t)
	got := map[string]string{}
	for _, line := range d.run("stock_month_end", span) {
		p := strings.Split(line, "|")
		got[p[0]+" "+p[1]] = p[2]
	}
	for key, want := range map[string]string{
		"2023-06-30 PRAKTIK":       "1", // P1's last day counts
		"2024-01-31 PRAKTIK":       "1", // P3
		"2024-01-31 ARBETSTRANING": "1", // P1; P2's one day was 1 Jan
		"2024-02-29 ARBETSTRANING": "1", // a leap-day month end, P1's last day
		"2024-02-29 KARTLAGGNING":  "1",
		"2024-06-30 KARTLAGGNING":  "1",
		"2024-05-31 PRAKTIK":       "1", // P3 only: U is unlinked
		"2024-12-31 PRAKTIK":       "2", // P3, and P2 from that day
		"2025-03-31 PRAKTIK":       "3",
	} {
		if got[key] != want {
			t.Errorf("stock %s = %q, want %s", key, got[key], want)
		}
	}
	if _, ok := got["2024-03-31 KARTLAGGNING"]; ok {
		t.Error("P4 ended 14 March but is in the March stock")
	}
}

func TestSuiteFilesAreDocumented(t *testing.T) {
	all, err := stats.Suite()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 7 {
		t.Fatalf("%d statistics", len(all))
	}
	for _, q := range all {
		if len(q.Description) < 60 || len(q.Params) == 0 {
			t.Errorf("%s: description %q, params %v", q.Name, q.Description, q.Params)
		}
	}
	if _, err := stats.Lookup("nope"); err == nil || !strings.Contains(err.Error(), "participants") {
		t.Errorf("Lookup(nope) = %v", err)
	}
}

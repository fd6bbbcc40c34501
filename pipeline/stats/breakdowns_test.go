package stats_test

import (
	"testing"

	"github.com/gallra/gallra/pipeline/testlake"
)

// TestBreakdownsTwoSources: new_entrants, transitions and cohorts by each
// breakdown, on testlake.TwoSources, with the values worked out by hand
// from its rows (see testlake's doc):
//
//	first start    source  measure        sex  age band  kommun
//	P6 2023-01-09  aksel   PRAKTIK        M    60-64     2580
//	P1 2023-03-01  amea    PRAKTIK        K    30-39     0680
//	P3 2023-11-01  amea    PRAKTIK        M    30-39     0680
//	P2 2024-01-01  amea    ARBETSTRANING  K    30-39     0680
//	P4 2024-02-15  amea    KARTLAGGNING   K    30-39     0680
//	P5 2024-03-01  aksel   JOBBCOACHNING  M    20-24     2580
//
// Every breakdown gives different rows, so a query that takes the wrong
// column for one of them fails here.
func TestBreakdownsTwoSources(t *testing.T) {
	d := &duckDB{t: t, db: testlake.BuildSources(t, testlake.TwoSources()...).DB}
	run := func(name, breakdown string) []string {
		s := span
		s.By = breakdown
		return d.run(name, s)
	}

	// New entrants: the category of each person's first participation.
	for _, c := range []struct {
		by   string
		want []string
	}{
		{"measure", []string{
			"2023|PRAKTIK|3|pseudonymised",
			"2024|ARBETSTRANING|1|pseudonymised",
			"2024|JOBBCOACHNING|1|pseudonymised",
			"2024|KARTLAGGNING|1|pseudonymised",
		}},
		{"source", []string{
			"2023|aksel|1|pseudonymised",
			"2023|amea|2|pseudonymised",
			"2024|aksel|1|pseudonymised",
			"2024|amea|2|pseudonymised",
		}},
		{"sex", []string{
			"2023|K|1|pseudonymised",
			"2023|M|2|pseudonymised",
			"2024|K|2|pseudonymised",
			"2024|M|1|pseudonymised",
		}},
		{"age_band", []string{
			"2023|30-39|2|pseudonymised",
			"2023|60-64|1|pseudonymised",
			"2024|20-24|1|pseudonymised",
			"2024|30-39|2|pseudonymised",
		}},
		{"municipality", []string{
			"2023|0680|2|pseudonymised",
			"2023|2580|1|pseudonymised",
			"2024|0680|2|pseudonymised",
			"2024|2580|1|pseudonymised",
		}},
	} {
		expect(t, "new_entrants by "+c.by, run("new_entrants", c.by), c.want)
	}

	// Transitions within 30 days of an end: P1 Praktik (ends 30 Jun 2023)
	// to Arbetsträning (15 Jul 2023), both amea; P4 Kartläggning (amea,
	// ends 30 Jun 2024) to Extratjänst (aksel, 15 Jul 2024); P5
	// Jobbcoachning (ends 30 Apr 2024) to Praktik (10 May 2024), both aksel.
	// Nobody else starts within 30 days of an end.
	for _, c := range []struct {
		by   string
		want []string
	}{
		{"measure", []string{
			"2023|PRAKTIK|ARBETSTRANING|1",
			"2024|JOBBCOACHNING|PRAKTIK|1",
			"2024|KARTLAGGNING|EXTRATJANST|1",
		}},
		{"source", []string{
			"2023|amea|amea|1",
			"2024|aksel|aksel|1",
			"2024|amea|aksel|1",
		}},
		{"sex", []string{
			"2023|K|K|1",
			"2024|K|K|1",
			"2024|M|M|1",
		}},
		{"age_band", []string{
			"2023|30-39|30-39|1",
			"2024|20-24|20-24|1",
			"2024|30-39|30-39|1",
		}},
		{"municipality", []string{
			"2023|0680|0680|1",
			"2024|0680|2580|1",
			"2024|2580|2580|1",
		}},
	} {
		expect(t, "transitions by "+c.by, run("transitions", c.by), c.want)
	}

	// Cohorts, each person under their first participation's category;
	// active on the 1st, 2nd and 3rd anniversary of the first start:
	//	P1 2024-03-01 no (between measures), 2025 and 2026 yes (Praktik from 10 Jan 2025)
	//	P3 yes, yes, yes (ongoing since 2023-11-01)
	//	P6 no, no, no (ended 2023-12-31)
	//	P2 2025-01-01 yes (Praktik to 31 Mar 2025), 2026 no, 2027 not yet known
	//	P4 no, no (last end 2024-12-31), 2027 not yet known
	//	P5 yes, yes (Praktik ongoing), 2027 not yet known
	for _, c := range []struct {
		by   string
		want []string
	}{
		{"measure", []string{
			"2023|PRAKTIK|3|1|2|2",
			"2024|ARBETSTRANING|1|1|0|",
			"2024|JOBBCOACHNING|1|1|1|",
			"2024|KARTLAGGNING|1|0|0|",
		}},
		{"source", []string{
			"2023|aksel|1|0|0|0",
			"2023|amea|2|1|2|2",
			"2024|aksel|1|1|1|",
			"2024|amea|2|1|0|",
		}},
		{"sex", []string{
			"2023|K|1|0|1|1",
			"2023|M|2|1|1|1",
			"2024|K|2|1|0|",
			"2024|M|1|1|1|",
		}},
		{"age_band", []string{
			"2023|30-39|2|1|2|2",
			"2023|60-64|1|0|0|0",
			"2024|20-24|1|1|1|",
			"2024|30-39|2|1|0|",
		}},
		{"municipality", []string{
			"2023|0680|2|1|2|2",
			"2023|2580|1|0|0|0",
			"2024|0680|2|1|0|",
			"2024|2580|1|1|1|",
		}},
	} {
		expect(t, "cohorts by "+c.by, run("cohorts", c.by), c.want)
	}
}

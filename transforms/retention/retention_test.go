package retention

import (
	"testing"
	"time"
)

func d(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }

func mustSpan(t *testing.T, s string) Span {
	t.Helper()
	sp, err := ParseSpan(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestTiers(t *testing.T) {
	// Arbetsförmedlingen: removed three years after the case closed, then
	// kept for statistics ten more years.
	af := Policy{Name: "af", Pseudonymised: mustSpan(t, "3y"), Kept: mustSpan(t, "13y"), Granularity: Month}
	if err := af.Validate(); err != nil {
		t.Fatal(err)
	}
	end := d(2020, 2, 29) // a leap day: 3 years later is 1 March 2023 in Go's AddDate
	cases := []struct {
		today time.Time
		end   time.Time
		want  Tier
	}{
		{d(2020, 6, 1), time.Time{}, Pseudonymised}, // ongoing
		{d(2023, 3, 1), end, Pseudonymised},         // the last linkable day
		{d(2023, 3, 2), end, Anonymised},
		{d(2033, 3, 1), end, Anonymised}, // the last day kept
		{d(2033, 3, 2), end, Purged},
	}
	for _, c := range cases {
		if got := af.TierOn(c.today, c.end, time.Time{}); got != c.want {
			t.Errorf("af on %s (end %s): %s, want %s", c.today.Format("2006-01-02"), c.end.Format("2006-01-02"), got, c.want)
		}
	}

	// Jönköping: personal data culled as soon as the participant stops.
	jkp := Policy{Name: "jkp", Pseudonymised: mustSpan(t, "0d"), Kept: mustSpan(t, "5y"), Granularity: Month}
	if jkp.TierOn(d(2024, 5, 31), d(2024, 5, 31), time.Time{}) != Pseudonymised || jkp.TierOn(d(2024, 6, 1), d(2024, 5, 31), time.Time{}) != Anonymised {
		t.Error("jkp: linkable through the last day, anonymised the day after")
	}

	// UKA: culled at the end of the year the person turns 21, or two years
	// after the end, whichever comes first.
	uka := Policy{Name: "uka", Pseudonymised: mustSpan(t, "2y"), Kept: mustSpan(t, "5y"), Granularity: Month, EndOfYearAge: 21}
	lu, ok := uka.LinkableUntil(d(2004, 11, 30))
	if !ok || !lu.Equal(d(2025, 12, 31)) {
		t.Fatalf("LinkableUntil of someone born 2004-11-30: %v %v, want 2025-12-31", lu, ok)
	}
	if _, ok := uka.LinkableUntil(time.Time{}); ok {
		t.Error("LinkableUntil without a birth date")
	}
	if _, ok := af.LinkableUntil(d(2004, 11, 30)); ok {
		t.Error("LinkableUntil without an age rule")
	}
	if got := uka.TierOn(d(2025, 12, 31), d(2025, 3, 1), lu); got != Pseudonymised {
		t.Errorf("uka, turns 21 in 2025, on 31 Dec 2025: %s", got)
	}
	if got := uka.TierOn(d(2026, 1, 1), d(2025, 3, 1), lu); got != Anonymised {
		t.Errorf("uka, turns 21 in 2025, on 1 Jan 2026: %s", got)
	}
	if got := uka.TierOn(d(2026, 1, 1), time.Time{}, lu); got != Anonymised {
		t.Errorf("uka, ongoing, turned 21 in 2025: %s", got)
	}
	if last, ok := uka.Deadline(d(2025, 3, 1), time.Time{}); !ok || !last.Equal(d(2027, 3, 1)) {
		t.Errorf("uka without a birth year: deadline %v %v, want the 2-year rule", last, ok)
	}
}

func TestAnonymisedPurged(t *testing.T) {
	// Kept five years, by quarter: a row that ended 2020-05-20 is kept as
	// ending 2020-04-01 and goes after 2025-04-01 — up to a quarter early.
	p := Policy{Name: "q", Pseudonymised: mustSpan(t, "0d"), Kept: mustSpan(t, "5y"), Granularity: Quarter}
	start, end := d(2020, 1, 1), d(2020, 4, 1)
	if p.AnonymisedPurged(d(2025, 4, 1), start, end) || !p.AnonymisedPurged(d(2025, 4, 2), start, end) {
		t.Error("quarter row: kept through 2025-04-01, purged the day after")
	}
	if p.TierOn(d(2025, 4, 2), d(2020, 5, 20), time.Time{}) != Anonymised {
		t.Error("TierOn counts from the true end")
	}
	// No end (anonymised while ongoing): counted from the start.
	if p.AnonymisedPurged(d(2025, 1, 1), start, time.Time{}) || !p.AnonymisedPurged(d(2025, 1, 2), start, time.Time{}) {
		t.Error("row without an end: kept five years from its start")
	}
}

func TestCoarsen(t *testing.T) {
	x := d(2024, 8, 19)
	for g, want := range map[Granularity]time.Time{Day: x, Month: d(2024, 8, 1), Quarter: d(2024, 7, 1), Year: d(2024, 1, 1)} {
		if got := Coarsen(x, g); !got.Equal(want) {
			t.Errorf("Coarsen(%s) = %s, want %s", g, got, want)
		}
	}
	if got := Coarsen(d(2024, 3, 31), Quarter); !got.Equal(d(2024, 1, 1)) {
		t.Errorf("Q1: %s", got)
	}
}

func TestParseSpanAndValidate(t *testing.T) {
	for _, bad := range []string{"", "2", "y", "-1d", "2w", "1.5y"} {
		if _, err := ParseSpan(bad); err == nil {
			t.Errorf("ParseSpan(%q) accepted", bad)
		}
	}
	p := Policy{Name: "x", Pseudonymised: mustSpan(t, "3y"), Kept: mustSpan(t, "2y"), Granularity: Month}
	if err := p.Validate(); err == nil {
		t.Error("kept shorter than pseudonymised accepted")
	}
	p = Policy{Name: "x", Pseudonymised: mustSpan(t, "1y"), Kept: mustSpan(t, "2y"), Granularity: "week"}
	if err := p.Validate(); err == nil {
		t.Error("unknown granularity accepted")
	}
	p.Granularity, p.KeepAnonymised = Year, []string{"pseudonym"}
	if err := p.Validate(); err == nil {
		t.Error("keeping the pseudonym in the anonymised tier accepted")
	}
}

// Package retention decides, for one participation and one day, which tier of
// the retention policy it is in — the heart of gallra's gallring:
//
//   - pseudonymised: the lake row as written (pseudonym, key ID, measure,
//     period, declared attributes), linkable over time;
//   - anonymised: the pseudonym and key ID gone, the period coarsened, only
//     the attributes the policy keeps; aggregates that need linkage are
//     frozen before a row moves here;
//   - purged: nothing remains.
//
// Periods count from the end of the participation; an ongoing participation
// stays pseudonymised. A policy is data (see schemas/retention); this package
// only computes.
package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Tier of a row.
type Tier int

const (
	Pseudonymised Tier = iota
	Anonymised
	Purged
)

func (t Tier) String() string {
	return [...]string{"pseudonymised", "anonymised", "purged"}[t]
}

// Granularity of an anonymised row's period.
type Granularity string

const (
	Day     Granularity = "day"
	Month   Granularity = "month"
	Quarter Granularity = "quarter"
	Year    Granularity = "year"
)

// Span is a length of time in days, months or years ("30d", "6m", "2y").
type Span struct {
	N    int
	Unit byte // 'd', 'm' or 'y'
}

// ParseSpan reads "0d", "90d", "6m", "2y".
func ParseSpan(s string) (Span, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return Span{}, fmt.Errorf("retention: %q is not a span like \"90d\", \"6m\" or \"2y\"", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	u := s[len(s)-1]
	if err != nil || n < 0 || (u != 'd' && u != 'm' && u != 'y') {
		return Span{}, fmt.Errorf("retention: %q is not a span like \"90d\", \"6m\" or \"2y\"", s)
	}
	return Span{N: n, Unit: u}, nil
}

// After returns the date span after t.
func (s Span) After(t time.Time) time.Time {
	switch s.Unit {
	case 'd':
		return t.AddDate(0, 0, s.N)
	case 'm':
		return t.AddDate(0, s.N, 0)
	default:
		return t.AddDate(s.N, 0, 0)
	}
}

func (s Span) String() string { return strconv.Itoa(s.N) + string(s.Unit) }

// Policy is one source's retention promise.
type Policy struct {
	Name    string
	Seed    string // the privacy notice it expresses
	Promise string // the notice's words
	// Pseudonymised is how long after the period's end a row stays linkable.
	Pseudonymised Span
	// Kept is how long after the period's end anything of the row remains
	// (then it is purged). Kept ≥ Pseudonymised.
	Kept Span
	// Granularity of the period once anonymised.
	Granularity Granularity
	// KeepAnonymised lists the attributes (sex, age_band, municipality) an
	// anonymised row keeps; the others are removed with the pseudonym.
	KeepAnonymised []string
	// EndOfYearAge, if not zero, ends the pseudonymised tier at the latest on
	// 31 December of the year the person turns this age (UKA: 21). It needs
	// the person's birth year, which the lake does not keep: see Deadline.
	EndOfYearAge int
}

// Validate checks a policy's internal consistency.
func (p Policy) Validate() error {
	if p.Name == "" {
		return fmt.Errorf("retention: a policy needs a name")
	}
	if p.Kept.After(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).Before(p.Pseudonymised.After(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))) {
		return fmt.Errorf("retention: policy %s keeps rows (%s) for less than it keeps them pseudonymised (%s)", p.Name, p.Kept, p.Pseudonymised)
	}
	switch p.Granularity {
	case Day, Month, Quarter, Year:
	default:
		return fmt.Errorf("retention: policy %s: granularity %q (want day, month, quarter or year)", p.Name, p.Granularity)
	}
	for _, a := range p.KeepAnonymised {
		if a != "sex" && a != "age_band" && a != "municipality" {
			return fmt.Errorf("retention: policy %s: keep_anonymised names %q (want sex, age_band or municipality)", p.Name, a)
		}
	}
	return nil
}

// Deadline returns the last day a row may stay pseudonymised, given its
// period end (zero: ongoing) and, for EndOfYearAge policies, the person's
// birth year (0 if unknown). ok is false when the row has no deadline yet
// (ongoing, and no age rule that applies).
func (p Policy) Deadline(end time.Time, birthYear int) (last time.Time, ok bool) {
	if !end.IsZero() {
		last, ok = p.Pseudonymised.After(end), true
	}
	if p.EndOfYearAge > 0 && birthYear > 0 {
		age := time.Date(birthYear+p.EndOfYearAge, 12, 31, 0, 0, 0, 0, time.UTC)
		if !ok || age.Before(last) {
			last, ok = age, true
		}
	}
	return last, ok
}

// TierOn returns the tier of a row on day today. end is the period's end
// (zero while ongoing); birthYear as for Deadline.
func (p Policy) TierOn(today, end time.Time, birthYear int) Tier {
	last, ok := p.Deadline(end, birthYear)
	if !ok || !today.After(last) {
		return Pseudonymised
	}
	if end.IsZero() { // an age rule ended linkage of an ongoing row: keep it anonymised
		return Anonymised
	}
	if today.After(p.Kept.After(end)) {
		return Purged
	}
	return Anonymised
}

// Coarsen returns the first day of the period of granularity g that holds t.
func Coarsen(t time.Time, g Granularity) time.Time {
	switch g {
	case Month:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case Quarter:
		return time.Date(t.Year(), time.Month((int(t.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	case Year:
		return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	default:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
}

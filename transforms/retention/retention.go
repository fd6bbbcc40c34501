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
	// 31 December of the year the person turns this age (UKA: 21). Ingest
	// stores that day on each row as lake.Row.LinkableUntil (see
	// LinkableUntil); the lake keeps no birth date.
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

// LinkableUntil returns the last day the age rule lets a row of a person
// born on birth stay pseudonymised: 31 December of the year the person turns
// EndOfYearAge. ok is false when the policy has no age rule or birth is
// unknown (zero). Only the birth year counts.
func (p Policy) LinkableUntil(birth time.Time) (last time.Time, ok bool) {
	if p.EndOfYearAge <= 0 || birth.IsZero() {
		return time.Time{}, false
	}
	return time.Date(birth.Year()+p.EndOfYearAge, 12, 31, 0, 0, 0, 0, time.UTC), true
}

// Deadline returns the last day a row may stay pseudonymised, given its
// period end (zero: ongoing) and the last day an age rule lets it stay
// linkable (zero: none; lake.Row.LinkableUntil, see LinkableUntil). ok is
// false when the row has no deadline yet (ongoing, and no age rule that
// applies).
func (p Policy) Deadline(end, linkableUntil time.Time) (last time.Time, ok bool) {
	if !end.IsZero() {
		last, ok = p.Pseudonymised.After(end), true
	}
	if !linkableUntil.IsZero() {
		lu := day(linkableUntil)
		if !ok || lu.Before(last) {
			last, ok = lu, true
		}
	}
	return last, ok
}

// day is t's calendar date at midnight UTC.
func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// TierOn returns the tier of a pseudonymised row on day today. end is the
// period's end (zero while ongoing); linkableUntil as for Deadline.
//
// A row past its deadline is Anonymised until Kept after its end, then
// Purged; a row whose linkage an age rule ended while it was ongoing is
// Anonymised (see AnonymisedPurged for when such a row goes). Package
// retain purges anonymised rows by their coarsened period (AnonymisedPurged),
// which can be up to one period earlier than Purged here, never later.
func (p Policy) TierOn(today, end, linkableUntil time.Time) Tier {
	last, ok := p.Deadline(end, linkableUntil)
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

// AnonymisedPurged reports whether an anonymised row with the coarsened
// period start and end (zero: the row was anonymised while ongoing) is to
// be purged on day today: when today is past Kept after its coarsened end —
// up to one granularity period before Kept after the true end, never after
// it. A row without an end counts from its coarsened start: its end is
// unknown once the pseudonym is gone.
func (p Policy) AnonymisedPurged(today, start, end time.Time) bool {
	from := end
	if from.IsZero() {
		from = start
	}
	return today.After(p.Kept.After(from))
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

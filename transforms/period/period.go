// Package period parses the dates of a measure period as participant systems
// export them and checks that the period makes sense.
//
// Swedish exports write dates as YYYY-MM-DD (ISO 8601, the Swedish standard form)
// or YYYYMMDD. Both are accepted, with surrounding whitespace; anything else is
// an error with a stable reason code. Errors never repeat the input value.
package period

import (
	"fmt"
	"strings"
	"time"
)

// Reason is a stable machine code for a rejected date or period. It is used in
// quarantine files and run reports.
type Reason string

const (
	ReasonMissingStart Reason = "missing_start"    // no start date
	ReasonBadDate      Reason = "bad_date"         // not YYYY-MM-DD / YYYYMMDD, or no such calendar day
	ReasonEndBefore    Reason = "end_before_start" // the period ends before it starts
	ReasonOutOfRange   Reason = "date_out_of_range"
	ReasonFutureStart  Reason = "start_in_future" // starts after the reference date's horizon
	earliestYear              = 1970
	futureHorizon             = 366 * 24 * time.Hour // a decision may be registered up to a year ahead
)

// Error is a rejected date. Field says which one ("start" or "end").
type Error struct {
	Field  string
	Reason Reason
}

func (e *Error) Error() string {
	return fmt.Sprintf("period %s: %s", e.Field, e.Reason)
}

// Period is a measure period. End is the zero time while the period is ongoing.
type Period struct {
	Start time.Time
	End   time.Time
}

// Ongoing reports whether the period has no end date yet.
func (p Period) Ongoing() bool { return p.End.IsZero() }

// ParseDate parses YYYY-MM-DD or YYYYMMDD into a UTC midnight time. It checks
// the calendar (no 30 February). It does not allocate for valid input.
func ParseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	var y, m, d int
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		y, m, d = digits(s[0:4]), digits(s[5:7]), digits(s[8:10])
	case len(s) == 8:
		y, m, d = digits(s[0:4]), digits(s[4:6]), digits(s[6:8])
	default:
		return time.Time{}, false
	}
	if y < 0 || m < 1 || m > 12 || d < 1 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // time.Date normalised an impossible day (31 April -> 1 May)
		return time.Time{}, false
	}
	return t, true
}

// digits returns the value of an all-digit string, or -1.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// Parse builds a period from its start and end text. An empty end means the
// period is ongoing. ref is the run's reference date: a start more than a year
// after it, or any date before 1970, is out of range.
func Parse(start, end string, ref time.Time) (Period, error) {
	var p Period
	if strings.TrimSpace(start) == "" {
		return p, &Error{Field: "start", Reason: ReasonMissingStart}
	}
	s, ok := ParseDate(start)
	if !ok {
		return p, &Error{Field: "start", Reason: ReasonBadDate}
	}
	if s.Year() < earliestYear {
		return p, &Error{Field: "start", Reason: ReasonOutOfRange}
	}
	if s.After(ref.Add(futureHorizon)) {
		return p, &Error{Field: "start", Reason: ReasonFutureStart}
	}
	p.Start = s
	if strings.TrimSpace(end) == "" {
		return p, nil
	}
	e, ok := ParseDate(end)
	if !ok {
		return p, &Error{Field: "end", Reason: ReasonBadDate}
	}
	if e.Before(s) {
		return p, &Error{Field: "end", Reason: ReasonEndBefore}
	}
	p.End = e
	return p, nil
}

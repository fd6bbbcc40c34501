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
	y, m, d, ok := civil(s)
	if !ok {
		return time.Time{}, false
	}
	return Date(y, m, d), true
}

// civil is ParseDate's year, month and day, before they become a time.
func civil(s string) (y, m, d int, ok bool) {
	s = strings.TrimSpace(s)
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		y, m, d = digits(s[0:4]), digits(s[5:7]), digits(s[8:10])
	case len(s) == 8:
		y, m, d = digits(s[0:4]), digits(s[4:6]), digits(s[6:8])
	default:
		return 0, 0, 0, false
	}
	if y < 0 || m < 1 || m > 12 || d < 1 || d > DaysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// Date is time.Date(y, m, d, 0, 0, 0, 0, time.UTC) for a valid date of the
// years 0 to 9999: the same instant and location, computed as a day number
// straight from the calendar, which costs a quarter of what time.Date's
// normalisation does (dates are a noticeable part of a run's profile).
func Date(y, m, d int) time.Time {
	return time.Unix(DaysFromCivil(y, m, d)*secondsPerDay, 0).UTC()
}

const secondsPerDay = 24 * 60 * 60

// DaysIn is the number of days of month m (1-12) of year y, proleptic
// Gregorian: the calendar both a period's dates and an identifier's birth
// date are checked against.
func DaysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// DaysFromCivil is the number of days from 1970-01-01 to y-m-d, for a
// valid date of the years 0 to 9999: the year counted from March, so that
// the leap day is a year's last, in eras of 400 years (146,097 days).
func DaysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := (y+400)/400 - 1 // floor(y/400) for y >= -1
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
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
	// Each text is trimmed once, by civil; whether it was blank is only
	// asked when it is not a date.
	var p Period
	y, m, d, ok := civil(start)
	if !ok {
		if strings.TrimSpace(start) == "" {
			return p, &Error{Field: "start", Reason: ReasonMissingStart}
		}
		return p, &Error{Field: "start", Reason: ReasonBadDate}
	}
	if y < earliestYear {
		return p, &Error{Field: "start", Reason: ReasonOutOfRange}
	}
	s := Date(y, m, d)
	if s.After(ref.Add(futureHorizon)) {
		return p, &Error{Field: "start", Reason: ReasonFutureStart}
	}
	p.Start = s
	if end == "" {
		return p, nil
	}
	y, m, d, ok = civil(end)
	if !ok {
		if strings.TrimSpace(end) == "" {
			return p, nil
		}
		return p, &Error{Field: "end", Reason: ReasonBadDate}
	}
	e := Date(y, m, d)
	if e.Before(s) {
		return p, &Error{Field: "end", Reason: ReasonEndBefore}
	}
	p.End = e
	return p, nil
}

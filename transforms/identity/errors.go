package identity

import "errors"

// Reason is a stable machine-readable code saying why a value was rejected.
// Reasons are written to quarantine files and run reports; their string
// values never change.
type Reason string

// The reasons Parse and ParseBirthDate report.
const (
	ReasonEmpty            Reason = "empty"                   // nothing but white space
	ReasonFormat           Reason = "bad_format"              // not any recognised shape
	ReasonCheckDigit       Reason = "bad_check_digit"         // Luhn check digit does not match
	ReasonImpossibleDate   Reason = "impossible_date"         // e.g. 31 April, 29 February 1900, month 13, samordningsnummer day 31 April + 60
	ReasonFutureBirth      Reason = "future_birth_date"       // birth date after the reference date
	ReasonBirthNumber000   Reason = "birth_number_000"        // serial 000 is never issued
	ReasonCenturyMismatch  Reason = "century_mismatch"        // '+' contradicts a 12-digit year, or the age would exceed MaxAge
	ReasonExcelScientific  Reason = "excel_scientific"        // e.g. "1.91212E+11": digits lost in a spreadsheet
	ReasonExcelLeadingZero Reason = "excel_lost_leading_zero" // all digits, too short, and zero-padding makes it valid
)

// Error is the error Parse and ParseBirthDate return. Detail is a human
// explanation that never contains the input value or any part of it.
type Error struct {
	Reason Reason
	Detail string
}

// Error returns "identity: <reason>: <detail>".
func (e *Error) Error() string {
	if e.Detail == "" {
		return "identity: " + string(e.Reason)
	}
	return "identity: " + string(e.Reason) + ": " + e.Detail
}

// Is reports whether target is an *Error with the same Reason, so that
// errors.Is(err, &identity.Error{Reason: identity.ReasonCheckDigit}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && e != nil && t.Reason == e.Reason
}

// ReasonOf returns the Reason of the first *Error in err's chain, or "" if
// there is none.
func ReasonOf(err error) Reason {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Reason
	}
	return ""
}

// Details. None may contain any part of the input.
const (
	detailEmpty            = "the value is empty"
	detailFormat           = "not a personnummer, samordningsnummer, reserve number or birth date shape"
	detailBirthFormat      = "not a birth date shape (want YYYY-MM-DD, YYYYMMDD or YYMMDD)"
	detailCheckDigit       = "the check digit does not match the Luhn sum over the 10-digit form"
	detailMonth            = "the month is out of range"
	detailDay              = "the day does not exist in that month and year"
	detailSamDay           = "samordningsnummer day minus 60 does not exist in that month and year"
	detailDayRange         = "the day is neither a calendar day (01-31) nor a samordningsnummer day (60-91)"
	detailMonth00          = "month 00 is only issued in samordningsnummer (day 60-91)"
	detailFuture           = "the birth date is after the reference date"
	detailSerial000        = "birth number 000 is never issued"
	detailPlusYoung        = "'+' marks a person aged 100 or more in the reference year, but the 12-digit year is more recent"
	detailTooOld           = "the birth year makes the person older than the maximum plausible age"
	detailYearRange        = "the birth year is outside 1000-9999"
	detailExcelScientific  = "looks like a number a spreadsheet rewrote in scientific notation (digits are lost); export the column as text"
	detailExcelLeadingZero = "all digits but too short; a spreadsheet probably dropped leading zeros; export the column as text"
)

func newError(r Reason, detail string) *Error { return &Error{Reason: r, Detail: detail} }

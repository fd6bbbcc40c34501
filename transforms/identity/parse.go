package identity

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gallra/gallra/transforms/period"
)

// MaxAge is the highest age, in calendar years at the reference date, that a
// birth year may imply. Older birth years are rejected with
// ReasonCenturyMismatch: the check digit covers only the 10-digit form, so a
// wrong century still passes it. Skatteverket's test numbers reach back to
// 1890.
const MaxAge = 150

// maxInput bounds the input length looked at; longer values are bad_format.
const maxInput = 64

// Parse parses one identifier: a personnummer, samordningsnummer, reserve
// number or birth date. The error, when not nil, is always an [*Error].
//
// Accepted shapes, after surrounding white space is trimmed:
//
//	YYMMDD-NNNC  YYMMDD+NNNC  YYMMDDNNNC
//	YYYYMMDD-NNNC  YYYYMMDDNNNC  YYYYMMDD+NNNC (only if the person is 100 or older in ref's year)
//	YYYYMMDD  YYYY-MM-DD  YYMMDD         (birth date only: Kind BirthDate)
//	YYMMDD-XXXX  YYYYMMDD-XXXX            (X letters or digits, at least one letter: Kind Reserve)
//
// Spaces may surround the separator, and a space alone may stand for "no
// separator". Unicode dashes (hyphen, non-breaking hyphen, figure dash, en
// dash, minus sign) count as '-'; no-break spaces count as spaces.
//
// ref is the run's reference date; only its calendar date (in its location)
// is used. For 6- and 10-digit forms the century is inferred from it: with
// '-' or no separator the birth year is in (refYear-100, refYear]; with '+'
// it is in (refYear-200, refYear-100], i.e. the person turns or turned 100
// in or before refYear. A birth date after ref is ReasonFutureBirth (for a
// samordningsnummer with month 00 or day 60 the earliest date it allows is
// compared: 1 January, or the 1st of the month). A birth year more than
// MaxAge years before refYear is ReasonCenturyMismatch.
//
// Day 61–91 marks a samordningsnummer; so does day 60 (day not known), and
// month 00 (month not known) together with day 60–91. Month 00 with a day
// 01–31 is ReasonImpossibleDate. Birth number 000 is ReasonBirthNumber000.
//
// Spreadsheet damage gets its own reasons: scientific notation such as
// "1.91212E+11" is ReasonExcelScientific, and a separator-free all-digit
// value of 7, 8 (when not a birth date), 9 or 11 digits that becomes a
// valid number when left-padded with zeros is ReasonExcelLeadingZero.
//
// Checks run in this order, and the first failure is reported: shape,
// date, birth number, check digit, century, future.
func Parse(s string, ref time.Time) (ID, error) {
	return NewParser(ref).Parse(s)
}

// Parser parses identifiers against one reference date, worked out once:
// for a caller that parses many, as the ingest does one per row. Make one
// with [NewParser]; the zero Parser has no reference date.
type Parser struct{ r refDate }

// NewParser returns a Parser for the reference date ref (see [Parse]).
func NewParser(ref time.Time) Parser { return Parser{newRefDate(ref)} }

// Parse is [Parse] with the Parser's reference date.
func (p Parser) Parse(s string) (ID, error) {
	id, err := parse(s, p.r)
	if err != nil {
		return ID{}, err
	}
	return id, nil
}

// ParseBirthDate is [ParseBirthDate] with the Parser's reference date.
func (p Parser) ParseBirthDate(s string) (ID, error) {
	return parseBirthDate(s, p.r)
}

// ParseBirthDate parses a value from a separate birth-date column:
// YYYY-MM-DD, YYYYMMDD or YYMMDD (century as for 10-digit forms in
// [Parse]). A trailing midnight time (" 00:00:00" or "T00:00:00", optionally
// with "Z"), as spreadsheets and databases export dates, is accepted. The
// result has Kind BirthDate. The error, when not nil, is always an [*Error].
func ParseBirthDate(s string, ref time.Time) (ID, error) {
	return parseBirthDate(s, newRefDate(ref))
}

func parseBirthDate(s string, r refDate) (ID, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return ID{}, newError(ReasonEmpty, detailEmpty)
	}
	if len(s) > maxInput {
		return ID{}, newError(ReasonFormat, detailBirthFormat)
	}
	for _, midnight := range [...]string{" 00:00:00", "T00:00:00", "T00:00:00Z"} {
		if t, ok := strings.CutSuffix(s, midnight); ok {
			s = strings.TrimSpace(t)
			break
		}
	}
	if isISODate(s) {
		id, err := isoDate(s, r)
		return id, errOrNil(err)
	}
	if !allDigits(s) {
		if looksScientific(s) {
			return ID{}, newError(ReasonExcelScientific, detailExcelScientific)
		}
		return ID{}, newError(ReasonFormat, detailBirthFormat)
	}
	var b [8]byte
	switch len(s) {
	case 8, 6:
		copy(b[:], s)
		id, err := birthDate(b[:len(s)], r)
		return id, errOrNil(err)
	case 3, 4, 5, 7:
		// YYMMDD born 2000-2009 loses one to three leading zeros.
		n := 6
		if len(s) == 7 {
			n = 8
		}
		pad := n - len(s)
		for i := range pad {
			b[i] = '0'
		}
		copy(b[pad:], s)
		if _, err := checkBirthDate(b[:n], r); err == nil {
			return ID{}, newError(ReasonExcelLeadingZero, detailExcelLeadingZero)
		}
	}
	return ID{}, newError(ReasonFormat, detailBirthFormat)
}

// errOrNil keeps a nil *Error from becoming a non-nil error interface.
func errOrNil(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}

// Luhn reports whether digits10, ten ASCII digits YYMMDDNNNC, has a valid
// check digit C (the Luhn / mod-10 rule, weights 2,1,2,... from the left).
func Luhn(digits10 string) bool {
	if len(digits10) != 10 || !allDigits(digits10) {
		return false
	}
	var b [10]byte
	copy(b[:], digits10)
	return luhn(&b)
}

func luhn(b *[10]byte) bool {
	sum := 0
	for i, c := range b {
		d := int(c - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// refDate is the reference date as comparable numbers.
type refDate struct {
	year int
	key  int // year*10000 + month*100 + day
}

func newRefDate(t time.Time) refDate {
	y, m, d := t.Date()
	return refDate{year: y, key: dateKey(y, int(m), d)}
}

func dateKey(y, m, d int) int { return y*10000 + m*100 + d }

// century10 infers the full year of a 2-digit year yy from the reference
// year and the separator of a 10-digit (or 6-digit) form.
func (r refDate) century10(yy int, sep byte) int {
	year := r.year - r.year%100 + yy
	if year > r.year {
		year -= 100
	}
	if sep == '+' {
		year -= 100
	}
	return year
}

func num2(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }

func num4(b []byte) int { return num2(b)*100 + num2(b[2:]) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// shape is the scanned form of an input: its digits and letters (letters
// upper-cased) and where its one separator is.
type shape struct {
	b       [12]byte
	n       int
	sep     byte // 0 none, '-', '+', or ' ' for a space-only gap
	sepAt   int  // index into b where the separator stands, -1 if none
	letters bool
}

// scan fills sh from s (already trimmed). It reports false for characters
// outside the identifier alphabet, more than 12 characters, two separators,
// or spaces anywhere but next to the separator.
func (sh *shape) scan(s string) bool {
	sh.sepAt = -1
	spaceAt := -1
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isDigit(c):
		case 'A' <= c && c <= 'Z':
			sh.letters = true
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
			sh.letters = true
		case c == ' ' || c == '\t':
			if spaceAt >= 0 && spaceAt != sh.n {
				return false
			}
			spaceAt = sh.n
			i++
			continue
		case c == '-' || c == '+':
			if sh.sep != 0 {
				return false
			}
			sh.sep, sh.sepAt = c, sh.n
			i++
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			switch r {
			case '\u00a0', '\u2007', '\u202f': // no-break spaces
				if spaceAt >= 0 && spaceAt != sh.n {
					return false
				}
				spaceAt = sh.n
			case '\u2010', '\u2011', '\u2012', '\u2013', '\u2212': // dashes
				if sh.sep != 0 {
					return false
				}
				sh.sep, sh.sepAt = '-', sh.n
			default:
				return false
			}
			continue
		default:
			return false
		}
		if sh.n == len(sh.b) {
			return false
		}
		sh.b[sh.n] = c
		sh.n++
		i++
	}
	if spaceAt >= 0 {
		switch {
		case sh.sep == 0:
			sh.sep, sh.sepAt = ' ', spaceAt
		case spaceAt != sh.sepAt:
			return false
		}
	}
	return true
}

func parse(s string, r refDate) (ID, *Error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return ID{}, newError(ReasonEmpty, detailEmpty)
	}
	if len(s) > maxInput {
		return ID{}, newError(ReasonFormat, detailFormat)
	}
	if isISODate(s) {
		return isoDate(s, r)
	}
	var sh shape
	if !sh.scan(s) {
		return ID{}, badFormat(s)
	}
	if sh.letters {
		if id, ok := reserve(&sh, r); ok {
			return id, nil
		}
		return ID{}, badFormat(s)
	}
	if sh.sep != 0 {
		// A separator stands before the last four digits of a 10- or
		// 12-digit number.
		if (sh.n != 10 && sh.n != 12) || sh.sepAt != sh.n-4 {
			return ID{}, badFormat(s)
		}
		return number(sh.b[:sh.n], sh.sep, r, s)
	}
	switch sh.n {
	case 10, 12:
		return number(sh.b[:sh.n], 0, r, s)
	case 6:
		return birthDate(sh.b[:6], r)
	case 8:
		id, err := birthDate(sh.b[:8], r)
		if err != nil && lostLeadingZero(&sh, r) {
			return ID{}, newError(ReasonExcelLeadingZero, detailExcelLeadingZero)
		}
		return id, err
	case 7, 9, 11:
		if lostLeadingZero(&sh, r) {
			return ID{}, newError(ReasonExcelLeadingZero, detailExcelLeadingZero)
		}
	}
	return ID{}, badFormat(s)
}

// badFormat tells a spreadsheet's scientific notation apart from other
// unrecognised shapes.
func badFormat(s string) *Error {
	if looksScientific(s) {
		return newError(ReasonExcelScientific, detailExcelScientific)
	}
	return newError(ReasonFormat, detailFormat)
}

// looksScientific reports whether s is a number in scientific notation as a
// spreadsheet writes it: digits, optionally a decimal point or comma and
// more digits, then E or e, an optional sign, and digits ("1.91212E+11",
// "1,91212E+11", "2E+11").
func looksScientific(s string) bool {
	i := 0
	digits := func() int {
		j := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return i - j
	}
	if digits() == 0 {
		return false
	}
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i >= len(s) || (s[i] != 'E' && s[i] != 'e') {
		return false
	}
	i++
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	return digits() > 0 && i == len(s)
}

// lostLeadingZero reports whether the all-digit, separator-free sh becomes
// a valid personnummer or samordningsnummer when left-padded with zeros to
// 10 digits (from 7–9 digits; a 10-digit form born 2000–2009 read as a
// number) or 12 digits (from 11).
func lostLeadingZero(sh *shape, r refDate) bool {
	var n int
	switch sh.n {
	case 7, 8, 9:
		n = 10
	case 11:
		n = 12
	default:
		return false
	}
	var b [12]byte
	pad := n - sh.n
	for i := range pad {
		b[i] = '0'
	}
	copy(b[pad:n], sh.b[:sh.n])
	_, _, err := checkNumber(b[:n], 0, r)
	return err == nil
}

// number validates and builds a personnummer or samordningsnummer from 10
// or 12 ASCII digits and the separator (0, ' ', '-' or '+'). in is the
// trimmed input: when it is already the canonical form (12 digits, no
// separator), the ID's Canonical is in itself rather than a copy.
func number(b []byte, sep byte, r refDate, in string) (ID, *Error) {
	kind, year, err := checkNumber(b, sep, r)
	if err != nil {
		return ID{}, err
	}
	var c [12]byte
	c[0] = byte('0' + year/1000)
	c[1] = byte('0' + year/100%10)
	copy(c[2:], b[len(b)-10:])
	mm, dd := num2(c[4:]), num2(c[6:])
	canonical := in
	if in != string(c[:]) { // compared without a copy
		canonical = string(c[:])
	}
	id := ID{Kind: kind, Canonical: canonical, BirthExact: true, Sex: 'K'}
	if (c[10]-'0')%2 == 1 {
		id.Sex = 'M'
	}
	switch {
	case mm == 0:
		mm, dd = 7, 1
		id.BirthExact = false
	case dd == 60:
		dd = 15
		id.BirthExact = false
	case dd > 60:
		dd -= 60
	}
	id.Birth = period.Date(year, mm, dd)
	return id, nil
}

// checkNumber validates 10 or 12 digits without building anything. It
// returns the kind and the full birth year.
func checkNumber(b []byte, sep byte, r refDate) (Kind, int, *Error) {
	var year int
	var ten [10]byte
	if len(b) == 12 {
		year = num4(b)
		copy(ten[:], b[2:])
	} else {
		copy(ten[:], b)
		year = r.century10(num2(b), sep)
	}
	mm, dd := num2(ten[2:]), num2(ten[4:])

	// Date.
	kind := Personnummer
	earliest := dd // day used for the future check
	switch {
	case mm > 12:
		return Invalid, 0, newError(ReasonImpossibleDate, detailMonth)
	case dd == 60:
		kind, earliest = Samordningsnummer, 1
	case dd > 60 && dd <= 91:
		kind, earliest = Samordningsnummer, dd-60
		max := 31
		if mm != 0 {
			max = period.DaysIn(year, mm)
		}
		if dd-60 > max {
			return Invalid, 0, newError(ReasonImpossibleDate, detailSamDay)
		}
	case dd == 0 || dd > 31:
		return Invalid, 0, newError(ReasonImpossibleDate, detailDayRange)
	case mm == 0:
		return Invalid, 0, newError(ReasonImpossibleDate, detailMonth00)
	case dd > period.DaysIn(year, mm):
		return Invalid, 0, newError(ReasonImpossibleDate, detailDay)
	}
	earliestMonth := mm
	if mm == 0 {
		earliestMonth, earliest = 1, 1
	}

	// Birth number and check digit.
	if ten[6] == '0' && ten[7] == '0' && ten[8] == '0' {
		return Invalid, 0, newError(ReasonBirthNumber000, detailSerial000)
	}
	if !luhn(&ten) {
		return Invalid, 0, newError(ReasonCheckDigit, detailCheckDigit)
	}

	// Century.
	if len(b) == 12 && sep == '+' && r.year-year < 100 {
		return Invalid, 0, newError(ReasonCenturyMismatch, detailPlusYoung)
	}
	if err := checkYear(year, r); err != nil {
		return Invalid, 0, err
	}

	// Future.
	if dateKey(year, earliestMonth, earliest) > r.key {
		return Invalid, 0, newError(ReasonFutureBirth, detailFuture)
	}
	return kind, year, nil
}

// checkYear rejects birth years that imply an age above MaxAge or do not
// fit four digits.
func checkYear(year int, r refDate) *Error {
	if year < 1000 || year > 9999 {
		return newError(ReasonCenturyMismatch, detailYearRange)
	}
	if r.year-year > MaxAge {
		return newError(ReasonCenturyMismatch, detailTooOld)
	}
	return nil
}

// isISODate reports whether s has the shape YYYY-MM-DD.
func isISODate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' &&
		allDigits(s[:4]) && allDigits(s[5:7]) && allDigits(s[8:])
}

// isoDate parses YYYY-MM-DD, already shape-checked by isISODate.
func isoDate(s string, r refDate) (ID, *Error) {
	var b [8]byte
	copy(b[:4], s[:4])
	copy(b[4:6], s[5:7])
	copy(b[6:], s[8:])
	return birthDate(b[:], r)
}

// birthDate validates and builds a BirthDate from YYYYMMDD or YYMMDD.
func birthDate(b []byte, r refDate) (ID, *Error) {
	year, err := checkBirthDate(b, r)
	if err != nil {
		return ID{}, err
	}
	var c [8]byte
	c[0] = byte('0' + year/1000)
	c[1] = byte('0' + year/100%10)
	copy(c[2:], b[len(b)-6:])
	mm, dd := num2(c[4:]), num2(c[6:])
	return ID{
		Kind:       BirthDate,
		Canonical:  string(c[:]),
		Birth:      period.Date(year, mm, dd),
		BirthExact: true,
	}, nil
}

// checkBirthDate validates YYYYMMDD or YYMMDD and returns the full year.
func checkBirthDate(b []byte, r refDate) (int, *Error) {
	var year int
	if len(b) == 8 {
		year = num4(b)
	} else {
		year = r.century10(num2(b), '-')
	}
	mm, dd := num2(b[len(b)-4:]), num2(b[len(b)-2:])
	switch {
	case mm < 1 || mm > 12:
		return 0, newError(ReasonImpossibleDate, detailMonth)
	case dd < 1 || dd > period.DaysIn(year, mm):
		return 0, newError(ReasonImpossibleDate, detailDay)
	}
	if err := checkYear(year, r); err != nil {
		return 0, err
	}
	if dateKey(year, mm, dd) > r.key {
		return 0, newError(ReasonFutureBirth, detailFuture)
	}
	return year, nil
}

// reserve recognises a reserve number: a 6- or 8-digit prefix, an optional
// separator, and four characters containing at least one letter. It reports
// false for any other shape.
func reserve(sh *shape, r refDate) (ID, bool) {
	p := sh.n - 4
	if (p != 6 && p != 8) || (sh.sep != 0 && sh.sepAt != p) {
		return ID{}, false
	}
	for _, c := range sh.b[:p] {
		if !isDigit(c) {
			return ID{}, false
		}
	}
	// The prefix is all digits and sh has letters, so the last four hold one.
	var year int
	if p == 8 {
		year = num4(sh.b[:])
	} else {
		year = r.century10(num2(sh.b[:]), sh.sep)
	}
	mm, dd := num2(sh.b[p-4:]), num2(sh.b[p-2:])
	inRange := year >= 1000 && year <= 9999
	// A 6-digit prefix is widened whenever its month and day could be a
	// date in some year (29 February included), so that the choice does not
	// depend on the century and Parse(Canonical) gives the same ID.
	widen := p == 6 && inRange && mm >= 1 && mm <= 12 && dd >= 1 && dd <= period.DaysIn(2000, mm)
	validDate := inRange && mm >= 1 && mm <= 12 && dd >= 1 && dd <= period.DaysIn(year, mm)

	var c [12]byte
	n := 0
	if widen {
		c[0] = byte('0' + year/1000)
		c[1] = byte('0' + year/100%10)
		n = 2
	}
	n += copy(c[n:], sh.b[:sh.n])
	id := ID{Kind: Reserve, Canonical: string(c[:n])}
	if validDate && dateKey(year, mm, dd) <= r.key {
		id.Birth = period.Date(year, mm, dd)
	}
	return id, true
}

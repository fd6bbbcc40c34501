// Package identity parses, validates and canonicalises Swedish personal
// identifiers: personnummer, samordningsnummer, reserve (temporary) numbers
// and bare birth dates.
//
// Every accepted spelling of one person's number — 10 or 12 digits, with or
// without a separator, with surrounding or separator-adjacent spaces — yields
// the same [ID.Canonical], so that the pseudonym computed from it is the same.
// Rejected values come back as an [*Error] carrying a stable [Reason] code
// and an explanation that never contains the value itself.
//
// The package is pure: no I/O and no wall clock. The reference date passed to
// [Parse] decides the century of 10-digit forms and what counts as a birth
// date in the future; a run passes its own reference date so that results
// are reproducible.
//
// An [ID] holds a raw identifier. Its String, Format, GoString, LogValue and
// MarshalText methods redact it, so printing or logging an ID never reveals
// the number; only the Canonical field does. (fmt cannot call methods on an
// unexported struct field: an ID stored in an unexported field of a struct
// that is printed with %v is printed raw. Do not print such structs.)
package identity

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Kind says what sort of identifier an [ID] is.
type Kind uint8

const (
	// Invalid is the zero Kind; it is never returned with a nil error.
	Invalid Kind = iota
	// Personnummer is a Swedish personal identity number.
	Personnummer
	// Samordningsnummer is a coordination number: day of birth + 60, and
	// month 00 and/or day 60 when Skatteverket could not verify the date.
	Samordningsnummer
	// Reserve is a temporary, reserve or interim number: a date-like prefix
	// followed by four characters of which at least one is a letter (school
	// YYYYMMDD-TFnn, university YYMMDD-Xnnn, regional health-care reserve
	// numbers). It has no check digit.
	Reserve
	// BirthDate is a record where only the date of birth is known.
	BirthDate
)

var kindNames = [...]string{
	Invalid:           "invalid",
	Personnummer:      "personnummer",
	Samordningsnummer: "samordningsnummer",
	Reserve:           "reserve",
	BirthDate:         "birthdate",
}

// String returns the kind's stable lower-case name, e.g. "personnummer".
// Unknown values return "invalid".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return kindNames[Invalid]
}

// ParseKind returns the Kind named s, the inverse of [Kind.String]. It
// accepts the names in any letter case, with surrounding space.
func ParseKind(s string) (Kind, error) {
	t := strings.TrimSpace(s)
	for k, name := range kindNames {
		if strings.EqualFold(t, name) {
			return Kind(k), nil
		}
	}
	// Echo the input only when it cannot be an identifier.
	if len(t) <= 32 && !strings.ContainsAny(t, "0123456789") {
		return Invalid, fmt.Errorf("identity: unknown kind %q (want personnummer, samordningsnummer, reserve or birthdate)", t)
	}
	return Invalid, errors.New("identity: unknown kind (want personnummer, samordningsnummer, reserve or birthdate)")
}

// MarshalText implements [encoding.TextMarshaler] (the kind's name).
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] using [ParseKind].
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// ID is a parsed, validated identifier.
//
// Birth is the birth date at UTC midnight, when known:
//   - personnummer: the date in the number, BirthExact true;
//   - samordningsnummer: the real day (day − 60); when the month is 00 the
//     date is approximated as 1 July of the year, and when the day is 60
//     (day unknown) as the 15th of the month (1 July if the month is also
//     00); BirthExact is false for any approximation, and an approximated
//     date may fall after the reference date when the birth year is the
//     reference year;
//   - birth date: the date itself, BirthExact true;
//   - reserve: the date prefix when it is a real calendar date not after the
//     reference date, otherwise the zero time; BirthExact is always false,
//     because reserve-number schemes do not promise the prefix is the birth
//     date.
//
// Sex is 'M' (odd ninth digit) or 'K' (even) for personnummer and
// samordningsnummer, and 0 for reserve numbers and birth dates.
type ID struct {
	Kind Kind
	// Canonical is the normalised identifier: for personnummer and
	// samordningsnummer 12 digits YYYYMMDDNNNC (a samordningsnummer keeps
	// its day + 60 and month 00); for reserve numbers upper case without
	// separators, a 6-digit prefix widened to 8 digits with the inferred
	// century when its month and day form a date (29 February counts even
	// if the inferred year is not a leap year); for birth dates YYYYMMDD.
	// It is a raw identifier: never log or print it.
	Canonical  string
	Birth      time.Time
	BirthExact bool
	Sex        byte
}

// redacted names per kind, constant so String does not allocate.
var redactedNames = [...]string{
	Invalid:           "invalid(redacted)",
	Personnummer:      "personnummer(redacted)",
	Samordningsnummer: "samordningsnummer(redacted)",
	Reserve:           "reserve(redacted)",
	BirthDate:         "birthdate(redacted)",
}

// String returns the kind followed by "(redacted)", e.g.
// "personnummer(redacted)". It never contains the identifier.
func (id ID) String() string {
	if int(id.Kind) < len(redactedNames) {
		return redactedNames[id.Kind]
	}
	return redactedNames[Invalid]
}

// GoString implements [fmt.GoStringer] without revealing the identifier.
func (id ID) GoString() string {
	return "identity.ID{Kind: " + id.Kind.String() + " /* identifier redacted */}"
}

// Format implements [fmt.Formatter] so that every verb prints the redacted
// form only: %#v prints GoString, %q the quoted String, and every other verb
// (%v, %+v, %s, %d, %x, ...) the String, honouring width and flags.
func (id ID) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, id.GoString())
		return
	case verb != 'q':
		verb = 's'
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), id.String())
}

// LogValue implements [slog.LogValuer]: an ID logs as its redacted String.
func (id ID) LogValue() slog.Value { return slog.StringValue(id.String()) }

// MarshalText implements [encoding.TextMarshaler] with the redacted String,
// so that encoding/json and other encoders cannot leak the identifier
// either. Code that needs the identifier must read Canonical explicitly.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// Valid reports whether id holds a parsed identifier (Kind is not Invalid).
func (id ID) Valid() bool { return id.Kind != Invalid && id.Kind < Kind(len(kindNames)) }

// AgeAt returns the completed years between id.Birth and the calendar date
// of t (in t's location). Someone born on 29 February becomes a year older
// on 1 March in a non-leap year. AgeAt returns -1 when the birth date is
// unknown (zero Birth) or t is before it.
func (id ID) AgeAt(t time.Time) int {
	if id.Birth.IsZero() {
		return -1
	}
	by, bm, bd := id.Birth.Date()
	ty, tm, td := t.Date()
	age := ty - by
	if tm < bm || (tm == bm && td < bd) {
		age--
	}
	if age < 0 {
		return -1
	}
	return age
}

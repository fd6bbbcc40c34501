package identity

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

var knownReasons = map[Reason]bool{
	ReasonEmpty: true, ReasonFormat: true, ReasonCheckDigit: true, ReasonImpossibleDate: true,
	ReasonFutureBirth: true, ReasonBirthNumber000: true, ReasonCenturyMismatch: true,
	ReasonExcelScientific: true, ReasonExcelLeadingZero: true,
}

// digitRuns returns the runs of six or more ASCII digits in s.
func digitRuns(s string) []string {
	var runs []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && '0' <= s[i] && s[i] <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= 6 {
			runs = append(runs, s[start:i])
		}
		start = -1
	}
	return runs
}

// fuzzRef maps a fuzzed number to a reference date between 1950 and 2129.
func fuzzRef(days uint16) time.Time {
	return time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(days))
}

func FuzzParse(f *testing.F) {
	ref := uint16(ref2026.Sub(fuzzRef(0)).Hours() / 24)
	for _, s := range []string{
		"200002292381", "000229-2381", "000229+2381", "900101+9802", "18900101+9802",
		"191500722390", "310060-2394", "192004912388", " 000229 - 2381 ",
		"20150315-TF12", "150315-x123", "991399-R123", "1915-03-15", "150315",
		"1.91212E+11", "501012389", "", "000229\u20132381", "12345678901",
	} {
		f.Add(s, ref)
	}
	f.Add("231229-2382", uint16(26000))
	f.Fuzz(func(t *testing.T, s string, days uint16) {
		ref := fuzzRef(days)
		id, err := Parse(s, ref)
		checkFuzzResult(t, "Parse", s, ref, id, err)
		if err == nil {
			again, err := Parse(id.Canonical, ref)
			if err != nil || again != id {
				t.Fatalf("Parse(Canonical) = %v, %v; want the same ID", again, err)
			}
			checkTenDigitForm(t, id, ref)
		}

		bd, err := ParseBirthDate(s, ref)
		checkFuzzResult(t, "ParseBirthDate", s, ref, bd, err)
		if err == nil {
			if bd.Kind != BirthDate {
				t.Fatalf("ParseBirthDate gave kind %v", bd.Kind)
			}
			if again, err := Parse(bd.Canonical, ref); err != nil || again != bd {
				t.Fatalf("Parse(ParseBirthDate(s).Canonical) = %v, %v; want the same ID", again, err)
			}
		}
	})
}

func checkFuzzResult(t *testing.T, fn, s string, ref time.Time, id ID, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: error %T is not *Error", fn, err)
		}
		if !knownReasons[e.Reason] {
			t.Fatalf("%s: unknown reason %q", fn, e.Reason)
		}
		if id != (ID{}) {
			t.Fatalf("%s: non-zero ID with an error", fn)
		}
		msg := err.Error()
		for _, run := range digitRuns(s) {
			if strings.Contains(msg, run) {
				t.Fatalf("%s: error message contains input digits: %s", fn, msg)
			}
		}
		return
	}
	if !id.Valid() {
		t.Fatalf("%s: nil error with kind %v", fn, id.Kind)
	}
	c := id.Canonical
	switch id.Kind {
	case Personnummer, Samordningsnummer:
		if len(c) != 12 || !allDigits(c) || !Luhn(c[2:]) || c[8:11] == "000" {
			t.Fatalf("%s: bad canonical shape for %v", fn, id.Kind)
		}
		if id.Sex != 'M' && id.Sex != 'K' {
			t.Fatalf("%s: sex %q", fn, id.Sex)
		}
		if id.Kind == Personnummer && (!id.BirthExact || id.Birth.Format("20060102") != c[:8]) {
			t.Fatalf("%s: personnummer birth date does not match the number", fn)
		}
		if id.BirthExact && id.Birth.After(ref) {
			t.Fatalf("%s: exact birth date after ref", fn)
		}
	case Reserve:
		if len(c) != 10 && len(c) != 12 {
			t.Fatalf("%s: reserve canonical length %d", fn, len(c))
		}
		letter := false
		for i := 0; i < len(c); i++ {
			switch ch := c[i]; {
			case '0' <= ch && ch <= '9':
			case 'A' <= ch && ch <= 'Z':
				letter = letter || i >= len(c)-4
			default:
				t.Fatalf("%s: reserve canonical has %q", fn, ch)
			}
		}
		if !letter || id.Sex != 0 || id.BirthExact || id.Birth.After(ref) {
			t.Fatalf("%s: reserve fields wrong", fn)
		}
	case BirthDate:
		if len(c) != 8 || !allDigits(c) || id.Birth.Format("20060102") != c || id.Birth.After(ref) || id.Sex != 0 {
			t.Fatalf("%s: birth date fields wrong", fn)
		}
	}
}

// checkTenDigitForm asserts that the 10-digit spelling with the separator
// right at ref names the same person.
func checkTenDigitForm(t *testing.T, id ID, ref time.Time) {
	t.Helper()
	if id.Kind != Personnummer && id.Kind != Samordningsnummer {
		return
	}
	year, _ := strconv.Atoi(id.Canonical[:4])
	sep := byte('-')
	if ref.Year()-year >= 100 {
		sep = '+'
	}
	ten, err := Parse(tenDigit(id.Canonical, sep), ref)
	if err != nil || ten != id {
		t.Fatalf("10-digit form with %q: %v, %v; want the same ID", sep, ten, err)
	}
}

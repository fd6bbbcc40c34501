package identity

import (
	"strconv"
	"testing"
	"time"

	"github.com/gallra/gallra/schemas/testnumbers"
)

// ref2026 is the reference date the Skatteverket test-number tests use.
var ref2026 = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// tenDigit returns the 10-digit form of a 12-digit number with separator
// sep (0 for none).
func tenDigit(s12 string, sep byte) string {
	if sep == 0 {
		return s12[2:]
	}
	return s12[2:8] + string(sep) + s12[8:]
}

func TestSkatteverketTestPersonnummer(t *testing.T) {
	all := testnumbers.Personnummer()
	if len(all) != 41127 {
		t.Fatalf("got %d test personnummer, want 41127", len(all))
	}
	var plus, noSep int
	for i, s := range all {
		line := i + 1
		id, err := Parse(s, ref2026)
		if err != nil {
			t.Errorf("line %d: 12-digit form rejected: %v", line, err)
			continue
		}
		if id.Kind != Personnummer || id.Canonical != s || !id.BirthExact {
			t.Errorf("line %d: got kind %v, canonical equal %v, exact %v", line, id.Kind, id.Canonical == s, id.BirthExact)
			continue
		}
		if want := wantSex(s); id.Sex != want {
			t.Errorf("line %d: sex %q, want %q", line, id.Sex, want)
		}
		if got := id.Birth.Format("20060102"); got != s[:8] {
			t.Errorf("line %d: birth date differs from the number's date", line)
		}

		// The 12-digit form with a hyphen.
		if id2, err := Parse(s[:8]+"-"+s[8:], ref2026); err != nil || id2 != id {
			t.Errorf("line %d: 12-digit form with '-' gives a different result (err %v)", line, err)
		}

		// The 10-digit form with the separator right at the reference date.
		birthYear, _ := strconv.Atoi(s[:4])
		sep := byte('-')
		if ref2026.Year()-birthYear >= 100 {
			sep = '+'
			plus++
		}
		if id10, err := Parse(tenDigit(s, sep), ref2026); err != nil || id10 != id {
			t.Errorf("line %d: 10-digit form with %q gives a different result (err %v)", line, sep, err)
		}
		if sep == '-' {
			noSep++
			if id10, err := Parse(tenDigit(s, 0), ref2026); err != nil || id10 != id {
				t.Errorf("line %d: 10-digit form without separator gives a different result (err %v)", line, err)
			}
		} else if _, err := Parse(tenDigit(s, '-'), ref2026); err == nil {
			// With '-' the same ten digits name someone born 100 years later.
			if id10, _ := Parse(tenDigit(s, '-'), ref2026); id10.Canonical == s {
				t.Errorf("line %d: '-' and '+' forms give the same century", line)
			}
		}
	}
	if plus == 0 || noSep == 0 {
		t.Errorf("test data exercised '+' %d times and no separator %d times; want both", plus, noSep)
	}
}

func wantSex(s12 string) byte {
	if (s12[10]-'0')%2 == 1 {
		return 'M'
	}
	return 'K'
}

func TestSkatteverketTestSamordningsnummer(t *testing.T) {
	all := testnumbers.Samordningsnummer()
	var valid, invalid, approx, otherErr int
	for i, s := range all {
		line := i + 1
		id, err := Parse(s, ref2026)
		mm, dd := s[4:6], s[6:8]
		unverified := mm == "00" || dd == "60"
		if err != nil {
			if r := ReasonOf(err); r == ReasonImpossibleDate {
				invalid++
			} else {
				otherErr++
				t.Errorf("line %d: rejected with %s, want valid or %s", line, r, ReasonImpossibleDate)
			}
			continue
		}
		valid++
		if id.Kind != Samordningsnummer || id.Canonical != s {
			t.Errorf("line %d: kind %v, canonical equal %v", line, id.Kind, id.Canonical == s)
		}
		if id.Sex != wantSex(s) {
			t.Errorf("line %d: sex %q, want %q", line, id.Sex, wantSex(s))
		}
		if unverified {
			approx++
			if id.BirthExact {
				t.Errorf("line %d: month 00 / day 60 but BirthExact", line)
			}
			wantMonth, wantDay := time.July, 1
			if mm != "00" {
				m, _ := strconv.Atoi(mm)
				wantMonth, wantDay = time.Month(m), 15
			}
			if id.Birth.Month() != wantMonth || id.Birth.Day() != wantDay {
				t.Errorf("line %d: approximated birth date is not the documented one", line)
			}
		} else {
			day, _ := strconv.Atoi(dd)
			if !id.BirthExact || id.Birth.Day() != day-60 {
				t.Errorf("line %d: birth day is not day-60 or not exact", line)
			}
		}
		// Ten-digit forms name the same person.
		birthYear, _ := strconv.Atoi(s[:4])
		sep := byte('-')
		if ref2026.Year()-birthYear >= 100 {
			sep = '+'
		}
		if id10, err := Parse(tenDigit(s, sep), ref2026); err != nil || id10 != id {
			t.Errorf("line %d: 10-digit form with %q gives a different result (err %v)", line, sep, err)
		}
	}
	if len(all) != 2264 || valid != 2240 || invalid != 24 || approx != 170 || otherErr != 0 {
		t.Errorf("got %d numbers: %d valid, %d impossible_date, %d valid with month 00/day 60, %d other errors; want 2264: 2240, 24, 170, 0",
			len(all), valid, invalid, approx, otherErr)
	}
}

// TestRoundTrip checks Parse(Canonical) reproduces the ID for every test
// number, in every accepted spelling.
func TestRoundTrip(t *testing.T) {
	for _, s := range append(testnumbers.Personnummer(), testnumbers.Samordningsnummer()...) {
		id, err := Parse(s, ref2026)
		if err != nil {
			continue
		}
		again, err := Parse(id.Canonical, ref2026)
		if err != nil || again != id {
			t.Fatalf("Parse(Canonical) differs (err %v)", err)
		}
	}
}

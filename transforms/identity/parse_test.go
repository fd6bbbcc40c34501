package identity

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// Every valid number in these tests is one of Skatteverket's test numbers
// (schemas/testnumbers), never a real person's. Invalid numbers are test
// numbers with one part changed, or built with withCheck for a date or
// birth number that cannot exist.

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// withCheck appends the Luhn check digit to nine digits YYMMDDNNN. It is
// written independently of the package's luhn: digits at even positions
// from the left are doubled, digit sums added, and the check digit brings
// the total to a multiple of ten.
func withCheck(nine string) string {
	doubled := [10]int{0, 2, 4, 6, 8, 1, 3, 5, 7, 9}
	sum := 0
	for i := range 9 {
		d := int(nine[i] - '0')
		if i%2 == 0 {
			d = doubled[d]
		}
		sum += d
	}
	return nine + string(rune('0'+(10-sum%10)%10))
}

// digitsOf returns the decimal digits of s, in order.
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

type parseCase struct {
	name      string
	in        string
	ref       time.Time // zero means ref2026
	kind      Kind
	canonical string
	reason    Reason
}

var parseCases = []parseCase{
	// Shapes of one personnummer (test number 200002292381, a leap day).
	{name: "12 digits", in: "200002292381", kind: Personnummer, canonical: "200002292381"},
	{name: "12 digits with hyphen", in: "20000229-2381", kind: Personnummer, canonical: "200002292381"},
	{name: "10 digits with hyphen, leap day 2000", in: "000229-2381", kind: Personnummer, canonical: "200002292381"},
	{name: "10 digits no separator", in: "0002292381", kind: Personnummer, canonical: "200002292381"},
	{name: "surrounding white space", in: " \t 000229-2381 \r\n", kind: Personnummer, canonical: "200002292381"},
	{name: "spaces around separator", in: "000229 - 2381", kind: Personnummer, canonical: "200002292381"},
	{name: "space before separator", in: "20000229 -2381", kind: Personnummer, canonical: "200002292381"},
	{name: "space as separator", in: "000229 2381", kind: Personnummer, canonical: "200002292381"},
	{name: "tab as separator", in: "20000229\t2381", kind: Personnummer, canonical: "200002292381"},
	{name: "no-break spaces", in: "000229\u00a0-\u00a02381", kind: Personnummer, canonical: "200002292381"},
	{name: "en dash", in: "000229\u20132381", kind: Personnummer, canonical: "200002292381"},
	{name: "minus sign", in: "20000229\u22122381", kind: Personnummer, canonical: "200002292381"},

	// Leap days.
	{name: "29 Feb 1900 not leap", in: "190002292381", reason: ReasonImpossibleDate},
	{name: "29 Feb 1900 with hyphen", in: "19000229-2381", reason: ReasonImpossibleDate},
	{name: "10-digit leap day with + is 1900", in: "000229+2381", reason: ReasonImpossibleDate},
	{name: "29 Feb 1904 leap", in: "190402299812", kind: Personnummer, canonical: "190402299812"},
	{name: "29 Feb 1996 leap", in: "960229-2386", kind: Personnummer, canonical: "199602292386"},
	{name: "samordningsnummer 29 Feb 2020", in: "202002892392", kind: Samordningsnummer, canonical: "202002892392"},
	{name: "samordningsnummer 29 Feb 2019", in: "201902892387", reason: ReasonImpossibleDate},

	// '+' forms and the century.
	{name: "+ for age 136", in: "900101+9802", kind: Personnummer, canonical: "189001019802"},
	{name: "12 digits with consistent +", in: "18900101+9802", kind: Personnummer, canonical: "189001019802"},
	{name: "12 digits + in the year of turning 100", in: "19260104+9030", kind: Personnummer, canonical: "192601049030"},
	{name: "12 digits + a year before turning 100", in: "19260104+9030", ref: day(2025, 12, 31), reason: ReasonCenturyMismatch},
	{name: "12 digits + for a child", in: "20231231+2388", reason: ReasonCenturyMismatch},
	{name: "10 digits + in the year of turning 100", in: "260104+9030", kind: Personnummer, canonical: "192601049030"},
	{name: "10 digits + beyond MaxAge", in: "900101+9802", ref: day(2060, 1, 1), reason: ReasonCenturyMismatch},
	{name: "12 digits beyond MaxAge", in: "189001019802", ref: day(2060, 1, 1), reason: ReasonCenturyMismatch},
	{name: "12 digits at MaxAge", in: "189001019802", ref: day(2040, 1, 1), kind: Personnummer, canonical: "189001019802"},
	{name: "12 digits with year 0", in: "000002292381", reason: ReasonCenturyMismatch},

	// Future birth.
	{name: "12 digits born after ref", in: "202312312388", ref: day(2023, 12, 30), reason: ReasonFutureBirth},
	{name: "12 digits born on ref", in: "202312312388", ref: day(2023, 12, 31), kind: Personnummer, canonical: "202312312388"},
	{name: "10 digits born later in ref's year", in: "231231-2388", ref: day(2023, 12, 30), reason: ReasonFutureBirth},
	{name: "ref time of day ignored", in: "231231-2388", ref: time.Date(2023, 12, 31, 0, 0, 1, 0, time.UTC), kind: Personnummer, canonical: "202312312388"},
	{name: "samordningsnummer born after ref", in: "202002892392", ref: day(2020, 2, 28), reason: ReasonFutureBirth},
	{name: "samordningsnummer month 00 in ref year counts from 1 Jan", in: "191500722390", ref: day(1915, 1, 1), kind: Samordningsnummer, canonical: "191500722390"},
	{name: "samordningsnummer day 60 counts from the 1st", in: "191711602399", ref: day(1917, 11, 1), kind: Samordningsnummer, canonical: "191711602399"},
	{name: "samordningsnummer day 60 month after ref", in: "191711602399", ref: day(1917, 10, 31), reason: ReasonFutureBirth},

	// Samordningsnummer.
	{name: "samordningsnummer", in: "191401682396", kind: Samordningsnummer, canonical: "191401682396"},
	{name: "samordningsnummer 10 digits +", in: "140168+2396", kind: Samordningsnummer, canonical: "191401682396"},
	{name: "samordningsnummer month 00", in: "19150072-2390", kind: Samordningsnummer, canonical: "191500722390"},
	{name: "samordningsnummer day 60", in: "191711602399", kind: Samordningsnummer, canonical: "191711602399"},
	{name: "samordningsnummer month 00 day 60", in: "310060-2394", kind: Samordningsnummer, canonical: "193100602394"},
	{name: "samordningsnummer 31 April + 60", in: "192004912388", reason: ReasonImpossibleDate},
	{name: "samordningsnummer 30 Feb + 60", in: "19300290-2397", reason: ReasonImpossibleDate},

	// Impossible dates, built so the check digit is right.
	{name: "month 13", in: withCheck("001301238"), reason: ReasonImpossibleDate},
	{name: "31 April", in: withCheck("000431238"), reason: ReasonImpossibleDate},
	{name: "day 32", in: withCheck("000132238"), reason: ReasonImpossibleDate},
	{name: "day 00", in: withCheck("000100238"), reason: ReasonImpossibleDate},
	{name: "day 59", in: withCheck("000159238"), reason: ReasonImpossibleDate},
	{name: "day 92", in: withCheck("000192238"), reason: ReasonImpossibleDate},
	{name: "month 00 with a calendar day", in: withCheck("000015238"), reason: ReasonImpossibleDate},
	{name: "month 99", in: "19999999-9999", reason: ReasonImpossibleDate},

	// Birth number and check digit.
	{name: "birth number 000", in: withCheck("000229000"), reason: ReasonBirthNumber000},
	{name: "birth number 000, 12 digits", in: "20" + withCheck("000229000"), reason: ReasonBirthNumber000},
	{name: "wrong check digit", in: "200002292380", reason: ReasonCheckDigit},
	{name: "wrong check digit, 10 digits", in: "000229-2389", reason: ReasonCheckDigit},
	{name: "swapped digits", in: "200002292831", reason: ReasonCheckDigit},

	// Reserve numbers.
	{name: "school temporary", in: "20150315-TF12", kind: Reserve, canonical: "20150315TF12"},
	{name: "school temporary lower case", in: " 20150315-tf12 ", kind: Reserve, canonical: "20150315TF12"},
	{name: "school temporary without separator", in: "20150315TF12", kind: Reserve, canonical: "20150315TF12"},
	{name: "school temporary 6-digit date", in: "150315-TF12", kind: Reserve, canonical: "20150315TF12"},
	{name: "university interim", in: "150315-X123", kind: Reserve, canonical: "20150315X123"},
	{name: "university interim +", in: "150315+X123", kind: Reserve, canonical: "19150315X123"},
	{name: "university interim J", in: "980101-J001", kind: Reserve, canonical: "19980101J001"},
	{name: "regional reserve R", in: "19980101-R123", kind: Reserve, canonical: "19980101R123"},
	{name: "regional prefix not a date", in: "991399-R123", kind: Reserve, canonical: "991399R123"},
	{name: "regional 8-digit prefix not a date", in: "99001399-AB12", kind: Reserve, canonical: "99001399AB12"},
	{name: "reserve 29 Feb of 1900 still widened", in: "000229+T123", kind: Reserve, canonical: "19000229T123"},
	{name: "reserve 29 Feb of 2000", in: "000229 T123", kind: Reserve, canonical: "20000229T123"},
	{name: "letter last", in: "19980101-123K", kind: Reserve, canonical: "19980101123K"},
	{name: "reserve 5-digit prefix", in: "15031-TF12", reason: ReasonFormat},
	{name: "reserve 3 trailing", in: "150315-TF1", reason: ReasonFormat},
	{name: "letters in the date", in: "1503AB-1234", reason: ReasonFormat},
	{name: "letters only", in: "TF12", reason: ReasonFormat},
	{name: "non-ASCII letter", in: "20150315-TÖ12", reason: ReasonFormat},

	// Birth date only.
	{name: "birth date 8 digits", in: "19150315", kind: BirthDate, canonical: "19150315"},
	{name: "birth date ISO", in: "1915-03-15", kind: BirthDate, canonical: "19150315"},
	{name: "birth date 6 digits", in: "150315", kind: BirthDate, canonical: "20150315"},
	{name: "birth date 6 digits earlier ref", in: "150315", ref: day(2014, 12, 31), kind: BirthDate, canonical: "19150315"},
	{name: "birth date 6 digits later in ref's year", in: "150315", ref: day(2015, 3, 14), reason: ReasonFutureBirth},
	{name: "birth date 30 Feb", in: "1915-02-30", reason: ReasonImpossibleDate},
	{name: "birth date month 00", in: "19150015", reason: ReasonImpossibleDate},
	{name: "birth date future", in: "2027-01-01", reason: ReasonFutureBirth},
	{name: "birth date ISO single digits", in: "1915-3-15", reason: ReasonFormat},

	// Spreadsheet damage.
	{name: "scientific", in: "1.91212E+11", reason: ReasonExcelScientific},
	{name: "scientific decimal comma", in: "1,91212E+11", reason: ReasonExcelScientific},
	{name: "scientific lower case", in: " 1.9e11 ", reason: ReasonExcelScientific},
	{name: "scientific integer mantissa", in: "2E+11", reason: ReasonExcelScientific},
	{name: "scientific no exponent digits", in: "1.91212E+", reason: ReasonFormat},
	{name: "lost one zero", in: "501012389", reason: ReasonExcelLeadingZero},
	{name: "lost two zeros", in: "10012383", reason: ReasonExcelLeadingZero},
	{name: "lost three zeros", in: "1011493", reason: ReasonExcelLeadingZero},
	{name: "9 digits not a number padded", in: "123456789", reason: ReasonFormat},
	{name: "11 digits", in: "12345678901", reason: ReasonFormat},

	// Not an identifier at all.
	{name: "empty", in: "", reason: ReasonEmpty},
	{name: "white space", in: " \t\r\n", reason: ReasonEmpty},
	{name: "no-break space only", in: "\u00a0", reason: ReasonEmpty},
	{name: "word", in: "okänd", reason: ReasonFormat},
	{name: "two separators", in: "000229--2381", reason: ReasonFormat},
	{name: "separator misplaced", in: "00022-92381", reason: ReasonFormat},
	{name: "space inside date", in: "0002 29-2381", reason: ReasonFormat},
	{name: "spaces in two places", in: "000229 23 81", reason: ReasonFormat},
	{name: "13 digits", in: "2000022923810", reason: ReasonFormat},
	{name: "slash", in: "000229/2381", reason: ReasonFormat},
	{name: "trailing separator", in: "0002292381-", reason: ReasonFormat},
	{name: "8 digits with separator", in: "0002-2381", reason: ReasonFormat},
	{name: "Arabic-Indic digits", in: "٠٠٠٢٢٩-٢٣٨١", reason: ReasonFormat},
	{name: "very long", in: strings.Repeat("1", 100), reason: ReasonFormat},
	{name: "invalid UTF-8", in: "000229\xff2381", reason: ReasonFormat},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			ref := tc.ref
			if ref.IsZero() {
				ref = ref2026
			}
			id, err := Parse(tc.in, ref)
			if pid, perr := NewParser(ref).Parse(tc.in); pid != id || ReasonOf(perr) != ReasonOf(err) {
				t.Errorf("Parser.Parse = %v, %v; Parse = %v, %v", pid, perr, id, err)
			}
			if tc.reason != "" {
				checkRejected(t, tc.in, id, err, tc.reason)
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want kind %v", err, tc.kind)
			}
			if id.Kind != tc.kind {
				t.Errorf("kind %v, want %v", id.Kind, tc.kind)
			}
			if id.Canonical != tc.canonical {
				t.Errorf("canonical %q, want %q", id.Canonical, tc.canonical)
			}
			// Round trip.
			if again, err := Parse(id.Canonical, ref); err != nil || again != id {
				t.Errorf("Parse(Canonical) = %#v, %v; want the same ID", again, err)
			}
		})
	}
}

// checkRejected asserts err is an *Error with reason want, the ID is zero,
// and the message holds none of the input's digits.
func checkRejected(t *testing.T, in string, id ID, err error, want Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted as %v, want %s", id.Kind, want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *Error", err)
	}
	if e.Reason != want {
		t.Errorf("reason %s (%s), want %s", e.Reason, e.Detail, want)
	}
	if !errors.Is(err, &Error{Reason: want}) {
		t.Errorf("errors.Is does not match reason %s", want)
	}
	if ReasonOf(err) != want {
		t.Errorf("ReasonOf = %q, want %s", ReasonOf(err), want)
	}
	if id != (ID{}) {
		t.Errorf("non-zero ID returned with an error")
	}
	if e.Detail == "" {
		t.Errorf("empty Detail")
	}
	msg := err.Error()
	if d := digitsOf(in); len(d) >= 2 && strings.Contains(msg, d) {
		t.Errorf("error message contains the input digits: %s", msg)
	}
	if in := strings.TrimSpace(in); len(in) >= 2 && strings.Contains(msg, in) {
		t.Errorf("error message contains the input: %s", msg)
	}
	if !strings.HasPrefix(msg, "identity: "+string(want)) {
		t.Errorf("message %q does not start with the reason", msg)
	}
}

func TestParseBirthDate(t *testing.T) {
	cases := []struct {
		in        string
		ref       time.Time
		canonical string
		reason    Reason
	}{
		{in: "1915-03-15", canonical: "19150315"},
		{in: "19150315", canonical: "19150315"},
		{in: " 150315 ", canonical: "20150315"},
		{in: "150315", ref: day(2014, 12, 31), canonical: "19150315"},
		{in: "150315", ref: day(2015, 3, 14), reason: ReasonFutureBirth},
		{in: "2000-02-29", canonical: "20000229"},
		{in: "000229", canonical: "20000229"},
		{in: "1915-03-15 00:00:00", canonical: "19150315"},
		{in: "1915-03-15T00:00:00", canonical: "19150315"},
		{in: "1915-03-15T00:00:00Z", canonical: "19150315"},
		{in: "1915-03-15T12:00:00", reason: ReasonFormat},
		{in: "19150315Z", reason: ReasonFormat},
		{in: "1900-02-29", reason: ReasonImpossibleDate},
		{in: "19151315", reason: ReasonImpossibleDate},
		{in: "19150300", reason: ReasonImpossibleDate},
		{in: "2026-11-24", reason: ReasonFutureBirth},
		{in: "2026-11-23", canonical: "20261123"},
		{in: "1850-01-01", reason: ReasonCenturyMismatch},
		{in: "", reason: ReasonEmpty},
		{in: "1.9E+07", reason: ReasonExcelScientific},
		{in: "50315", reason: ReasonExcelLeadingZero}, // 050315
		{in: "1231", reason: ReasonExcelLeadingZero},  // 001231
		{in: "101", reason: ReasonExcelLeadingZero},   // 000101
		{in: "99999", reason: ReasonFormat},           // 099999 is no date
		{in: "200002292381", reason: ReasonFormat},    // a personnummer is not a birth date
		{in: "15-03-15", reason: ReasonFormat},
		{in: "okänd", reason: ReasonFormat},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			ref := tc.ref
			if ref.IsZero() {
				ref = ref2026
			}
			id, err := ParseBirthDate(tc.in, ref)
			if pid, perr := NewParser(ref).ParseBirthDate(tc.in); pid != id || ReasonOf(perr) != ReasonOf(err) {
				t.Errorf("Parser.ParseBirthDate = %v, %v; ParseBirthDate = %v, %v", pid, perr, id, err)
			}
			if tc.reason != "" {
				checkRejected(t, tc.in, id, err, tc.reason)
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if id.Kind != BirthDate || id.Canonical != tc.canonical || !id.BirthExact || id.Sex != 0 {
				t.Errorf("got %v %q exact=%v sex=%d, want birthdate %q exact, no sex", id.Kind, id.Canonical, id.BirthExact, id.Sex, tc.canonical)
			}
			if got := id.Birth.Format("20060102"); got != tc.canonical {
				t.Errorf("Birth %s, want %s", got, tc.canonical)
			}
			if p, err := Parse(id.Canonical, ref); err != nil || p != id {
				t.Errorf("Parse(Canonical) disagrees with ParseBirthDate: %v", err)
			}
		})
	}
}

// TestCenturyDependsOnRef parses the same input against two reference
// dates and expects two different people.
func TestCenturyDependsOnRef(t *testing.T) {
	const in = "231229-2382" // test number 202312292382
	a, err := Parse(in, ref2026)
	if err != nil || a.Canonical != "202312292382" {
		t.Fatalf("ref 2026: got %q, %v; want 2023", a.Canonical, err)
	}
	b, err := Parse(in, day(2022, 6, 1))
	if err != nil {
		t.Fatalf("ref 2022: %v", err)
	}
	if b.Canonical != "19"+digitsOf(in) || b.Birth.Year() != 1923 {
		t.Errorf("ref 2022: got year %d; want 1923", b.Birth.Year())
	}
	// The same holds for a '+' form: 100 years earlier than '-' would give.
	c, err := Parse("231229+2382", day(2124, 1, 1))
	if err != nil || c.Canonical != "202312292382" {
		t.Errorf("'+' at ref 2124: got %q, %v; want 2023", c.Canonical, err)
	}
	// A birth date alone follows the same rule.
	d1, _ := ParseBirthDate("231229", ref2026)
	d2, _ := ParseBirthDate("231229", day(2022, 6, 1))
	if d1.Birth.Year() != 2023 || d2.Birth.Year() != 1923 {
		t.Errorf("birth date century: got %d and %d, want 2023 and 1923", d1.Birth.Year(), d2.Birth.Year())
	}
}

func TestBirthAndSex(t *testing.T) {
	cases := []struct {
		in    string
		birth time.Time
		exact bool
		sex   byte
	}{
		{"200002292381", day(2000, 2, 29), true, 'K'},   // birth number 238: 8 even
		{"189001019802", day(1890, 1, 1), true, 'K'},    // 980: 0 even
		{"191401682396", day(1914, 1, 8), true, 'M'},    // samordningsnummer, 239: 9 odd
		{"191500722390", day(1915, 7, 1), false, 'M'},   // month 00: 1 July
		{"191711602399", day(1917, 11, 15), false, 'M'}, // day 60: the 15th
		{"193100602394", day(1931, 7, 1), false, 'M'},   // both: 1 July
		{"20150315-TF12", day(2015, 3, 15), false, 0},   // reserve: prefix date, not exact
		{"991399-R123", time.Time{}, false, 0},          // reserve: no date
		{"20261224-TF12", time.Time{}, false, 0},        // reserve: prefix after ref
		{"1915-03-15", day(1915, 3, 15), true, 0},       // birth date
	}
	for _, tc := range cases {
		id, err := Parse(tc.in, ref2026)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !id.Birth.Equal(tc.birth) || id.BirthExact != tc.exact {
			t.Errorf("%s: birth %v exact %v, want %v exact %v", tc.in, id.Birth, id.BirthExact, tc.birth, tc.exact)
		}
		if !id.Birth.IsZero() && id.Birth.Location() != time.UTC {
			t.Errorf("%s: birth not in UTC", tc.in)
		}
		if id.Sex != tc.sex {
			t.Errorf("%s: sex %q, want %q", tc.in, id.Sex, tc.sex)
		}
	}
}

// A number already in its canonical form is not copied: Canonical is the
// (trimmed) input itself, and Parse allocates nothing; the ingest parses one
// identifier per row. Any other accepted form gets one canonical string of
// its own.
func TestCanonicalSharesCanonicalInput(t *testing.T) {
	cases := append(slices.Clone(parseCases),
		parseCase{name: "12 digits in white space", in: " 200002292381\t", kind: Personnummer, canonical: "200002292381"})
	nshared := 0
	for _, tc := range cases {
		ref := tc.ref
		if ref.IsZero() {
			ref = ref2026
		}
		id, err := Parse(tc.in, ref)
		if tc.reason != "" || err != nil {
			continue // rejections are TestParse's
		}
		in := strings.TrimSpace(tc.in)
		want := in == tc.canonical && (id.Kind == Personnummer || id.Kind == Samordningsnummer)
		if got := unsafe.StringData(id.Canonical) == unsafe.StringData(in); got != want {
			t.Errorf("%s: Parse(%q).Canonical shares the input's memory: %v, want %v", tc.name, tc.in, got, want)
		}
		wantAllocs := 1.0
		if want {
			wantAllocs = 0
			nshared++
		}
		if a := testing.AllocsPerRun(100, func() { Parse(tc.in, ref) }); a != wantAllocs {
			t.Errorf("%s: Parse(%q) allocates %v times, want %v", tc.name, tc.in, a, wantAllocs)
		}
	}
	if nshared < 3 {
		t.Fatalf("only %d cases in canonical form: the test checks too little", nshared)
	}
}

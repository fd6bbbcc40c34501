package verify

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gallra/gallra/schemas/testnumbers"
)

// testIsIdentifier is a minimal stand-in for transforms/identity: a
// candidate is valid if its date part is a date (day + 60 for a
// samordningsnummer, month 00 allowed then), its birth number is not 000,
// and its check digit is right.
func testIsIdentifier(c string) (string, bool) {
	digits := strings.Map(func(r rune) rune {
		if r == '-' || r == '+' {
			return -1
		}
		return r
	}, c)
	var year int
	switch len(digits) {
	case 12:
		cent := digits[:2]
		if cent != "18" && cent != "19" && cent != "20" {
			return "", false
		}
		fmt.Sscan(digits[:4], &year)
		digits = digits[2:]
	case 10:
		fmt.Sscan(digits[:2], &year)
		year += 2000 // the leap years of 19YY and 20YY agree, but for 1900 and 2000; be lenient
	default:
		return "", false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	n := func(i int) int { return int(digits[i]-'0')*10 + int(digits[i+1]-'0') }
	month, day := n(2), n(4)
	kind := KindPersonnummer
	if day >= 60 {
		kind, day = KindSamordningsnummer, day-60
	}
	switch {
	case month == 0 && kind == KindSamordningsnummer:
	case month < 1 || month > 12:
		return "", false
	}
	if month != 0 && day != 0 || kind == KindPersonnummer {
		dim := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
		if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			dim = 29
		}
		if day < 1 || day > dim {
			return "", false
		}
	}
	if digits[6:9] == "000" || !luhn(digits) {
		return "", false
	}
	return kind, true
}

func luhn(d string) bool {
	sum := 0
	for i := range 10 {
		v := int(d[i] - '0')
		if i%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// Official Skatteverket test numbers (CC0), never real people.
const (
	pnr12  = "198112189876" // 811218-9876
	pnr10  = "8112189876"
	pnrY2K = "200301012381" // 10-digit form 0301012381 loses its leading zero as a number
	snr12  = "191401682396" // samordningsnummer, day 08 + 60
)

func TestTestIsIdentifier(t *testing.T) {
	for _, c := range []string{pnr12, pnr10, "811218-9876", "19811218-9876", pnrY2K, "0301012381"} {
		if k, ok := testIsIdentifier(c); !ok || k != KindPersonnummer {
			t.Errorf("testIsIdentifier(%s) = %q, %v; want personnummer", c, k, ok)
		}
	}
	if k, ok := testIsIdentifier(snr12); !ok || k != KindSamordningsnummer {
		t.Errorf("testIsIdentifier(snr) = %q, %v", k, ok)
	}
	for _, c := range []string{"198112189875", "20240315", "1234567890", "5566778899", "8112180009"} {
		if _, ok := testIsIdentifier(c); ok {
			t.Errorf("testIsIdentifier(%s) accepted", c)
		}
	}
}

func kindsOf(t *testing.T, s *Scanner, text string) []string {
	t.Helper()
	fs, err := s.ScanText("t.txt", strings.NewReader(text))
	if err != nil {
		t.Fatalf("ScanText: %v", err)
	}
	var ks []string
	for _, f := range fs {
		ks = append(ks, f.Kind)
	}
	return ks
}

func has(ks []string, k string) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func TestIdentifierForms(t *testing.T) {
	s := &Scanner{IsIdentifier: testIsIdentifier}
	pos := []string{
		pnr12,
		pnr10,
		"pnr=" + pnr12,
		`{"id":"` + pnr12 + `"}`,
		";" + pnr10 + ";",
		"811218-9876",
		"811218+9876",
		"19811218-9876",
		"811218 9876",
		"19811218 - 9876",
		"811218\u20139876", // en dash
		"811218\u00a09876", // no-break space
		"pnr_" + pnr12,
		"(" + pnr10 + ")",
		"1.98112189876E+11",
		"1,98112189876e+11",
		"3.01012381E+8", // lost its leading zero, then scientific
		"\t" + pnr12 + "\r",
	}
	for _, line := range pos {
		if ks := kindsOf(t, s, line); !has(ks, KindPersonnummer) {
			t.Errorf("%q: got %v, want personnummer", line, ks)
		}
	}
	if ks := kindsOf(t, s, "snr "+snr12); !has(ks, KindSamordningsnummer) || has(ks, KindPersonnummer) {
		t.Errorf("samordningsnummer: got %v", ks)
	}
	neg := []string{
		"198112189875",    // wrong check digit
		"20240315",        // a date
		"20240315 1234",   // date and time-like digits, check digit wrong for it
		"1234567890",      // a count
		"5566778899",      // an organisation number shape, month 66
		"1981121898761",   // 13 digits
		"x" + pnr10,       // glued to a letter
		pnr10 + "x",       // glued to a letter
		"a" + pnr12 + "f", // inside a hex token
		"e3b0c44298fc1c149afbf4c8996fb924" + pnr12 + "ae41e4649b934ca495991b7852b855", // inside a SHA-256
		"0f8e2c1a-3b4d-4e5f-8a9b-" + pnr12,                                            // all-digit last UUID group
		"19811218-9876-4e5f-8a9b-0c1d2e3f4a5b",                                        // all-digit first UUID groups
		"811218-98765",                                                                // five after the separator
		"811218--9876",                                                                // two separators
		"811218.9876",                                                                 // not a separator we accept
		"1.981121898E+11",                                                             // too few digits kept to be the number
	}
	for _, line := range neg {
		if ks := kindsOf(t, s, line); len(ks) != 0 {
			t.Errorf("%q: got %v, want nothing", line, ks)
		}
	}
}

func TestNilIsIdentifierFailsClosed(t *testing.T) {
	s := &Scanner{}
	for _, line := range []string{"20240315 1234", pnr12, "1234567890"} {
		if ks := kindsOf(t, s, line); !has(ks, KindIdentifier) {
			t.Errorf("%q: got %v, want identifier", line, ks)
		}
	}
	if ks := kindsOf(t, s, "a"+pnr12); len(ks) != 0 {
		t.Errorf("hex-glued candidate with nil IsIdentifier: %v", ks)
	}
}

func TestOtherKindFromIsIdentifier(t *testing.T) {
	s := &Scanner{IsIdentifier: func(string) (string, bool) { return "reserve", true }}
	if ks := kindsOf(t, s, pnr12); len(ks) != 1 || ks[0] != KindIdentifier {
		t.Errorf("got %v, want [identifier]", ks)
	}
}

func TestPhone(t *testing.T) {
	s := &Scanner{IsIdentifier: testIsIdentifier}
	pos := []string{
		"070-123 45 67",
		"0701234567",
		"070 123 45 67",
		"070-1234567",
		"tel: 073-987 65 43.",
		"+46 70 123 45 67",
		"+46701234567",
		"+46 (0)70-123 45 67",
		"+46 070 123 45 67",
		"0046701234567",
		"0046 8 123 456 78",
		"08-123 456 78",
		"08-12 34 56",
		"036-10 20 30",
		"036102030",
		"0910-12345",
		"(08) 123 456 78",
		"(036) 10 20 30",
		"+46 8 123 456 78",
		"+47 22 12 34 56",
		`"phone":"0701234567"`,
		";070-123 45 67;",
	}
	for _, line := range pos {
		if ks := kindsOf(t, s, line); !has(ks, KindPhone) {
			t.Errorf("%q: got %v, want phone", line, ks)
		}
	}
	neg := []string{
		"2024-03-15",
		"2024-03-15T05:40:00Z",
		"2024-03-15 05:40:00.123456",
		"05:40:00",
		"08:30-09:15",
		"12345.67",
		"0.0701234567",
		"1,0701234567",
		"20261123T054000Z-1a2b",
		"run 20261123T054000Z-1a2b finished",
		"01234567-89ab-4cde-8f01-234567890123",
		"c0701234-5678-4abc-8def-0701234567ab",
		"{12345678-0361-0203-abcd-0123456789ab}", // UUID groups that look like 0361-0203
		"12345678-1234-4abc-8def-070123456789",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"0a70123456789b",
		"08-02-2024",
		"31-12-2023",
		"0 123 456",
		"0680",
		"01234567",
		"00012345678",
		"+0100",
		"+1 2024-03-15",
		"07012345678", // 11 digits: not a mobile number
		"070123456",   // 9 digits: not a mobile number
		"1700000000",
		"x0701234567",
		"0701234567y",
		"v1.0701234567",
	}
	for _, line := range neg {
		if ks := kindsOf(t, s, line); has(ks, KindPhone) {
			t.Errorf("%q: got %v, want no phone", line, ks)
		}
	}
}

func TestEmail(t *testing.T) {
	s := &Scanner{IsIdentifier: testIsIdentifier}
	pos := []string{
		"anna.andersson@example.se",
		"<mailto:a@b.co>",
		"Åsa.Öberg@kommun.se",
		"x+tag@sub.domain.example.org.",
		`"email":"o'brien@example.com"`,
		"user@xn--rebro-jua.se",
		"anna@företag.se",
	}
	for _, line := range pos {
		if ks := kindsOf(t, s, line); !has(ks, KindEmail) {
			t.Errorf("%q: got %v, want email", line, ks)
		}
	}
	neg := []string{
		"@media screen",
		"user@localhost",
		"a@b.c",
		"name@2x",
		"@",
		"a@@b.se",
		"...@example.se",
		"a@example.123",
		"a@.se",
	}
	for _, line := range neg {
		if ks := kindsOf(t, s, line); has(ks, KindEmail) {
			t.Errorf("%q: got %v, want no email", line, ks)
		}
	}
}

func TestSecrets(t *testing.T) {
	key := []byte("0123456789abcdef0123456789ABCDEF")
	s := &Scanner{IsIdentifier: testIsIdentifier, Secrets: append([]string{""}, SecretForms(key)...)}
	for _, form := range SecretForms(key) {
		ks := kindsOf(t, s, "prefix"+form+"suffix")
		if !has(ks, KindSecret) {
			t.Errorf("secret form %d not found", len(form))
		}
	}
	if ks := kindsOf(t, s, "nothing secret here"); len(ks) != 0 {
		t.Errorf("got %v", ks)
	}
	_, err := (&Scanner{Secrets: []string{"short"}}).ScanText("x", strings.NewReader("short"))
	if err == nil {
		t.Fatal("short secret accepted")
	}
	if strings.Contains(err.Error(), "short\"") || strings.Contains(err.Error(), ": short") {
		t.Errorf("error repeats the secret: %v", err)
	}
}

func TestDetectInt(t *testing.T) {
	d, _ := newDetector(&Scanner{IsIdentifier: testIsIdentifier})
	cases := []struct {
		v    int64
		want kinds
	}{
		{198112189876, kindPersonnummer},
		{-198112189876, kindPersonnummer},
		{8112189876, kindPersonnummer},
		{301012381, kindPersonnummer}, // 0301012381 without its leading zero
		{191401682396, kindSamordningsnummer},
		{198112189875, 0},
		{20240315, 0},
		{1234567890, 0},
		{0, 0},
		{-1 << 63, 0},
	}
	for _, c := range cases {
		if got := d.detectInt(c.v); got != c.want {
			t.Errorf("detectInt(%d) = %b, want %b", c.v, got, c.want)
		}
	}
	if d.detectFloat(198112189876) != kindPersonnummer || d.detectFloat(8112189876.5) != 0 {
		t.Error("detectFloat")
	}
}

// TestOfficialTestNumbers writes every Skatteverket test number in one of
// several forms, one per line, and expects every line to be found.
func TestOfficialTestNumbers(t *testing.T) {
	forms := []func(string) string{
		func(n string) string { return n },
		func(n string) string { return n[2:8] + "-" + n[8:] },
		func(n string) string { return n[:8] + "-" + n[8:] },
		func(n string) string { return `{"pnr":"` + n[2:] + `"}` },
		func(n string) string { return "x;" + n[2:8] + " " + n[8:] + ";y" },
	}
	for _, set := range []struct {
		nums []string
		kind string
	}{
		{testnumbers.Personnummer(), KindPersonnummer},
		{testnumbers.Samordningsnummer(), KindSamordningsnummer},
	} {
		var b strings.Builder
		valid := 0
		for i, n := range set.nums {
			if _, ok := testIsIdentifier(n); ok {
				valid++
			}
			b.WriteString(forms[i%len(forms)](n))
			b.WriteByte('\n')
		}
		s := &Scanner{IsIdentifier: testIsIdentifier, MaxPerFile: -1}
		fs, err := s.ScanText("numbers.txt", strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, f := range fs {
			if f.Kind == set.kind {
				got++
			}
		}
		if got != valid || valid < len(set.nums)-30 {
			t.Errorf("%s: found %d lines, want %d of %d", set.kind, got, valid, len(set.nums))
		}
	}
}

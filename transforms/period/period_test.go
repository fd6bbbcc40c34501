package period

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

var ref = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func TestParseDate(t *testing.T) {
	cases := []struct {
		in   string
		want string // "" = invalid
	}{
		{"2024-03-15", "2024-03-15"},
		{"20240315", "2024-03-15"},
		{" 2024-03-15 ", "2024-03-15"},
		{"2024-02-29", "2024-02-29"},
		{"2023-02-29", ""},
		{"1900-02-29", ""},
		{"2000-02-29", "2000-02-29"},
		{"2023-04-31", ""},
		{"2023-13-01", ""},
		{"2023-00-10", ""},
		{"2023-01-00", ""},
		{"31/12/2023", ""},
		{"2023-1-5", ""},
		{"2023/01/05", ""},
		{"", ""},
		{"2023-01-0x", ""},
	}
	for _, c := range cases {
		got, ok := ParseDate(c.in)
		if c.want == "" {
			if ok {
				t.Errorf("ParseDate(%q) = %v, want invalid", c.in, got)
			}
			continue
		}
		if !ok || got.Format("2006-01-02") != c.want {
			t.Errorf("ParseDate(%q) = %v %v, want %s", c.in, got, ok, c.want)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	cases := []struct {
		start, end string
		field      string
		reason     Reason
	}{
		{"2024-01-01", "2024-06-30", "", ""},
		{"2024-01-01", "", "", ""},
		{"2024-01-01", "2024-01-01", "", ""}, // a one-day measure
		{"", "2024-06-30", "start", ReasonMissingStart},
		{"2023-13-45", "", "start", ReasonBadDate},
		{"2024-01-01", "31/12/2023", "end", ReasonBadDate},
		{"2024-06-01", "2024-05-31", "end", ReasonEndBefore},
		{"1969-12-31", "", "start", ReasonOutOfRange},
		{"2028-01-01", "", "start", ReasonFutureStart},
	}
	for _, c := range cases {
		p, err := Parse(c.start, c.end, ref)
		if c.reason == "" {
			if err != nil {
				t.Errorf("Parse(%q,%q): %v", c.start, c.end, err)
			}
			if (c.end == "") != p.Ongoing() {
				t.Errorf("Parse(%q,%q).Ongoing() = %v", c.start, c.end, p.Ongoing())
			}
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Reason != c.reason || pe.Field != c.field {
			t.Errorf("Parse(%q,%q) error = %v, want %s %s", c.start, c.end, err, c.field, c.reason)
		}
	}
}

func BenchmarkParseDate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseDate("2024-03-15"); !ok {
			b.Fatal("bad")
		}
	}
}

// TestParseDateLikeTimeDate checks every month and day number 0-32 of every
// year 0-9999, in both forms, against time.Date: the same instant and
// location for a real day, refused otherwise.
func TestParseDateLikeTimeDate(t *testing.T) {
	for y := 0; y <= 9999; y++ {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				want := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
				real := m >= 1 && m <= 12 && d >= 1 && want.Day() == d && want.Month() == time.Month(m)
				for _, s := range []string{fmt.Sprintf("%04d-%02d-%02d", y, m, d), fmt.Sprintf("%04d%02d%02d", y, m, d)} {
					got, ok := ParseDate(s)
					if ok != real || ok && got != want {
						t.Fatalf("ParseDate(%q) = %v, %v; want %v, %v", s, got, ok, want, real)
					}
				}
			}
		}
	}
}

// BenchmarkParseDateTimeDate is BenchmarkParseDate's baseline, side by side:
// the same checks done through time.Date, as ParseDate did before it
// computed the day number itself.
func BenchmarkParseDateTimeDate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if t := time.Date(digits("2024"), time.Month(digits("03")), digits("15"), 0, 0, 0, 0, time.UTC); t.Day() != 15 {
			b.Fatal("bad")
		}
	}
}

// BenchmarkParse is one row's period, both dates set: what every ingested
// row costs.
func BenchmarkParse(b *testing.B) {
	ref := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("2024-03-15", "2024-09-30", ref); err != nil {
			b.Fatal(err)
		}
	}
}

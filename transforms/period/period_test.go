package period

import (
	"errors"
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

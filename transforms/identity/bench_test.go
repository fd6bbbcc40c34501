package identity

import (
	"testing"

	"github.com/gallra/gallra/schemas/testnumbers"
)

// BenchmarkParse parses test numbers in the spellings exports use. One op
// is one call of a Parser's Parse, as the ingest makes them; "12digits" via
// the package's Parse, which works out the reference date on each call, is
// "12digits-Parse".
func BenchmarkParse(b *testing.B) {
	pnr := testnumbers.Personnummer()
	forms := map[string]func(string) string{
		"12digits":  func(s string) string { return s },
		"12hyphen":  func(s string) string { return s[:8] + "-" + s[8:] },
		"10hyphen":  func(s string) string { return tenDigit(s, '-') },
		"10plain":   func(s string) string { return tenDigit(s, 0) },
		"spaces":    func(s string) string { return " " + s[2:8] + " - " + s[8:] + " " },
		"badcheck":  func(s string) string { return s[:11] + string('0'+(s[11]-'0'+1)%10) },
		"reserve":   func(s string) string { return s[:8] + "-TF" + s[10:] },
		"birthdate": func(s string) string { return s[:4] + "-" + s[4:6] + "-" + s[6:8] },
	}
	for name, form := range forms {
		// People under 100 at ref2026, so that '-' and no separator are right.
		inputs := make([]string, 0, 1024)
		for i := 0; i < len(pnr) && len(inputs) < cap(inputs); i += 13 {
			if pnr[i][:4] >= "1927" {
				inputs = append(inputs, form(pnr[i]))
			}
		}
		if len(inputs) != cap(inputs) {
			b.Fatalf("only %d inputs", len(inputs))
		}
		p := NewParser(ref2026)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, _ = p.Parse(inputs[i&1023])
				i++
			}
		})
		if name == "12digits" {
			b.Run(name+"-Parse", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					_, _ = Parse(inputs[i&1023], ref2026)
					i++
				}
			})
		}
	}
}

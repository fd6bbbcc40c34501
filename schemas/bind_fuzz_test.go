package schemas

import (
	"regexp"
	"strings"
	"testing"
)

var longDigits = regexp.MustCompile(`[0-9]{5,}`)

// FuzzBind binds arbitrary header rows (a file without a header makes its
// first data row the "header") to a schema: Bind must never panic, and a
// drift error must never repeat a cell that looks like data.
func FuzzBind(f *testing.F) {
	s, err := Lookup("amea")
	if err != nil {
		f.Fatal(err)
	}
	var names []string
	for _, c := range s.Columns {
		names = append(names, c.Name)
	}
	f.Add(strings.Join(names, "\x1f"))
	f.Add(strings.Join(append(names, "Kommentar"), "\x1f"))
	f.Add("19121212-1212\x1fAnna Andersson\x1fanna@example.com\x1f070-123 45 67")
	f.Add("Personnummer\x1fPERSONNUMMER\x1f")
	f.Fuzz(func(t *testing.T, joined string) {
		header := strings.Split(joined, "\x1f")
		b, err := s.Bind(header)
		if err == nil {
			if len(b.Select) != len(s.ReadColumns()) || b.Width != len(header) {
				t.Fatalf("binding %+v for %d columns", b, len(header))
			}
			return
		}
		msg := err.Error()
		for _, cell := range header {
			for _, run := range longDigits.FindAllString(cell, -1) {
				if strings.Contains(msg, run) {
					t.Fatalf("drift error repeats digits %q: %s", run, msg)
				}
			}
			if at := strings.IndexByte(cell, '@'); at > 0 && len(cell) > 3 && strings.Contains(msg, cell) {
				t.Fatalf("drift error repeats an e-mail-like cell: %s", msg)
			}
		}
	})
}

package source

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// TestWindows1252ReadsLikeItsUTF8Translation reads random Windows-1252
// exports (quoted fields holding delimiters, quotes and line breaks, CRLF,
// "sep=" lines, malformed quoting, Swedish letters and every other byte the
// charset decodes) and the same text stored as UTF-8: header, delimiter,
// every row and every error's reason and line must be the same. Most of the
// files are parsed as they are and decoded field by field (see fieldwise);
// the test checks that they were, and that the files that cannot be (a
// non-ASCII delimiter) read the same too.
func TestWindows1252ReadsLikeItsUTF8Translation(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1252))
	// Every byte Windows-1252 decodes to a character, for the fields.
	var chars []rune
	for b := 0x20; b < 0x100; b++ {
		if c := charmap.Windows1252.DecodeByte(byte(b)); c != '\uFFFD' {
			chars = append(chars, c)
		}
	}
	field := func(delim rune) string {
		var b strings.Builder
		n := rng.IntN(8)
		for range n {
			switch rng.IntN(12) {
			case 0:
				b.WriteRune(delim)
			case 1:
				b.WriteByte('"')
			case 2:
				b.WriteString("\r\n")
			case 3:
				b.WriteByte('\n')
			case 4, 5:
				b.WriteRune([]rune("åäöÅÄÖé€…\u00a0")[rng.IntN(10)])
			default:
				b.WriteRune(chars[rng.IntN(len(chars))])
			}
		}
		s := b.String()
		special := strings.ContainsAny(s, "\"\r\n"+string(delim))
		switch {
		case special && rng.IntN(20) == 0:
			return s // malformed: left unquoted
		case special || rng.IntN(4) == 0:
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
		return s
	}
	fieldwiseFiles := 0
	for i := range 400 {
		delim := []rune{';', ',', '\t', '|'}[rng.IntN(4)]
		var text strings.Builder
		switch rng.IntN(5) {
		case 0:
			text.WriteString("sep=" + string(delim) + "\n")
		case 1:
			delim = '¤' // a delimiter Windows-1252 has, but not ASCII
			text.WriteString("sep=¤\r\n")
		}
		eol := []string{"\n", "\r\n"}[rng.IntN(2)]
		cols := 1 + rng.IntN(6)
		header := make([]string, cols)
		for c := range header {
			header[c] = []string{"Personnummer", "Åtgärd", "Startdatum", "Slutdatum", "Kommun", "Namn"}[c]
		}
		text.WriteString(strings.Join(header, string(delim)) + eol)
		for range rng.IntN(30) {
			rec := make([]string, cols+rng.IntN(3)-1)
			for c := range rec {
				rec[c] = field(delim)
			}
			text.WriteString(strings.Join(rec, string(delim)))
			if rng.IntN(10) > 0 {
				text.WriteString(eol)
			}
		}
		utf8Text := text.String()
		cp1252, err := charmap.Windows1252.NewEncoder().String(utf8Text)
		if err != nil {
			t.Fatalf("file %d: not Windows-1252: %v", i, err)
		}
		var sel []int
		if rng.IntN(2) == 0 {
			for c := range cols {
				if rng.IntN(2) == 0 {
					sel = append(sel, c)
				}
			}
		}

		read := func(content, enc string) (Reader, []result, error) {
			r, err := Open(writeFile(t, "x.csv", []byte(content)), Options{Encoding: enc})
			if err != nil {
				return nil, nil, err
			}
			t.Cleanup(func() { r.Close() })
			if sel != nil {
				r.Select(sel)
			}
			return r, drain(t, r), nil
		}
		r1252, got, err1252 := read(cp1252, "windows-1252")
		rUTF8, want, errUTF8 := read(utf8Text, "utf-8")
		if !sameError(err1252, errUTF8) {
			t.Fatalf("file %d: Open: %v, want %v\n%q", i, err1252, errUTF8, utf8Text)
		}
		if err1252 != nil {
			continue
		}
		if r1252.(*csvReader).fieldDec != nil {
			fieldwiseFiles++
		} else if delim < 0x80 {
			t.Errorf("file %d: delimiter %q, but the file was decoded as a stream", i, delim)
		}
		if !reflect.DeepEqual(r1252.Header(), rUTF8.Header()) || r1252.Delimiter() != rUTF8.Delimiter() {
			t.Fatalf("file %d: header %q, delimiter %q; want %q, %q", i, r1252.Header(), r1252.Delimiter(), rUTF8.Header(), rUTF8.Delimiter())
		}
		if len(got) != len(want) {
			t.Fatalf("file %d: %d results, want %d\n%q", i, len(got), len(want), utf8Text)
		}
		for j := range got {
			if !reflect.DeepEqual(got[j].row, want[j].row) || !sameError(got[j].err, want[j].err) {
				t.Fatalf("file %d, result %d: %+v, %v; want %+v, %v\n%q", i, j, got[j].row, got[j].err, want[j].row, want[j].err, utf8Text)
			}
		}
	}
	if fieldwiseFiles < 200 {
		t.Fatalf("only %d of the files were decoded field by field", fieldwiseFiles)
	}
}

// sameError reports whether a and b are both nil, or errors of the same
// type with the same reason and line.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var ra, rb *RowError
	if errors.As(a, &ra) {
		return errors.As(b, &rb) && ra.Reason == rb.Reason && ra.Line == rb.Line
	}
	var fa, fb *FileError
	if errors.As(a, &fa) {
		return errors.As(b, &fb) && fa.Reason == fb.Reason && fa.Line == fb.Line
	}
	return false
}

package csvscan

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// commas are the delimiters the tests read with: the three an export uses,
// and multi-byte ones, which take the scanner's other path.
var commas = []rune{';', ',', '\t', '§', '€'}

// selection turns a fuzzed mask into a selection: nil (every field) for 0,
// else the columns of the set bits 0..14, reversed when bit 15 is set.
func selection(mask uint16) []int {
	if mask == 0 {
		return nil
	}
	var cols []int
	for c := range 15 {
		if mask&(1<<c) != 0 {
			cols = append(cols, c)
		}
	}
	if mask&(1<<15) != 0 {
		slices.Reverse(cols)
	}
	return cols
}

// sameAsCSV reads input with csv.Reader and with a Scanner side by side
// and fails at the first record, error or line where they differ.
func sameAsCSV(t *testing.T, input []byte, comma rune, cols []int, bufSize int) {
	t.Helper()
	cr := csv.NewReader(bytes.NewReader(input))
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	sc := New(bufio.NewReaderSize(bytes.NewReader(input), bufSize), comma)
	sc.Select(cols)
	for n := 0; ; n++ {
		if n > len(input)+1 {
			t.Fatal("more records than bytes")
		}
		want, werr := cr.Read()
		got, gerr := sc.Read()
		if werr == io.EOF || gerr == io.EOF {
			if werr != gerr {
				t.Fatalf("record %d: csv %v, scanner %v", n, werr, gerr)
			}
			return
		}
		if werr != nil || gerr != nil {
			var wpe, gpe *csv.ParseError
			if !errors.As(werr, &wpe) || !errors.As(gerr, &gpe) || *wpe != *gpe {
				t.Fatalf("record %d: csv error %v, scanner error %v", n, werr, gerr)
			}
			if sc.EndedInQuote() {
				if wpe.Err != csv.ErrQuote {
					t.Fatalf("record %d: open quote at the end, but csv says %v", n, werr)
				}
				if _, err := cr.Read(); err != io.EOF {
					t.Fatalf("record %d: open quote at the end, but csv reads on: %v", n, err)
				}
				if _, err := sc.Read(); err != io.EOF {
					t.Fatalf("record %d: open quote at the end, but the scanner reads on: %v", n, err)
				}
				return
			}
			continue
		}
		if sc.NumFields() != len(want) {
			t.Fatalf("record %d: %d fields, csv %d", n, sc.NumFields(), len(want))
		}
		if line, _ := cr.FieldPos(0); sc.Line() != line {
			t.Fatalf("record %d: line %d, csv %d", n, sc.Line(), line)
		}
		kept := want
		if cols != nil {
			kept = make([]string, len(cols))
			for i, c := range cols {
				if c < len(want) {
					kept[i] = want[c]
				}
			}
		}
		if !slices.Equal(got, kept) {
			t.Fatalf("record %d: fields %q, csv %q", n, got, kept)
		}
	}
}

var seeds = []string{
	"Personnummer;Namn\n19121212-1212;Anna\n",
	"\"Personnummer\";\"Namn\"\r\n\"19121212-1212\";\"Anna \"\"A\"\"\"\r\n",
	"a;b;c\n\n\n1;2;3\r\n4;5\r\n;;\n",
	"a;\"multi\nline\r\nfield\";c\nd;e;f",
	"a;b\n1;\"unterminated\n2;3\n",
	"a;b\n1;bare\"quote;x\n2;3\n",
	"a;b\n1;ends in quote\";x\n2;last\"\n3;4\n",
	"a;b\n\"x\"y;1\n2;3\n",
	"a;b\n1;2\r",
	"a;b\n1;\"\"\n\"\";\n",
	"a§b§c\n1§\"2§3\"§4\n",
	"a€b\n1€\"x\"€\n",
	"a,b,c\n1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n",
	"\"a\";b\n\"x\"\"\n",
	"\"",
	"\r\n\r\n",
	"a\tb\n1\t\"2\n\n3\"\t4\n",
}

func TestSameAsCSV(t *testing.T) {
	masks := []uint16{0, 1, 2, 5, 0xffff, 1<<15 | 0b1011, 1 << 13}
	for _, in := range seeds {
		for _, comma := range commas {
			for _, m := range masks {
				for _, size := range []int{16, 4096} {
					sameAsCSV(t, []byte(strings.ReplaceAll(in, ";", string(comma))), comma, selection(m), size)
				}
			}
		}
	}
}

// FuzzSameAsCSV: whatever the bytes, delimiter and selection, a Scanner
// reads what csv.Reader reads.
func FuzzSameAsCSV(f *testing.F) {
	for i, in := range seeds {
		f.Add([]byte(in), uint8(i), uint16(i*2654435761))
	}
	f.Fuzz(func(t *testing.T, data []byte, commaSel uint8, mask uint16) {
		comma := commas[int(commaSel)%len(commas)]
		sameAsCSV(t, data, comma, selection(mask), 16+int(commaSel)%64)
	})
}

// EndedInQuote tells a file cut off inside a quoted field from a bad quote
// in its last record; both are csv.ErrQuote.
func TestEndedInQuote(t *testing.T) {
	for _, c := range []struct {
		in   string
		open bool
	}{
		{`"abc`, true},
		{"\"abc\n", true},
		{"\n\r\n\"a\"\"b", true},
		{"x;\"a\nb\nc", true},
		{"a;b\n\"c", true},
		{"\"a\"\r\n\"b", true},
		{"a;b\n1;\"cut off\nacross lines\n", true},
		{`"abc"`, false},
		{"\"abc\"\n", false},
		{"\"abc\"x;y\n", false},
		{"a;b\"c;\"d", false},
		{"a;b\n1;\"closed\"x", false},
	} {
		sc := New(bufio.NewReader(strings.NewReader(c.in)), ';')
		open, quoteErrs := false, 0
		for n := 0; n <= len(c.in); n++ {
			_, err := sc.Read()
			if err == io.EOF {
				break
			}
			if errors.Is(err, csv.ErrQuote) {
				quoteErrs++
			}
			if err != nil && sc.EndedInQuote() {
				if open {
					t.Fatalf("%q: two open quotes at the end", c.in)
				}
				open = true
			}
		}
		if open != c.open {
			t.Errorf("%q: EndedInQuote %v, want %v", c.in, open, c.open)
		}
		if open && quoteErrs != 1 {
			t.Errorf("%q: %d quote errors, want the one", c.in, quoteErrs)
		}
	}
}

// A record's kept fields stay as they were when the next record is read,
// and a selected column past the end of a record reads as "".
func TestFieldsOutliveTheNextRead(t *testing.T) {
	sc := New(bufio.NewReaderSize(strings.NewReader("p;n;e\n1;Anna;a@x\n2\n"), 16), ';')
	sc.Select([]int{2, 0})
	first, err := sc.Read()
	if err != nil {
		t.Fatal(err)
	}
	held := slices.Clone(first)
	if _, err := sc.Read(); err != nil {
		t.Fatal(err)
	}
	second, err := sc.Read()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(held, []string{"e", "p"}) {
		t.Fatalf("first record now %q", held)
	}
	if !slices.Equal(second, []string{"", "2"}) || sc.NumFields() != 1 {
		t.Fatalf("short record: %q, %d fields", second, sc.NumFields())
	}
}

func TestNewPanicsOnInvalidDelimiter(t *testing.T) {
	for _, c := range []rune{0, '"', '\r', '\n', 0xFFFD, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%q) did not panic", c)
				}
			}()
			New(bufio.NewReader(strings.NewReader("")), c)
		}()
	}
}

package source

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// secret is planted in malformed records; no error message may contain it.
const secret = "19121212-1212"

func writeFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func open(t *testing.T, name, content string, opt Options) Reader {
	t.Helper()
	r, err := Open(writeFile(t, name, []byte(content)), opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// result is one call of Next.
type result struct {
	row Row
	err error
}

// drain calls Next until io.EOF or a *FileError (at most a million times).
func drain(t *testing.T, r Reader) []result {
	t.Helper()
	var out []result
	for range 1_000_000 {
		row, err := r.Next()
		if err == io.EOF {
			return out
		}
		out = append(out, result{row, err})
		var fe *FileError
		if errors.As(err, &fe) {
			return out
		}
	}
	t.Fatal("Next never returned io.EOF")
	return nil
}

// rows returns the rows of r, failing on any error.
func rows(t *testing.T, r Reader) []Row {
	t.Helper()
	var out []Row
	for _, res := range drain(t, r) {
		if res.err != nil {
			t.Fatalf("Next: %v", res.err)
		}
		out = append(out, res.row)
	}
	return out
}

func checkNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got nil")
	}
	if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, "1212") {
		t.Errorf("error message leaks a field value: %s", msg)
	}
}

func TestDelimiterDetection(t *testing.T) {
	tests := []struct {
		name, content string
		want          rune
	}{
		{"semicolon", "a;b;c\n1;2;3\n", ';'},
		{"comma", "a,b,c\n1,2,3\n", ','},
		{"tab", "a\tb\tc\n1\t2\t3\n", '\t'},
		{"tie goes to semicolon", "a;b,c\n1;2,3\n", ';'},
		{"comma beats semicolon", "a,b,c;d\n1,2,3;4\n", ','},
		{"single column", "personnummer\n1\n", ';'},
		{"quoted delimiters do not count", "\"a,b,c\";d;e\n1;2;3\n", ';'},
		{"blank lines before header", "\n\r\na\tb\n1\t2\n", '\t'},
		{"later lines do not count", "a;b\n1,2,3,4,5\n", ';'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := open(t, "x.csv", tt.content, Options{})
			if got := r.Delimiter(); got != tt.want {
				t.Fatalf("Delimiter() = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("forced", func(t *testing.T) {
		r := open(t, "x.csv", "a|b;c\n1|2;3\n", Options{Delimiter: '|'})
		if got := r.Header(); !reflect.DeepEqual(got, []string{"a", "b;c"}) {
			t.Fatalf("Header() = %q", got)
		}
	})
}

func TestSepLine(t *testing.T) {
	tests := []struct {
		name, content string
		opt           Options
		delim         rune
		header        []string
	}{
		{"plain", "sep=,\na,b;c\n1,2;3\n", Options{}, ',', []string{"a", "b;c"}},
		{"quoted", "\"sep=|\"\r\na|b\r\n1|2\r\n", Options{}, '|', []string{"a", "b"}},
		{"padded", "sep=;;;\na;b;c;d\n1;2;3;4\n", Options{}, ';', []string{"a", "b", "c", "d"}},
		{"after BOM", "\uFEFFsep=\t\na\tb\n1\t2\n", Options{}, '\t', []string{"a", "b"}},
		{"option wins, line still skipped", "sep=,\na;b,c\n1;2,3\n", Options{Delimiter: ';'}, ';', []string{"a", "b,c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := open(t, "x.csv", tt.content, tt.opt)
			if got := r.Delimiter(); got != tt.delim {
				t.Errorf("Delimiter() = %q, want %q", got, tt.delim)
			}
			if got := r.Header(); !reflect.DeepEqual(got, tt.header) {
				t.Errorf("Header() = %q, want %q", got, tt.header)
			}
			got := rows(t, r)
			if len(got) != 1 || got[0].Line != 3 {
				t.Errorf("rows = %+v, want one row on line 3", got)
			}
		})
	}
	t.Run("only a sep line", func(t *testing.T) {
		_, err := Open(writeFile(t, "x.csv", []byte("sep=;\n")), Options{})
		var fe *FileError
		if !errors.As(err, &fe) || fe.Reason != ReasonNoHeader {
			t.Fatalf("err = %v, want FileError no_header", err)
		}
	})
	t.Run("not a sep line", func(t *testing.T) {
		r := open(t, "x.csv", "sep=ab;x\n1;2\n", Options{})
		if got := r.Header(); !reflect.DeepEqual(got, []string{"sep=ab", "x"}) {
			t.Fatalf("Header() = %q", got)
		}
	})
}

func TestQuotedFieldsAndLineNumbers(t *testing.T) {
	content := "id;text;n\r\n" + // line 1
		"1;\"a;b\";x\r\n" + // line 2
		"2;\"she said \"\"hi\"\"\";y\r\n" + // line 3
		"3;\"first\r\nsecond\nthird\";z\r\n" + // lines 4-6
		"\r\n" + // line 7, blank
		"4;plain;w\r\n" + // line 8
		"5;\"\";\n" // line 9
	r := open(t, "x.csv", content, Options{})
	got := rows(t, r)
	want := []Row{
		{Line: 2, Fields: []string{"1", "a;b", "x"}, NumFields: 3},
		{Line: 3, Fields: []string{"2", `she said "hi"`, "y"}, NumFields: 3},
		{Line: 4, Fields: []string{"3", "first\nsecond\nthird", "z"}, NumFields: 3},
		{Line: 8, Fields: []string{"4", "plain", "w"}, NumFields: 3},
		{Line: 9, Fields: []string{"5", "", ""}, NumFields: 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows =\n%+v\nwant\n%+v", got, want)
	}
}

func TestFieldValuesNotTrimmed(t *testing.T) {
	r := open(t, "x.csv", " id ; name \n 1 ;  Åsa \n", Options{})
	if got := r.Header(); !reflect.DeepEqual(got, []string{"id", "name"}) {
		t.Fatalf("Header() = %q, want trimmed", got)
	}
	got := rows(t, r)
	if want := []string{" 1 ", "  Åsa "}; !reflect.DeepEqual(got[0].Fields, want) {
		t.Fatalf("Fields = %q, want %q", got[0].Fields, want)
	}
}

// swedish is Windows-1252 for "Åsa Öberg;Västerås;Ängelholm;René;Ädelö".
var swedish = []byte("\xC5sa \xD6berg;V\xE4ster\xE5s;\xC4ngelholm;Ren\xE9;\xC4del\xF6")

func TestEncodings(t *testing.T) {
	wantSwedish := []string{"Åsa Öberg", "Västerås", "Ängelholm", "René", "Ädelö"}
	header := []byte("namn;ort;kommun;x;y\n")
	tests := []struct {
		name    string
		content []byte
		opt     Options
		enc     string
		header0 string
		fields  []string
	}{
		{"utf-8", []byte("namn;ort;kommun;x;y\nÅsa Öberg;Västerås;Ängelholm;René;Ädelö\n"), Options{}, encUTF8, "namn", wantSwedish},
		{"utf-8 BOM, quoted first header", []byte("\xEF\xBB\xBF\"Personnummer\";\"Namn\"\n\"x\";\"Åsa\"\n"), Options{}, encUTF8, "Personnummer", []string{"x", "Åsa"}},
		{"utf-8 BOM, forced utf-8", []byte("\xEF\xBB\xBF\"Personnummer\";\"Namn\"\n\"x\";\"Åsa\"\n"), Options{Encoding: "UTF-8"}, encUTF8, "Personnummer", []string{"x", "Åsa"}},
		{"windows-1252 detected", append(header, append(swedish, '\n')...), Options{}, encCP1252, "namn", wantSwedish},
		{"windows-1252 forced", append(header, append(swedish, '\n')...), Options{Encoding: "windows-1252"}, encCP1252, "namn", wantSwedish},
		{"cp1252 alias", append(header, append(swedish, '\n')...), Options{Encoding: "cp1252"}, encCP1252, "namn", wantSwedish},
		{"latin1 alias", append(header, append(swedish, '\n')...), Options{Encoding: "latin1"}, encCP1252, "namn", wantSwedish},
		{"windows-1252 header", []byte("\xC5r;m\xE5nad\n2024;3\n"), Options{}, encCP1252, "År", []string{"2024", "3"}},
		{"utf-8 forced to windows-1252", []byte("a;b\nå;x\n"), Options{Encoding: "windows-1252"}, encCP1252, "a", []string{"Ã¥", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(writeFile(t, "x.csv", tt.content), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Encoding(); got != tt.enc {
				t.Errorf("Encoding() = %q, want %q", got, tt.enc)
			}
			if got := r.Header()[0]; got != tt.header0 {
				t.Errorf("Header()[0] = %q, want %q", got, tt.header0)
			}
			got := rows(t, r)
			if len(got) != 1 || !reflect.DeepEqual(got[0].Fields, tt.fields) {
				t.Fatalf("rows = %+v, want fields %+v", got, tt.fields)
			}
		})
	}
}

func TestUTF16(t *testing.T) {
	// Excel's "Unicode text": UTF-16LE with a byte order mark, tab-delimited.
	enc := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder()
	b, err := enc.Bytes([]byte("Personnummer\tNamn\r\nx\tÅsa Öberg\r\ny\tRené\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(writeFile(t, "export.txt", b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Encoding() != encUTF16LE || r.Delimiter() != '\t' {
		t.Fatalf("Encoding, Delimiter = %q, %q", r.Encoding(), r.Delimiter())
	}
	got := rows(t, r)
	want := []Row{{2, []string{"x", "Åsa Öberg"}, 2}, {3, []string{"y", "René"}, 2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %+v, want %+v", got, want)
	}
}

func TestForcedUTF8OnWindows1252(t *testing.T) {
	content := append([]byte("namn;id\n"), "Åsa;1\n"...)
	content = append(content, "\xC5sa;2\n"...) // Windows-1252 in a file forced to UTF-8
	content = append(content, "Ola;3\n"...)
	r, err := Open(writeFile(t, "x.csv", content), Options{Encoding: "utf8"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res := drain(t, r)
	if len(res) != 3 {
		t.Fatalf("got %d results, want 3", len(res))
	}
	var re *RowError
	if !errors.As(res[1].err, &re) || re.Reason != ReasonInvalidEncoding || re.Line != 3 {
		t.Fatalf("second result = %v, want RowError invalid_encoding on line 3", res[1].err)
	}
	if !strings.Contains(re.Error(), "field 1") {
		t.Errorf("error does not name the field: %v", re)
	}
	if res[2].err != nil || res[2].row.Fields[0] != "Ola" {
		t.Fatalf("reader did not continue: %+v", res[2])
	}

	// Only selected fields are checked: the bad field is never read.
	r2, err := Open(writeFile(t, "x.csv", content), Options{Encoding: "utf8"})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	r2.Select([]int{1})
	if got := rows(t, r2); len(got) != 3 || got[1].Fields[0] != "2" {
		t.Fatalf("rows = %+v", got)
	}
}

func TestUnknownEncoding(t *testing.T) {
	_, err := Open(writeFile(t, "x.csv", []byte("a\n1\n")), Options{Encoding: "ebcdic"})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Reason != ReasonInvalidOption {
		t.Fatalf("err = %v, want invalid_option", err)
	}
	_, err = Open(writeFile(t, "x.csv", []byte("a\n1\n")), Options{Delimiter: '"'})
	if !errors.As(err, &fe) || fe.Reason != ReasonInvalidOption {
		t.Fatalf("err = %v, want invalid_option", err)
	}
}

// padRows returns n ASCII rows of the form "i;xxxxxxxx\n".
func padRows(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteString("rad")
		b.WriteByte(byte('0' + i%10))
		b.WriteString(";abcdefghijklmnopqrstuvwxyz0123456789\n")
	}
	return b.Bytes()
}

// TestSniffWindow shows what the bounded detection can and cannot see.
func TestSniffWindow(t *testing.T) {
	pad := padRows(2 * sniffSize / 40) // well over one sniff window
	if len(pad) < sniffSize+1000 {
		t.Fatalf("padding too short: %d", len(pad))
	}

	t.Run("windows-1252 early and late", func(t *testing.T) {
		content := []byte("namn;ort\n")
		content = append(content, swedish[:9]...) // "Åsa Öberg"
		content = append(content, ";x\n"...)
		content = append(content, pad...)
		content = append(content, "V\xE4ster\xE5s;\xC4del\xF6\n"...)
		r, err := Open(writeFile(t, "x.csv", content), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if r.Encoding() != encCP1252 {
			t.Fatalf("Encoding() = %q", r.Encoding())
		}
		got := rows(t, r)
		if first, last := got[0].Fields[0], got[len(got)-1].Fields; first != "Åsa Öberg" || !reflect.DeepEqual(last, []string{"Västerås", "Ädelö"}) {
			t.Fatalf("first %q, last %q", first, last)
		}
	})

	// The documented limit: a file whose first 64 KiB are plain ASCII is
	// read as UTF-8; a Windows-1252 byte later is reported per record,
	// never silently replaced, and reading continues.
	t.Run("windows-1252 only after the window", func(t *testing.T) {
		content := append([]byte("namn;ort\n"), pad...)
		badLine := 2 + bytes.Count(pad, []byte("\n"))
		content = append(content, "V\xE4ster\xE5s;"+secret+"\nOla;x\n"...)
		r, err := Open(writeFile(t, "x.csv", content), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if r.Encoding() != encUTF8 {
			t.Fatalf("Encoding() = %q", r.Encoding())
		}
		res := drain(t, r)
		bad, last := res[len(res)-2], res[len(res)-1]
		var re *RowError
		if !errors.As(bad.err, &re) || re.Reason != ReasonInvalidEncoding || re.Line != badLine {
			t.Fatalf("err = %v, want invalid_encoding on line %d", bad.err, badLine)
		}
		checkNoSecret(t, bad.err)
		if last.err != nil || last.row.Fields[0] != "Ola" {
			t.Fatalf("last = %+v", last)
		}
	})

	t.Run("utf-8 rune cut by the window", func(t *testing.T) {
		content := []byte("namn;ort\n")
		content = append(content, bytes.Repeat([]byte("a"), sniffSize-len(content)-1)...)
		content = append(content, "å\n"...) // 0xC3 is the window's last byte
		if content[sniffSize-1] != 0xC3 {
			t.Fatal("test setup: rune does not straddle the window")
		}
		r, err := Open(writeFile(t, "x.csv", content), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if r.Encoding() != encUTF8 {
			t.Fatalf("Encoding() = %q, want utf-8", r.Encoding())
		}
		if got := rows(t, r); !strings.HasSuffix(got[0].Fields[0], "aå") {
			t.Fatalf("field does not end in å")
		}
	})
}

func TestMalformedRecord(t *testing.T) {
	content := "pnr;namn;x\n" +
		"1;Anna;a\n" + // line 2
		"2;\"Ola\nNordmann\";b\n" + // lines 3-4
		secret + ";Ber\"t;c\n" + // line 5: bare quote
		"\"" + secret + "\"x;Eva;d\n" + // line 6: stray character after a closing quote
		"5;Stina;e\n" // line 7
	r := open(t, "x.csv", content, Options{})
	res := drain(t, r)
	if len(res) != 5 {
		t.Fatalf("got %d results, want 5: %+v", len(res), res)
	}
	for i, want := range []int{5, 6} {
		err := res[2+i].err
		var re *RowError
		if !errors.As(err, &re) {
			t.Fatalf("result %d: err = %v, want *RowError", 2+i, err)
		}
		if re.Reason != ReasonMalformedCSV || re.Line != want || re.File == "" {
			t.Errorf("RowError = %+v, want malformed_csv on line %d", re, want)
		}
		if !strings.Contains(err.Error(), "line "+string(rune('0'+want))) {
			t.Errorf("message does not name the line: %v", err)
		}
		checkNoSecret(t, err)
	}
	if res[1].row.Line != 3 || res[4].err != nil || res[4].row.Line != 7 || res[4].row.Fields[1] != "Stina" {
		t.Fatalf("rows around the errors are wrong: %+v", res)
	}
}

func TestMalformedLastRecordIsNotTruncation(t *testing.T) {
	r := open(t, "x.csv", "a;b\n1;2\n\""+secret+"\"x;y\n\n", Options{})
	res := drain(t, r)
	if len(res) != 2 {
		t.Fatalf("got %d results, want 2", len(res))
	}
	var re *RowError
	if !errors.As(res[1].err, &re) || re.Line != 3 || re.Reason != ReasonMalformedCSV {
		t.Fatalf("err = %v, want RowError malformed_csv on line 3", res[1].err)
	}
	checkNoSecret(t, res[1].err)
}

func TestTruncated(t *testing.T) {
	tests := []struct {
		name, content string
		line          int
	}{
		{"no newline", "a;b\n1;2\n3;\"" + secret, 3},
		{"open quote spans lines", "a;b\n1;2\n3;\"" + secret + "\nmore;\"\"x\n", 3},
		{"after sep line", "sep=;\na;b\n1;2\n\"" + secret + ";4\n", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := open(t, "x.csv", tt.content, Options{})
			res := drain(t, r)
			if len(res) != 2 || res[0].err != nil {
				t.Fatalf("results = %+v, want one row then an error", res)
			}
			err := res[1].err
			var fe *FileError
			if !errors.As(err, &fe) || fe.Reason != ReasonTruncated || fe.Line != tt.line {
				t.Fatalf("err = %v, want FileError truncated on line %d", err, tt.line)
			}
			if !strings.Contains(err.Error(), "line "+string(rune('0'+tt.line))) {
				t.Errorf("message does not name the line: %v", err)
			}
			checkNoSecret(t, err)
			if _, again := r.Next(); again != err {
				t.Errorf("Next after a FileError = %v, want the same error", again)
			}
		})
	}
}

func TestNumFields(t *testing.T) {
	r := open(t, "x.csv", "a;b;c\n1;2\n1;2;3;4\n1;2;3\n", Options{})
	var got []int
	for _, row := range rows(t, r) {
		got = append(got, row.NumFields)
		if len(row.Fields) != row.NumFields {
			t.Errorf("line %d: len(Fields) = %d with all columns selected", row.Line, len(row.Fields))
		}
	}
	if want := []int{2, 4, 3}; !reflect.DeepEqual(got, want) {
		t.Fatalf("NumFields = %v, want %v", got, want)
	}
}

func TestEmptyAndHeaderOnly(t *testing.T) {
	for name, content := range map[string]string{
		"zero bytes":  "",
		"only a BOM":  "\uFEFF",
		"white space": "\r\n\n  \n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Open(writeFile(t, "x.csv", []byte(content)), Options{})
			var fe *FileError
			if !errors.As(err, &fe) || fe.Reason != ReasonEmptyFile {
				t.Fatalf("err = %v, want FileError empty_file", err)
			}
		})
	}
	for name, content := range map[string]string{
		"header only":            "a;b;c\n",
		"header without newline": "a;b;c",
		"header and blank lines": "a;b;c\r\n\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			r := open(t, "x.csv", content, Options{})
			if got := r.Header(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
				t.Fatalf("Header() = %q", got)
			}
			if row, err := r.Next(); err != io.EOF {
				t.Fatalf("Next() = %+v, %v; want io.EOF", row, err)
			}
		})
	}
	t.Run("blank header", func(t *testing.T) {
		_, err := Open(writeFile(t, "x.csv", []byte(" ; ;\n1;2;3\n")), Options{})
		var fe *FileError
		if !errors.As(err, &fe) || fe.Reason != ReasonNoHeader || fe.Line != 1 {
			t.Fatalf("err = %v, want FileError no_header on line 1", err)
		}
	})
	t.Run("malformed header", func(t *testing.T) {
		_, err := Open(writeFile(t, "x.csv", []byte(secret+"\";b\n1;2\n")), Options{})
		var fe *FileError
		if !errors.As(err, &fe) || fe.Reason != ReasonNoHeader || fe.Line != 1 {
			t.Fatalf("err = %v, want FileError no_header on line 1", err)
		}
		checkNoSecret(t, err)
	})
}

func TestSelect(t *testing.T) {
	r := open(t, "x.csv", "pnr;namn;atgard;start\n"+secret+";Åsa;AT01;2024-01-02\n1;Ola\n", Options{})
	r.Select([]int{2, 0, 7})
	got := rows(t, r)
	want := []Row{
		{Line: 2, Fields: []string{"AT01", secret, ""}, NumFields: 4},
		{Line: 3, Fields: []string{"", "1", ""}, NumFields: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %+v, want %+v", got, want)
	}

	t.Run("rows are not reused", func(t *testing.T) {
		r := open(t, "x.csv", "a;b\n1;2\n3;4\n", Options{})
		r.Select([]int{1})
		first, _ := r.Next()
		second, _ := r.Next()
		if first.Fields[0] != "2" || second.Fields[0] != "4" {
			t.Fatalf("first %q, second %q", first.Fields, second.Fields)
		}
	})

	t.Run("empty selection", func(t *testing.T) {
		r := open(t, "x.csv", "a;b\n1;2\n", Options{})
		r.Select([]int{})
		row, err := r.Next()
		if err != nil || len(row.Fields) != 0 || row.NumFields != 2 {
			t.Fatalf("row = %+v, %v", row, err)
		}
	})

	t.Run("negative index panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		open(t, "x.csv", "a\n1\n", Options{}).Select([]int{-1})
	})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, reason string
	}{
		{"json", writeFile(t, "x.json", []byte("{}")), ReasonUnsupportedFormat},
		{"xls", writeFile(t, "x.xls", []byte("\xD0\xCF\x11\xE0")), ReasonUnsupportedFormat},
		{"no extension", writeFile(t, "export", []byte("a;b\n")), ReasonUnsupportedFormat},
		{"missing", filepath.Join(dir, "missing.csv"), ReasonUnreadable},
		{"directory", mkdir(t, filepath.Join(dir, "d.csv")), ReasonUnreadable},
		{"empty xlsx", writeFile(t, "x.xlsx", nil), ReasonEmptyFile},
		{"xlsx that is not a zip", writeFile(t, "x.xlsx", []byte("a;b\n1;2\n")), ReasonUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(tt.path, Options{})
			var fe *FileError
			if !errors.As(err, &fe) || fe.Reason != tt.reason || r != nil {
				t.Fatalf("Open = %v, %v; want FileError %s", r, err, tt.reason)
			}
			if fe.File != tt.path || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error does not name file and reason: %v", err)
			}
		})
	}
	t.Run("upper-case extension", func(t *testing.T) {
		r, err := Open(writeFile(t, "EXPORT.CSV", []byte("a;b\n1;2\n")), Options{})
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	})
}

func mkdir(t *testing.T, p string) string {
	t.Helper()
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWindows1252Table(t *testing.T) {
	// Guards the test data above: it must be what x/text encodes.
	want, err := charmap.Windows1252.NewEncoder().String("Åsa Öberg;Västerås;Ängelholm;René;Ädelö")
	if err != nil || want != string(swedish) {
		t.Fatalf("swedish fixture is not Windows-1252: %q, %v", want, err)
	}
}

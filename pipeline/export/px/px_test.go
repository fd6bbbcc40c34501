package px

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/gallra/gallra/pipeline/export"
	"github.com/gallra/gallra/pipeline/export/exporttest"
	"github.com/gallra/gallra/transforms/table"
)

func write(t *testing.T, tab *table.Table, opt PXOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePX(&buf, tab, opt); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTripLatin1(t *testing.T) {
	tab := exporttest.Table()
	b := write(t, tab, PXOptions{})

	if utf8.Valid(b) {
		t.Error("ISO-8859-1 file is valid UTF-8: å ä ö were not encoded as single bytes")
	}
	if !bytes.Contains(b, []byte("SOURCE=\"Arbetsmarknadsf\xf6rvaltningen, Lule\xe5 kommun (gallra)\";")) {
		t.Error("SOURCE not written in ISO-8859-1")
	}
	if bytes.Contains(b, []byte(strconv.Itoa(exporttest.Hidden))) {
		t.Error("a suppressed cell's value is in the file")
	}
	lines := strings.Split(string(b), "\r\n")
	for i, l := range lines {
		if l == "DATA=" {
			break
		}
		if len(l) > MaxLine {
			t.Errorf("line %d has %d bytes", i+1, len(l))
		}
	}
	// The specification's recommended start, and the fixed keywords.
	for i, want := range []string{`CHARSET="ANSI";`, `AXIS-VERSION="2013";`, `CODEPAGE="iso-8859-1";`, `LANGUAGE="sv";`, `DECIMALS=0;`, `SHOWDECIMALS=0;`} {
		if lines[i] != want {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], want)
		}
	}
	text, err := charmap.ISO8859_1.NewDecoder().String(string(b))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(tab.ID))
	matrix := "participant_" + hex.EncodeToString(sum[:4]) // the ID has 29 characters: shortened
	for _, want := range []string{
		`MATRIX="` + matrix + `";`,
		`LAST-UPDATED="20260314 10:26";`, // 09:26 UTC is 10:26 in Sweden in March
		`DATASYMBOL2="..";`,
		`TIMEVAL("År")=TLIST(A1),"2023","2024","2025";`,
		`CODES("Åtgärd")="TOT","ARBPR","FRJOB","OVR";`,
		`ELIMINATION("Kön")="Totalt";`,
		`ELIMINATION("Åtgärd")="Samtliga åtgärder";`,
		`HEADING="Kön";`,
		`STUB="Åtgärd","År";`,
		`NOTEX="Röjandekontroll: primär och sekundär undertryckning (tröskel 5)";`,
		`REFPERIOD="2023-2025";`,
		`UNITS="antal personer";`,
	} {
		if !strings.Contains(text, want+"\r\n") {
			t.Errorf("missing line %q", want)
		}
	}
	// TITLE is longer than a line: several quoted strings, the last ending ";".
	ti := strings.Index(string(b), "TITLE=")
	if ti < 0 || strings.Count(string(b[ti:strings.Index(string(b), "CONTENTS=")]), "\r\n") < 2 {
		t.Error("long TITLE not split over lines")
	}
	// DATA: one line per stub row (measure × year), sex across; cell i
	// holds 11i+5, cells 4, 5, 13, 22 and 35 are suppressed.
	data := string(b[strings.Index(string(b), "DATA=\r\n")+7:])
	rows := strings.Split(strings.TrimSuffix(data, "\r\n"), "\r\n")
	if len(rows) != 12 {
		t.Fatalf("%d data lines, want 12", len(rows))
	}
	for r, want := range map[int]string{0: "5 16 27", 1: `38 ".." ".."`, 4: `137 ".." 159`, 11: `368 379 "..";`} {
		if rows[r] != want {
			t.Errorf("data line %d = %q, want %q", r+1, rows[r], want)
		}
	}

	got, err := ReadPX(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if d := exporttest.Compare(got, tab, false); len(d) > 0 {
		t.Errorf("read back differs:\n%s", strings.Join(d, "\n"))
	}
	checkMeta(t, got, tab)
	if got.ID != matrix {
		t.Errorf("ID %q", got.ID)
	}
}

func checkMeta(t *testing.T, got, want *table.Table) {
	t.Helper()
	for _, f := range []struct{ name, got, want string }{
		{"title", got.Title, want.Title}, {"unit", got.Unit, want.Unit}, {"source", got.Source, want.Source},
		{"contact", got.Contact, want.Contact}, {"refperiod", got.RefPeriod, want.RefPeriod},
		{"method", got.Method, want.Method}, {"language", got.Language, want.Language},
	} {
		if f.got != f.want {
			t.Errorf("%s %q, want %q", f.name, f.got, f.want)
		}
	}
	if !got.Updated.Equal(want.Updated) {
		t.Errorf("updated %v, want %v", got.Updated, want.Updated)
	}
	wantNotes := append(append([]string(nil), want.Notes...), export.SymbolNote(want))
	if strings.Join(got.Notes, "|") != strings.Join(wantNotes, "|") {
		t.Errorf("notes %q, want %q", got.Notes, wantNotes)
	}
}

func TestRoundTripUTF8(t *testing.T) {
	tab := exporttest.Table()
	tab.Unit = "antal personer (≥ 1 dag)" // ≥ is not in ISO-8859-1
	tab.Dims[0].Categories[2].Label = "Extratjänst – förstärkt"
	b := write(t, tab, PXOptions{Encoding: UTF8, Matrix: "AM0001", SubjectCode: "AM01", SubjectArea: "Arbetsmarknadsinsatser"})
	if !utf8.Valid(b) {
		t.Fatal("UTF-8 file is not valid UTF-8")
	}
	for _, want := range []string{`CODEPAGE="utf-8";`, `MATRIX="AM0001";`, `SUBJECT-CODE="AM01";`, `SUBJECT-AREA="Arbetsmarknadsinsatser";`, `UNITS="antal personer (≥ 1 dag)";`} {
		if !bytes.Contains(b, []byte(want+"\r\n")) {
			t.Errorf("missing line %q", want)
		}
	}
	got, err := ReadPX(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if d := exporttest.Compare(got, tab, false); len(d) > 0 {
		t.Errorf("read back differs:\n%s", strings.Join(d, "\n"))
	}
	checkMeta(t, got, tab)

	// The same table cannot be written in ISO-8859-1; the error names the
	// keyword, not the text.
	var buf bytes.Buffer
	err = WritePX(&buf, tab, PXOptions{})
	if err == nil || !strings.Contains(err.Error(), "UNITS") || strings.Contains(err.Error(), "antal") {
		t.Errorf("ISO-8859-1 with ≥: err = %v", err)
	}
}

func TestLatin1Substitutions(t *testing.T) {
	tab := exporttest.Table()
	tab.RefPeriod = "2023–2025"
	tab.Source = `Luleå kommun, "gallra"`
	got, err := ReadPX(bytes.NewReader(write(t, tab, PXOptions{})))
	if err != nil {
		t.Fatal(err)
	}
	if got.RefPeriod != "2023-2025" || got.Source != "Luleå kommun, 'gallra'" {
		t.Errorf("refperiod %q source %q", got.RefPeriod, got.Source)
	}
}

func TestDecimals(t *testing.T) {
	tab := exporttest.Table()
	tab.Values[0] = 2.5
	var buf bytes.Buffer
	if err := WritePX(&buf, tab, PXOptions{}); err == nil {
		t.Error("2.5 written with 0 decimals")
	}
	b := write(t, tab, PXOptions{Decimals: 1})
	if !bytes.Contains(b, []byte("DECIMALS=1;\r\n")) || !bytes.Contains(b, []byte("DATA=\r\n2.5 16.0 27.0\r\n")) {
		t.Errorf("decimals not written:\n%s", b[bytes.Index(b, []byte("DATA")):])
	}
	got, err := ReadPX(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got.Values[0] != 2.5 || got.Values[1] != 16 {
		t.Errorf("values %v", got.Values[:2])
	}
}

func TestRefuses(t *testing.T) {
	for name, mod := range map[string]func(*table.Table){
		"invalid":        func(t *table.Table) { t.Status[0] = "x" },
		"no title":       func(t *table.Table) { t.Title = "" },
		"no method":      func(t *table.Table) { t.Method = "" },
		"no updated":     func(t *table.Table) { t.Updated = time.Time{} },
		"same labels":    func(t *table.Table) { t.Dims[2].Categories[2].Label = "Kvinnor" },
		"same var names": func(t *table.Table) { t.Dims[1].Label = "Kön" },
		"no dimensions":  func(t *table.Table) { t.Dims = nil; t.Values = t.Values[:1]; t.Status = t.Status[:1] },
	} {
		tab := exporttest.Table()
		mod(tab)
		if err := WritePX(&bytes.Buffer{}, tab, PXOptions{}); err == nil {
			t.Errorf("%s: written", name)
		}
	}
}

// TestReadSpecExample reads a file written by hand after the
// specification: DOS-free ANSI, a language variant to skip, TIMEVAL with a
// range, multi-line texts and values, commas and tabs as data delimiters,
// "-" for nil, no CODES for one variable and ELIMINATION=YES.
func TestReadSpecExample(t *testing.T) {
	src := "CHARSET=\"ANSI\";\nAXIS-VERSION=\"2013\";\nLANGUAGE=\"sv\";\nDECIMALS=0;\nMATRIX=\"BE0101\";\n" +
		"SUBJECT-CODE=\"BE\";\nSUBJECT-AREA=\"Befolkning\";\n" +
		"TITLE=\"Folkm\xe4ngd efter \"\n\"region och \xe5r\";\nTITLE[en]=\"Population\";\nCONTENTS=\"Folkm\xe4ngd\";\nUNITS=\"antal\";\n" +
		"STUB=\"region\";\nHEADING=\"\xe5r\";\n" +
		"VALUES(\"region\")=\"Riket\",\n\"Norrbottens l\xe4n\";\nVALUES(\"\xe5r\")=\"2020\",\"2021\",\"2022\";\n" +
		"TIMEVAL(\"\xe5r\")=TLIST(A1, \"2020\"-\"2022\");\nCODES(\"region\")=\"00\",\"25\";\n" +
		"ELIMINATION(\"\xe5r\")=YES;\nELIMINATION(\"region\")=\"Riket\";\nLAST-UPDATED=\"20210222 08:00\";\nSOURCE=\"SCB\";\n" +
		"NOTE=\"F\xf6rsta#Andra\";\nNOTEX=\"R\xf6jandekontroll: ingen\";\n" +
		"DATA=\n10379295,10452326 10486941\n250093\t\"..\" \"-\";\n"
	got, err := ReadPX(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	want := table.New(
		table.Dimension{Code: "region", Label: "region", Total: "00", Categories: []table.Category{{Code: "00", Label: "Riket"}, {Code: "25", Label: "Norrbottens län"}}},
		table.Dimension{Code: "år", Label: "år", Time: true, Categories: []table.Category{{Code: "2020", Label: "2020"}, {Code: "2021", Label: "2021"}, {Code: "2022", Label: "2022"}}},
	)
	copy(want.Values, []float64{10379295, 10452326, 10486941, 250093, 0, 0})
	want.Status[4] = table.StatusSuppressed
	if d := exporttest.Compare(got, want, true); len(d) > 0 {
		t.Errorf("differs:\n%s", strings.Join(d, "\n"))
	}
	if got.Title != "Folkmängd efter region och år" || got.ID != "BE0101" || got.Method != "ingen" ||
		strings.Join(got.Notes, "|") != "Första|Andra" || got.Updated.UTC().Format("2006-01-02 15:04") != "2021-02-22 07:00" {
		t.Errorf("metadata: %q %q %q %q %v", got.Title, got.ID, got.Method, got.Notes, got.Updated)
	}
}

func TestReadErrors(t *testing.T) {
	head := "CHARSET=\"ANSI\";\nSTUB=\"a\";\nHEADING=\"b\";\nVALUES(\"a\")=\"x\",\"y\";\nVALUES(\"b\")=\"1\",\"2\";\n"
	for name, src := range map[string]string{
		"few cells":    head + "DATA=\n1 2 3;",
		"not a number": head + "DATA=\n1 2 3 x;",
		"three dots":   head + "DATA=\n1 2 3 \"...\";",
		"no data":      head,
		"unterminated": head + "NOTE=\"abc;\nDATA=\n1 2 3 4;",
		"keys":         head + "KEYS(\"a\")=VALUES;\nDATA=\n\"x\",1 2;",
		"codepage":     "CODEPAGE=\"ebcdic\";\n" + head + "DATA=\n1 2 3 4;",
	} {
		if _, err := ReadPX(strings.NewReader(src)); err == nil {
			t.Errorf("%s: read without error", name)
		}
	}
	if _, err := ReadPX(strings.NewReader(head + "DATA=\n1 2 3 4;")); err != nil {
		t.Errorf("valid minimal file: %v", err)
	}
}

// TestLongLists writes a dimension whose VALUES and CODES need many lines,
// control characters in texts, and a long note, and reads them back.
func TestLongLists(t *testing.T) {
	var cats []table.Category
	for i := range 120 {
		cats = append(cats, table.Category{Code: strconv.Itoa(2000 + i), Label: "Kommun nummer " + strconv.Itoa(i) + " i Norrbottens län"})
	}
	tab := table.New(table.Dimension{Code: "kommun", Label: "Kommun", Categories: cats},
		table.Dimension{Code: "sex", Label: "Kön", Categories: []table.Category{{Code: "K", Label: "Kvinnor"}, {Code: "M", Label: "Män"}}})
	base := exporttest.Table()
	tab.ID, tab.Title, tab.Unit, tab.Source, tab.Contact, tab.RefPeriod, tab.Updated, tab.Method =
		"K1", "Kommuner\tefter\r\nkön", base.Unit, base.Source, base.Contact, base.RefPeriod, base.Updated, base.Method
	tab.Language = "sv-SE"
	tab.Notes = []string{strings.Repeat("En mycket lång fotnot om åtgärderna. ", 30)}
	for i := range tab.Values {
		tab.Values[i] = float64(i)
	}
	for _, enc := range []string{Latin1, UTF8} {
		b := write(t, tab, PXOptions{Encoding: enc})
		text := string(b)
		if enc == Latin1 {
			text, _ = charmap.ISO8859_1.NewDecoder().String(text)
		}
		head, _, _ := strings.Cut(text, "DATA=")
		for i, l := range strings.Split(head, "\r\n") {
			if len(l) > MaxLine {
				t.Errorf("%s: line %d has %d bytes", enc, i+1, len(l))
			}
		}
		if !strings.Contains(head, "LANGUAGE=\"sv\";\r\n") || !strings.Contains(head, "TITLE=\"Kommuner efter kön\";\r\n") {
			t.Errorf("%s: LANGUAGE or TITLE wrong", enc)
		}
		if strings.Count(head, "\r\n") < 40 {
			t.Errorf("%s: only %d lines before DATA: lists not broken", enc, strings.Count(head, "\r\n"))
		}
		got, err := ReadPX(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		want := *tab
		want.Dims = []table.Dimension{tab.Dims[0], tab.Dims[1]}
		want.Dims[0].Code, want.Dims[1].Code = "Kommun", "Kön"
		if d := exporttest.Compare(got, &want, true); len(d) > 0 {
			t.Errorf("%s: read back differs:\n%s", enc, strings.Join(d, "\n"))
		}
		if len(got.Notes) != 2 || got.Notes[0] != tab.Notes[0] {
			t.Errorf("%s: long note not read back whole", enc)
		}
	}
}

package source

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// excelizeRows reads every non-blank row of a worksheet with excelize's own
// row iterator, the way this package read XLSX before it streamed them
// itself: the reference the streaming reader must match.
func excelizeRows(t *testing.T, path, sheet string) (header []string, rows []Row) {
	t.Helper()
	f, err := excelize.OpenFile(path, excelize.Options{ShortDatePattern: isoDate, UnzipXMLSizeLimit: xlsxInMemory})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	isoDateFormats(f)
	if sheet == "" {
		sheet = f.GetSheetList()[0]
	}
	it, err := f.Rows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	line := 0
	for it.Next() {
		line++
		cells, err := it.Columns()
		if err != nil {
			t.Fatal(err)
		}
		blank := true
		for _, c := range cells {
			blank = blank && c == ""
		}
		if blank {
			continue
		}
		if header == nil {
			header, _ = cleanHeader(cells)
			continue
		}
		n := len(cells)
		for n > 0 && cells[n-1] == "" {
			n--
		}
		rows = append(rows, Row{Line: line, Fields: append([]string{}, cells...), NumFields: max(n, len(header))})
	}
	return header, rows
}

// streamRows reads the same worksheet with this package's reader, with the
// columns cols selected (nil: all).
func streamRows(t *testing.T, path, sheet string, cols []int) (header []string, rows []Row) {
	t.Helper()
	r, err := Open(path, Options{Sheet: sheet})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if cols != nil {
		r.Select(cols)
	}
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	return r.Header(), rows
}

// sameAsExcelize compares the reader with excelize's iterator, without a
// selection and with cols selected (the columns not selected are skipped
// over, not decoded, and must still count for blank rows and NumFields).
func sameAsExcelize(t *testing.T, path, sheet string, cols []int) int {
	t.Helper()
	n := sameAsExcelizeSelecting(t, path, sheet, nil)
	sameAsExcelizeSelecting(t, path, sheet, cols)
	return n
}

func sameAsExcelizeSelecting(t *testing.T, path, sheet string, cols []int) int {
	t.Helper()
	wh, want := excelizeRows(t, path, sheet)
	gh, got := streamRows(t, path, sheet, cols)
	if cols != nil {
		for i := range want {
			want[i].Fields = selectFields(new(fieldBlock), want[i].Fields, cols)
		}
	}
	if !reflect.DeepEqual(gh, wh) {
		t.Fatalf("header %q, excelize %q", gh, wh)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, excelize %d", len(got), len(want))
	}
	for i := range want {
		// Without a selection the reader returns every cell as excelize
		// does, including trailing empty ones.
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("row %d:\n got %+v\nwant %+v (excelize)", i, got[i], want[i])
		}
	}
	return len(got)
}

// TestXLSXLikeExcelize compares the streaming reader with excelize's row
// iterator on a workbook with every kind of cell a workbook holds: shared
// and inline strings, rich text, escapes, numbers in the general format at
// and beyond Excel's precision, booleans, formulas with their cached
// results, error values, dates and numbers in built-in and custom formats,
// cells with a style and no value, gaps between rows and cells, blank rows.
func TestXLSXLikeExcelize(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	const sh = "Sheet1"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetRow(sh, "A1", &[]any{"Personnummer", "Namn", "Start", "Tal", "Mer", "Sist"}))
	styles := map[string]int{}
	for _, code := range []string{"d/m/yyyy", "yyyy-mm-dd hh:mm", "0.00E+00", "0", "#,##0.00", "@", `"kr "0`, ";;;", "0%", "mmm-yy"} {
		c := code
		id, err := f.NewStyle(&excelize.Style{CustomNumFmt: &c})
		must(err)
		styles[code] = id
	}
	for _, id := range []int{14, 22, 11, 1, 49, 15} {
		s, err := f.NewStyle(&excelize.Style{NumFmt: id})
		must(err)
		styles[fmt.Sprint(id)] = s
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	must(err)
	day := time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)
	values := []any{
		"19121212-1212", "Åsa Öberg", "a & b < c > d \" e ' f", " spaces ", "rad1\nrad2", "_x0008_ och _x005F_x0008_",
		191212121212, 1.5, -0.25, 0.1 + 0.2, 1e20, 12345678901234567890.0, 123456789012345678, 3, true, false,
		day, day.Add(13*time.Hour + 30*time.Minute),
	}
	row := 2
	for i, v := range values {
		for j, style := range append([]string{""}, keysOf(styles)...) {
			cell, _ := excelize.CoordinatesToCellName(1+(i+j)%6, row)
			must(f.SetCellValue(sh, cell, v))
			if style != "" {
				must(f.SetCellStyle(sh, cell, cell, styles[style]))
			}
			if j%6 == 5 {
				row++
			}
		}
		row += 2 // leaves gaps
	}
	must(f.SetCellRichText(sh, fmt.Sprintf("B%d", row), []excelize.RichTextRun{{Text: "fet "}, {Text: "text", Font: &excelize.Font{Bold: true}}}))
	must(f.SetCellFormula(sh, fmt.Sprintf("C%d", row), "1+1"))
	must(f.SetCellFormula(sh, fmt.Sprintf("D%d", row), `"a"&"b"`))
	must(f.SetCellStyle(sh, fmt.Sprintf("E%d", row), fmt.Sprintf("E%d", row), bold)) // style, no value
	row++
	must(f.SetCellStyle(sh, fmt.Sprintf("A%d", row), fmt.Sprintf("C%d", row), bold)) // a row of styled empty cells
	row++
	must(f.SetCellValue(sh, fmt.Sprintf("H%d", row), "bortom rubrikerna"))
	must(f.SetCellStr(sh, fmt.Sprintf("A%d", row), "19121212-1212"))
	p := filepath.Join(t.TempDir(), "alla.xlsx")
	must(f.SaveAs(p))

	// Formula cells get their cached results, error values too: write them
	// into the saved worksheet, as Excel would have.
	p2 := rewriteSheet(t, p, func(xml string) string {
		xml = strings.Replace(xml, "<f>1+1</f>", "<f>1+1</f><v>2</v>", 1)
		xml = strings.Replace(xml, "<f>&#34;a&#34;&amp;&#34;b&#34;</f>", `<f>"a"&amp;"b"</f><v>ab</v>`, 1)
		xml = strings.Replace(xml, "<f>\"a\"&amp;\"b\"</f>", `<f>"a"&amp;"b"</f><v>ab</v>`, 1)
		return strings.Replace(xml, "</sheetData>", `<row r="900"><c r="A900" t="e"><v>#N/A</v></c><c r="B900" t="str"><v>x</v></c><c r="C900" t="d"><v>2024-03-15T00:00:00Z</v></c><c r="D900" t="inlineStr"><is><r><t>in</t></r><rPh><t>ふり</t></rPh><r><t xml:space="preserve">line </t></r></is></c><c r="E900"><v><![CDATA[42]]></v></c></row>`+
			`<row r="901"><c r="B901"><f>""</f><v></v></c><c r="D901" t="s"><v>0</v></c></row>`+
			`<row r="902"><c r="B902" t="inlineStr"><is><t></t></is></c><c r="C902"><v></v></c><c r="J902"><f>1</f><v>1</v></c></row>`+
			`<row r="903"><c r="A903" t="str"><v>x</v></c></row>`+
			// cells not selected that decide whether a row is blank, and
			// how wide it is
			`<row r="904"><c r="B904" t="inlineStr"><is><t></t></is></c><c r="D904"><v></v></c></row>`+
			`<row r="905"><c r="A905" t="str"><v>x</v></c><c r="J905" t="s"><v>99999</v></c></row>`+
			`<row r="906"><c r="A906" t="str"><v>x</v></c><c r="K906"><v>5</v></c></row>`+
			`<row r="907"><c r="B907" t="inlineStr"><is><r><t>a</t></r></is></c></row></sheetData>`, 1)
	})
	if n := sameAsExcelize(t, p2, "", []int{0, 2, 5, 7}); n < 30 {
		t.Fatalf("only %d rows compared", n)
	}
}

func keysOf(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	// stable order
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// rewriteSheet copies an .xlsx with its first worksheet's XML changed.
func rewriteSheet(t *testing.T, path string, edit func(string) string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == "xl/worksheets/sheet1.xml" {
			b = []byte(edit(string(b)))
		}
		w, _ := zw.Create(f.Name)
		w.Write(b)
	}
	zw.Close()
	out := filepath.Join(t.TempDir(), "edited.xlsx")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestXLSXStreamedLikeExcelize: a sheet written as a stream (inline
// strings, as the generator and many export tools write), with a selection.
func TestXLSXStreamedLikeExcelize(t *testing.T) {
	p := filepath.Join(t.TempDir(), "stream.xlsx")
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.SetRow("A1", []any{"Personnummer", "Namn", "Åtgärd", "Startdatum", "Anteckningar"}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 3000; i++ {
		cell, _ := excelize.CoordinatesToCellName(1, i)
		if err := sw.SetRow(cell, []any{fmt.Sprintf("19121212-%04d", i), "Karin <Lindqvist>", "Praktik", "2024-01-01", i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sameAsExcelize(t, p, "", []int{4, 1})

	r, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Select([]int{3, 0, 9})
	row, err := r.Next()
	if err != nil || !reflect.DeepEqual(row, Row{Line: 2, Fields: []string{"2024-01-01", "19121212-0002", ""}, NumFields: 5}) {
		t.Fatalf("Next() = %+v, %v", row, err)
	}
}

// TestXLSXMalformed: a worksheet whose XML breaks off is an unreadable
// file, named by its row, without the cell's value.
func TestXLSXMalformed(t *testing.T) {
	p := rewriteSheet(t, writeXLSX(t), func(xml string) string {
		i := strings.Index(xml, `<row r="4"`)
		return xml[:i+12]
	})
	r, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var last error
	for range 10 {
		if _, last = r.Next(); last != nil {
			break
		}
	}
	fe, ok := last.(*FileError)
	if !ok || fe.Reason != ReasonUnreadable || fe.Line != 4 {
		t.Fatalf("err = %v, want unreadable at row 4", last)
	}
	if strings.Contains(fe.Error(), secret) {
		t.Fatal("the error shows a cell's value")
	}
}

// TestXLSXPlainCellsLikeExcelize: the forms of a cell that readPlainCell
// reads from the buffer (rich-text runs, empty v and is, formulas with and
// without a cached value) and some it leaves to the scanner (an attribute
// on t, an entity, two v), each read as excelize reads it.
func TestXLSXPlainCellsLikeExcelize(t *testing.T) {
	p := rewriteSheet(t, writeXLSX(t), func(xml string) string {
		row := `<row r="90">` +
			`<c r="A90" t="inlineStr"><is><r><rPr><b/></rPr><t>Ri</t></r><r><t>ch</t></r></is></c>` +
			`<c r="B90"><v/></c><c r="C90" t="inlineStr"><is/></c><c r="D90"><f>1+1</f><v>2</v></c>` +
			`<c r="E90" t="str"><f>A1</f><v></v></c><c r="F90" t="inlineStr"><is><t xml:space="preserve"> x </t></is></c>` +
			`<c r="G90" t="inlineStr"><is><t>a&amp;b</t></is></c><c r="H90"><v>1</v><v>3</v></c>` +
			`<c r="I90" t="inlineStr"><is><t></t><t>y</t></is></c></row>`
		return strings.Replace(xml, "</sheetData>", row+"</sheetData>", 1)
	})
	if n := sameAsExcelize(t, p, "", []int{0, 3, 8}); n < 2 {
		t.Fatalf("%d rows", n)
	}
}

package source

import (
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// writeXLSX builds a workbook with excelize. Sheet "Deltagare" (the first)
// has a header, a row with a text cell, date cells in three formats and a
// number in scientific format, a blank row and a short row; sheet "Annat"
// holds one more table.
func writeXLSX(t *testing.T) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Deltagare"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetRow(sheet, "A1", &[]any{" Personnummer ", "Start", "Slut", "Beslut", "Id", "Stämpel"}))
	must(f.SetCellStr(sheet, "A2", secret))
	day := time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)
	must(f.SetCellValue(sheet, "B2", day))
	must(f.SetCellValue(sheet, "C2", day.AddDate(0, 3, 16)))
	must(f.SetCellValue(sheet, "D2", day.AddDate(0, 0, -1)))
	must(f.SetCellValue(sheet, "E2", 191212121212))
	must(f.SetCellValue(sheet, "F2", day.Add(13*time.Hour+30*time.Minute)))

	short, err := f.NewStyle(&excelize.Style{NumFmt: 14}) // the locale's short date
	must(err)
	custom := "d/m/yyyy"
	dmy, err := f.NewStyle(&excelize.Style{CustomNumFmt: &custom})
	must(err)
	long := `[$-41D]dddd" den "d mmmm yyyy`
	longDate, err := f.NewStyle(&excelize.Style{CustomNumFmt: &long})
	must(err)
	sci, err := f.NewStyle(&excelize.Style{NumFmt: 11}) // 0.00E+00
	must(err)
	stamp := "yyyy-mm-dd hh:mm"
	dateTime, err := f.NewStyle(&excelize.Style{CustomNumFmt: &stamp})
	must(err)
	must(f.SetCellStyle(sheet, "B2", "B2", short))
	must(f.SetCellStyle(sheet, "C2", "C2", dmy))
	must(f.SetCellStyle(sheet, "D2", "D2", longDate))
	must(f.SetCellStyle(sheet, "E2", "E2", sci))
	must(f.SetCellStyle(sheet, "F2", "F2", dateTime))
	// Row 3 is left blank; row 4 has only two cells.
	must(f.SetSheetRow(sheet, "A4", &[]any{"x", "y"}))

	_, err = f.NewSheet("Annat")
	must(err)
	must(f.SetSheetRow("Annat", "A2", &[]any{"kod", "antal"}))
	must(f.SetSheetRow("Annat", "A3", &[]any{"AT01", 3}))

	p := filepath.Join(t.TempDir(), "export.xlsx")
	must(f.SaveAs(p))
	return p
}

func TestXLSX(t *testing.T) {
	p := writeXLSX(t)
	r, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := r.Header(), []string{"Personnummer", "Start", "Slut", "Beslut", "Id", "Stämpel"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Header() = %q, want %q", got, want)
	}
	if r.Encoding() != encUTF8 || r.Delimiter() != 0 {
		t.Errorf("Encoding, Delimiter = %q, %q", r.Encoding(), r.Delimiter())
	}
	got := rows(t, r)
	want := []Row{
		// The number keeps Excel's display form: it is not "fixed".
		{Line: 2, Fields: []string{secret, "2024-03-15", "2024-07-01", "2024-03-14", "1.91E+11", "2024-03-15 13:30"}, NumFields: 6},
		{Line: 4, Fields: []string{"x", "y"}, NumFields: 6},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows =\n%+v\nwant\n%+v", got, want)
	}
}

func TestXLSXSelectAndSheet(t *testing.T) {
	p := writeXLSX(t)
	r, err := Open(p, Options{Sheet: "Annat"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Header(); !reflect.DeepEqual(got, []string{"kod", "antal"}) {
		t.Fatalf("Header() = %q", got)
	}
	r.Select([]int{1, 5})
	row, err := r.Next()
	if err != nil || !reflect.DeepEqual(row, Row{Line: 3, Fields: []string{"3", ""}, NumFields: 2}) {
		t.Fatalf("Next() = %+v, %v", row, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next() error = %v, want io.EOF", err)
	}

	_, err = Open(p, Options{Sheet: "Saknas"})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Reason != ReasonSheetNotFound {
		t.Fatalf("err = %v, want sheet_not_found", err)
	}
}

func TestXLSXEmptySheet(t *testing.T) {
	f := excelize.NewFile()
	p := filepath.Join(t.TempDir(), "tom.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err := Open(p, Options{})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Reason != ReasonNoHeader {
		t.Fatalf("err = %v, want no_header", err)
	}
}

func TestIsDateOnlyFormat(t *testing.T) {
	tests := map[string]bool{
		"yyyy-mm-dd":                     true,
		"d/m/yyyy":                       true,
		"[$-41D]d mmmm yyyy":             true,
		`dddd" den "d mmmm yyyy`:         true,
		"[Red]yyyy-mm-dd":                true,
		"yyyy-mm-dd hh:mm":               false,
		"d/m/yy h:mm AM/PM":              false,
		"[h]:mm:ss":                      false,
		"mmm-yy":                         false, // no day: not a full date
		"0.00E+00":                       false,
		"#,##0":                          false,
		`"day "0`:                        false,
		`0" dagar, år"`:                  false,
		"General":                        false,
		`yyyy\-mm\-dd`:                   true,
		"[$-sv-SE]yyyy-mm-dd;@":          true,
		"[$-F800]dddd\\,\\ mmmm\\ dd\\,": false, // no year
	}
	for code, want := range tests {
		if got := isDateOnlyFormat(code); got != want {
			t.Errorf("isDateOnlyFormat(%q) = %v, want %v", code, got, want)
		}
	}
}

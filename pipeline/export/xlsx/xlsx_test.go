package xlsx

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/gallra/gallra/pipeline/export"
	"github.com/gallra/gallra/pipeline/export/exporttest"
	"github.com/gallra/gallra/transforms/table"
)

func TestRoundTrip(t *testing.T) {
	tab := exporttest.Table()
	path := filepath.Join(t.TempDir(), "t.xlsx")
	if err := WriteXLSX(path, tab); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.GetSheetList(), "|"); got != "Data|Metadata" {
		t.Fatalf("sheets %q", got)
	}
	rows, err := f.GetRows(DataSheet)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], "|"); got != "measure|measure_label|year|year_label|sex|sex_label|value|status" {
		t.Fatalf("header %q", got)
	}
	if len(rows) != tab.Len()+1 {
		t.Fatalf("%d rows", len(rows))
	}
	hidden := strconv.Itoa(exporttest.Hidden)
	got := table.New(tab.Dims...) // categories checked row by row below
	for i, r := range rows[1:] {
		for len(r) < 8 {
			r = append(r, "") // GetRows drops trailing empty cells
		}
		pos := tab.Positions(i)
		for d, p := range pos {
			c := tab.Dims[d].Categories[p]
			if r[2*d] != c.Code || r[2*d+1] != c.Label {
				t.Errorf("row %d dim %d: %q %q, want %+v", i+2, d, r[2*d], r[2*d+1], c)
			}
		}
		vcell, _ := excelize.CoordinatesToCellName(7, i+2)
		typ, err := f.GetCellType(DataSheet, vcell)
		if err != nil {
			t.Fatal(err)
		}
		isText := typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString
		switch {
		case r[7] == ".." && r[6] == ".." && isText:
			got.Status[i] = table.StatusSuppressed
		case r[7] == "" && !isText:
			v, err := strconv.ParseFloat(r[6], 64)
			if err != nil {
				t.Fatalf("row %d: %v", i+2, err)
			}
			got.Values[i] = v
		default:
			t.Errorf("row %d: value %q (type %v) status %q", i+2, r[6], typ, r[7])
		}
		if strings.Contains(strings.Join(r, "|"), hidden) {
			t.Errorf("row %d holds a suppressed value", i+2)
		}
	}
	if d := exporttest.Compare(got, tab, true); len(d) > 0 {
		t.Errorf("read back differs:\n%s", strings.Join(d, "\n"))
	}
	// Codes that look like numbers stay text.
	if typ, _ := f.GetCellType(DataSheet, "C2"); typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
		t.Errorf("year code is not text: %v", typ)
	}

	meta, err := f.GetRows(MetaSheet)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	byName := map[string][]string{}
	for _, r := range meta {
		if len(r) != 2 {
			t.Fatalf("metadata row %q", r)
		}
		byName[r[0]] = append(byName[r[0]], r[1])
		all = append(all, r[1])
	}
	if m := exporttest.Contains(strings.Join(all, "\n"), tab, export.SymbolNote(tab)); len(m) > 0 {
		t.Errorf("missing metadata: %v", m)
	}
	n := MetaNames(true)
	for name, want := range map[MetaName]string{
		TableID: tab.ID, Title: tab.Title, Unit: tab.Unit, Source: tab.Source, RefPeriod: tab.RefPeriod,
		Updated: "2026-03-14T09:26:00Z", Contact: tab.Contact, Method: tab.Method, Symbol: export.SymbolNote(tab),
		Note: strings.Join(tab.Notes, "|"),
	} {
		if got := strings.Join(byName[n[name]], "|"); got != want {
			t.Errorf("%s = %q, want %q", n[name], got, want)
		}
	}
}

func TestEnglishNames(t *testing.T) {
	tab := exporttest.Table()
	tab.Language = "en"
	path := filepath.Join(t.TempDir(), "t.xlsx")
	if err := WriteXLSX(path, tab); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue(MetaSheet, "A8"); v != "Disclosure control" {
		t.Errorf("A8 = %q", v)
	}
	if v, _ := f.GetCellValue(MetaSheet, "B11"); !strings.HasPrefix(v, ".. = not published") {
		t.Errorf("B11 = %q", v)
	}
}

func TestRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, mod := range map[string]func(*table.Table){
		"invalid":   func(t *table.Table) { t.Status = t.Status[1:] },
		"no source": func(t *table.Table) { t.Source = "" },
		"column":    func(t *table.Table) { t.Dims[2].Code = "status" },
	} {
		tab := exporttest.Table()
		mod(tab)
		path := filepath.Join(dir, name+".xlsx")
		if err := WriteXLSX(path, tab); err == nil {
			t.Errorf("%s: written", name)
		}
		if _, err := excelize.OpenFile(path); err == nil {
			t.Errorf("%s: a file was left", name)
		}
	}
}

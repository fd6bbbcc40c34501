package tidy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/export"
	"github.com/gallra/gallra/pipeline/export/exporttest"
	"github.com/gallra/gallra/transforms/table"
)

// readBack writes tab as CSV and reads it with DuckDB, every column as text.
func readBack(t *testing.T, tab *table.Table, opt CSVOptions) ([]string, [][]string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, tab, opt); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "t.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := duck.Open(ctx, duck.Options{TempDir: filepath.Join(dir, "spill"), Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	delim := ","
	if opt.Comma != 0 {
		delim = string(opt.Comma)
	}
	cols, rows, err := duck.Query(ctx, db, "SELECT * FROM read_csv("+duck.Literal(path)+
		", header = true, all_varchar = true, delim = "+duck.Literal(delim)+")")
	if err != nil {
		t.Fatal(err)
	}
	return cols, rows, buf.Bytes()
}

func TestRoundTripDuckDB(t *testing.T) {
	for _, opt := range []CSVOptions{{}, {Comma: ';', BOM: true}, {Comma: '\t'}} {
		tab := exporttest.Table()
		cols, rows, raw := readBack(t, tab, opt)
		if bytes.Contains(raw, []byte(strconv.Itoa(exporttest.Hidden))) {
			t.Errorf("%+v: a suppressed cell's value is in the file", opt)
		}
		if bytes.HasPrefix(raw, []byte("\ufeff")) != opt.BOM {
			t.Errorf("%+v: BOM wrong", opt)
		}
		wantCols := "measure|measure_label|year|year_label|sex|sex_label|value|status"
		if strings.Join(cols, "|") != wantCols {
			t.Fatalf("%+v: columns %q", opt, cols)
		}
		if len(rows) != tab.Len() {
			t.Fatalf("%+v: %d rows, want %d", opt, len(rows), tab.Len())
		}
		// Rebuild the table from the rows: categories in order of first
		// appearance, then every cell by its codes.
		got := table.New(dimsFrom(rows, tab)...)
		for _, r := range rows {
			pos := []int{got.Dims[0].Index(r[0]), got.Dims[1].Index(r[2]), got.Dims[2].Index(r[4])}
			off := got.Offset(pos...)
			switch r[7] {
			case "..":
				got.Status[off] = table.StatusSuppressed
				if r[6] != "" {
					t.Errorf("%+v: suppressed cell %d has value", opt, off)
				}
			case "":
				v, err := strconv.ParseFloat(r[6], 64)
				if err != nil {
					t.Fatalf("%+v: row %v: %v", opt, r, err)
				}
				got.Values[off] = v
			default:
				t.Errorf("%+v: status %q", opt, r[7])
			}
		}
		if d := exporttest.Compare(got, tab, true); len(d) > 0 {
			t.Errorf("%+v: read back differs:\n%s", opt, strings.Join(d, "\n"))
		}
		// Rows are in cell order: row 1 is cell 1 (TOT, 2023, K).
		if strings.Join(rows[1], "|") != "TOT|Samtliga åtgärder|2023|2023|K|Kvinnor|16|" {
			t.Errorf("%+v: row 2 = %q", opt, rows[1])
		}
	}
}

// dimsFrom takes dimension codes, labels, time and total from want (the
// CSV has no place for them) and categories from the rows.
func dimsFrom(rows [][]string, want *table.Table) []table.Dimension {
	dims := make([]table.Dimension, len(want.Dims))
	for i, w := range want.Dims {
		dims[i] = table.Dimension{Code: w.Code, Label: w.Label, Time: w.Time, Total: w.Total}
		for _, r := range rows {
			if dims[i].Index(r[2*i]) < 0 {
				dims[i].Categories = append(dims[i].Categories, table.Category{Code: r[2*i], Label: r[2*i+1]})
			}
		}
	}
	return dims
}

func TestMeta(t *testing.T) {
	tab := exporttest.Table()
	var buf bytes.Buffer
	if err := WriteCSVMeta(&buf, tab, CSVOptions{Comma: ';'}); err != nil {
		t.Fatal(err)
	}
	if m := exporttest.Contains(buf.String(), tab, export.SymbolNote(tab)); len(m) > 0 {
		t.Errorf("missing metadata: %v", m)
	}
	var m Meta
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Delimiter != ";" || m.Encoding != "UTF-8" || !m.Updated.Equal(tab.Updated) || m.Method != tab.Method ||
		m.Symbols[".."] != export.SymbolNote(tab) || len(m.Dimensions) != 3 || m.Dimensions[1] != (MetaDimension{Code: "year", Label: "År", Time: true}) ||
		len(m.Columns) != 8 {
		t.Errorf("meta = %+v", m)
	}
	if !strings.Contains(buf.String(), `"updated": "2026-03-14T09:26:00Z"`) {
		t.Error("updated not RFC 3339 UTC")
	}
}

func TestRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		mod func(*table.Table)
		opt CSVOptions
	}{
		"invalid":      {func(t *table.Table) { t.Dims[0].Total = "X" }, CSVOptions{}},
		"no contact":   {func(t *table.Table) { t.Contact = "" }, CSVOptions{}},
		"column value": {func(t *table.Table) { t.Dims[0].Code = "value" }, CSVOptions{}},
		"label clash":  {func(t *table.Table) { t.Dims[0].Code = "sex_label" }, CSVOptions{}},
		"quote comma":  {func(*table.Table) {}, CSVOptions{Comma: '"'}},
	} {
		tab := exporttest.Table()
		c.mod(tab)
		if err := WriteCSV(&bytes.Buffer{}, tab, c.opt); err == nil {
			t.Errorf("%s: CSV written", name)
		}
		if err := WriteCSVMeta(&bytes.Buffer{}, tab, c.opt); err == nil {
			t.Errorf("%s: sidecar written", name)
		}
	}
}

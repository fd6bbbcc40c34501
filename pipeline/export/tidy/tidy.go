// Package tidy writes statistical tables as tidy CSV, one row per cell, in
// UTF-8, with a JSON sidecar that carries the table's metadata.
//
// The CSV has a header row and these columns: for every dimension in order,
// one named by the dimension's code holding the category code and one named
// "<code>_label" holding the category label; then "value" (the number,
// empty for a suppressed cell, whose value is never written) and "status"
// (".." for a suppressed cell, otherwise empty). Rows are in the table's
// cell order (the last dimension varies fastest). The delimiter is a comma
// unless CSVOptions.Comma says otherwise; the sidecar records it.
package tidy

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gallra/gallra/pipeline/export"
	"github.com/gallra/gallra/transforms/table"
)

// CSVOptions configures WriteCSV and WriteCSVMeta.
type CSVOptions struct {
	// Comma is the field delimiter; 0 means ','. It must be a valid
	// encoding/csv delimiter (not a quote, line break or the replacement
	// character).
	Comma rune
	// BOM starts the file with a UTF-8 byte order mark, which Excel needs
	// to read UTF-8.
	BOM bool
}

func (o CSVOptions) comma() rune {
	if o.Comma == 0 {
		return ','
	}
	return o.Comma
}

// Columns returns the CSV's column names for t.
func Columns(t *table.Table) []string {
	var cols []string
	for _, d := range t.Dims {
		cols = append(cols, d.Code, d.Code+"_label")
	}
	return append(cols, "value", "status")
}

func check(t *table.Table, opt CSVOptions) error {
	if err := export.Check(t); err != nil {
		return err
	}
	c := opt.comma()
	if c == '"' || c == '\r' || c == '\n' || c == 0xFFFD || c < 0 {
		return fmt.Errorf("tidy: table %s: invalid delimiter %q", t.ID, c)
	}
	seen := map[string]bool{}
	for _, col := range Columns(t) {
		if col == "" || col == "_label" || seen[col] {
			return fmt.Errorf("tidy: table %s: column name %q empty or repeated", t.ID, col)
		}
		seen[col] = true
	}
	return nil
}

// WriteCSV writes t to w as tidy CSV. It refuses a table that fails
// export.Check or whose dimension codes make an empty or repeated column
// name (a dimension coded "value", say).
func WriteCSV(w io.Writer, t *table.Table, opt CSVOptions) error {
	if err := check(t, opt); err != nil {
		return err
	}
	if opt.BOM {
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	cw.Comma = opt.comma()
	if err := cw.Write(Columns(t)); err != nil {
		return err
	}
	row := make([]string, 0, 2*len(t.Dims)+2)
	for i, v := range t.Values {
		row = row[:0]
		for d, p := range t.Positions(i) {
			c := t.Dims[d].Categories[p]
			row = append(row, c.Code, export.Label(c))
		}
		if t.Status[i] == table.StatusSuppressed {
			row = append(row, "", table.StatusSuppressed)
		} else {
			row = append(row, strconv.FormatFloat(v, 'f', -1, 64), "")
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Meta is the sidecar that WriteCSVMeta writes as JSON.
type Meta struct {
	TableID    string            `json:"tableid,omitempty"`
	Title      string            `json:"title"`
	Unit       string            `json:"unit"`
	Source     string            `json:"source"`
	RefPeriod  string            `json:"refperiod"`
	Updated    time.Time         `json:"updated"` // RFC 3339
	Contact    string            `json:"contact"`
	Language   string            `json:"language,omitempty"`
	Notes      []string          `json:"notes"`
	Method     string            `json:"method"`
	Symbols    map[string]string `json:"symbols"`
	Encoding   string            `json:"encoding"`
	BOM        bool              `json:"bom"`
	Delimiter  string            `json:"delimiter"`
	Header     bool              `json:"header"`
	Columns    []string          `json:"columns"`
	Dimensions []MetaDimension   `json:"dimensions"`
}

// MetaDimension describes one dimension in the sidecar.
type MetaDimension struct {
	Code  string `json:"code"`
	Label string `json:"label"`
	Time  bool   `json:"time,omitempty"`
	Total string `json:"total,omitempty"`
}

// WriteCSVMeta writes the metadata of the CSV that WriteCSV writes with the
// same options: title, unit, source, reference period, last updated,
// contact, notes (with the symbol explanation), method, the symbols, the
// encoding, delimiter and columns, and the dimensions.
func WriteCSVMeta(w io.Writer, t *table.Table, opt CSVOptions) error {
	if err := check(t, opt); err != nil {
		return err
	}
	m := Meta{
		TableID: t.ID, Title: t.Title, Unit: t.Unit, Source: t.Source, RefPeriod: t.RefPeriod,
		Updated: t.Updated.UTC(), Contact: t.Contact, Language: t.Language, Notes: export.Notes(t),
		Method:   t.Method,
		Symbols:  map[string]string{table.StatusSuppressed: export.SymbolNote(t)},
		Encoding: "UTF-8", BOM: opt.BOM, Delimiter: string(opt.comma()), Header: true,
		Columns: Columns(t),
	}
	for _, d := range t.Dims {
		m.Dimensions = append(m.Dimensions, MetaDimension{Code: d.Code, Label: export.DimLabel(d), Time: d.Time, Total: d.Total})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

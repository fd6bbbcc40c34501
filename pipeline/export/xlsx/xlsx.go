// Package xlsx writes statistical tables as Excel workbooks (Office Open
// XML, with github.com/xuri/excelize/v2).
//
// The workbook has two sheets. "Data" is the table in tidy form, with the
// same columns as the tidy CSV (package tidy): for every dimension its
// category code and label, then "value" and "status". Codes and labels are
// text, values are numbers, and a suppressed cell has the text ".." in
// "value" (its number is never written) and ".." in "status".
// "Metadata" has one row per item, a name in column A and the text in B:
// table id, title, unit, source, reference period, last updated (RFC 3339,
// UTC), contact, disclosure-control method, each footnote, and the
// explanation of the ".." symbol. The names are in the table's language
// (Swedish or English); [MetaNames] lists them.
package xlsx

import (
	"bytes"
	"fmt"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gallra/gallra/pipeline/atomicfile"
	"github.com/gallra/gallra/pipeline/export"
	"github.com/gallra/gallra/pipeline/export/tidy"
	"github.com/gallra/gallra/transforms/table"
)

// Sheet names.
const (
	DataSheet = "Data"
	MetaSheet = "Metadata"
)

// MetaName identifies a row of the Metadata sheet.
type MetaName int

// Rows of the Metadata sheet, in order; Note repeats once per footnote.
const (
	TableID MetaName = iota
	Title
	Unit
	Source
	RefPeriod
	Updated
	Contact
	Method
	Note
	Symbol
)

var names = map[bool][]string{
	true:  {"Tabell-id", "Titel", "Enhet", "Källa", "Referensperiod", "Senast uppdaterad", "Kontakt", "Röjandekontroll", "Fotnot", "Teckenförklaring"},
	false: {"Table id", "Title", "Unit", "Source", "Reference period", "Last updated", "Contact", "Disclosure control", "Note", "Symbols"},
}

// MetaNames returns the names in column A of the Metadata sheet, indexed
// by MetaName, for Swedish (sv) or English tables.
func MetaNames(swedish bool) []string { return append([]string(nil), names[swedish]...) }

// WriteXLSX writes t to a new workbook at path (through a temporary file in
// the same directory, renamed into place). It refuses a table that fails
// export.Check or that the tidy CSV would refuse.
func WriteXLSX(path string, t *table.Table) error {
	if err := tidy.WriteCSVMeta(discard{}, t, tidy.CSVOptions{}); err != nil {
		return err // the same checks as the CSV
	}
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", DataSheet); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if _, err := f.NewSheet(MetaSheet); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if err := writeData(f, t); err != nil {
		return fmt.Errorf("xlsx: table %s: %w", t.ID, err)
	}
	if err := writeMeta(f, t); err != nil {
		return fmt.Errorf("xlsx: table %s: %w", t.ID, err)
	}
	if err := f.SetDocProps(&excelize.DocProperties{
		Title: t.Title, Creator: "gallra", Description: t.Source,
		Created: t.Updated.UTC().Format(time.RFC3339), Language: t.Language,
	}); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}

	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return fmt.Errorf("xlsx: write %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("xlsx: write %s: %w", path, err)
	}
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func writeData(f *excelize.File, t *table.Table) error {
	sw, err := f.NewStreamWriter(DataSheet)
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	cols := tidy.Columns(t)
	if err := sw.SetColWidth(1, len(cols), 16); err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	header := make([]any, len(cols))
	for i, c := range cols {
		header[i] = excelize.Cell{StyleID: bold, Value: c}
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	row := make([]any, 0, len(cols))
	for i, v := range t.Values {
		row = row[:0]
		for d, p := range t.Positions(i) {
			c := t.Dims[d].Categories[p]
			row = append(row, c.Code, export.Label(c))
		}
		if t.Status[i] == table.StatusSuppressed {
			row = append(row, table.StatusSuppressed, table.StatusSuppressed)
		} else {
			row = append(row, v, "")
		}
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	return sw.Flush()
}

func writeMeta(f *excelize.File, t *table.Table) error {
	n := names[export.Swedish(t)]
	rows := [][2]string{
		{n[TableID], t.ID}, {n[Title], t.Title}, {n[Unit], t.Unit}, {n[Source], t.Source},
		{n[RefPeriod], t.RefPeriod}, {n[Updated], t.Updated.UTC().Format(time.RFC3339)},
		{n[Contact], t.Contact}, {n[Method], t.Method},
	}
	for _, note := range t.Notes {
		if note == export.SymbolNote(t) {
			continue // has its own row
		}
		rows = append(rows, [2]string{n[Note], note})
	}
	rows = append(rows, [2]string{n[Symbol], export.SymbolNote(t)})
	for i, r := range rows {
		for j, v := range r {
			cell, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				return err
			}
			if err := f.SetCellStr(MetaSheet, cell, v); err != nil {
				return err
			}
		}
	}
	if err := f.SetColWidth(MetaSheet, "A", "A", 22); err != nil {
		return err
	}
	return f.SetColWidth(MetaSheet, "B", "B", 100)
}

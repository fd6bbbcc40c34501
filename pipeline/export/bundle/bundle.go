// Package bundle writes one statistical table in every export format into
// a directory: PX, JSON-stat 2.0, tidy CSV with its metadata sidecar, and
// XLSX, under one base name.
package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/gallra/gallra/pipeline/atomicfile"
	"github.com/gallra/gallra/pipeline/export/jsonstat"
	"github.com/gallra/gallra/pipeline/export/px"
	"github.com/gallra/gallra/pipeline/export/tidy"
	"github.com/gallra/gallra/pipeline/export/xlsx"
	"github.com/gallra/gallra/transforms/table"
)

// Options configures WriteDir.
type Options struct {
	// Name is the base name of the files; empty means the table's ID.
	// Characters other than letters A-Z, digits, "_", "-" and "." become "_".
	Name string
	PX   px.PXOptions
	CSV  tidy.CSVOptions
}

// Extensions of the files WriteDir writes, in the order it returns them.
var Extensions = []string{".px", ".json", ".csv", ".csv-meta.json", ".xlsx"}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// WriteDir writes t into dir as <name>.px, <name>.json (JSON-stat),
// <name>.csv, <name>.csv-meta.json and <name>.xlsx and returns their paths.
// Every format is produced in memory first, so a table that any format
// refuses leaves no file; each file is written to a temporary name and
// renamed into place.
func WriteDir(dir string, t *table.Table, opt Options) ([]string, error) {
	name := opt.Name
	if name == "" && t != nil {
		name = t.ID
	}
	name = unsafe.ReplaceAllString(name, "_")
	if name == "" || name == "." || name == ".." {
		return nil, errors.New("bundle: no file name (set Options.Name or the table's ID)")
	}
	var pxb, jsb, csvb, metab bytes.Buffer
	if err := px.WritePX(&pxb, t, opt.PX); err != nil {
		return nil, err
	}
	if err := jsonstat.WriteJSONStat(&jsb, t); err != nil {
		return nil, err
	}
	if err := tidy.WriteCSV(&csvb, t, opt.CSV); err != nil {
		return nil, err
	}
	if err := tidy.WriteCSVMeta(&metab, t, opt.CSV); err != nil {
		return nil, err
	}
	var paths []string
	for i, b := range []*bytes.Buffer{&pxb, &jsb, &csvb, &metab} {
		p := filepath.Join(dir, name+Extensions[i])
		if err := writeFile(p, b.Bytes()); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	p := filepath.Join(dir, name+".xlsx")
	if err := xlsx.WriteXLSX(p, t); err != nil {
		return paths, err
	}
	return append(paths, p), nil
}

func writeFile(path string, b []byte) error {
	if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("bundle: write %s: %w", path, err)
	}
	return nil
}

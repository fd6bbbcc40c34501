package verify

import (
	"archive/zip"
	"cmp"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// isXLSX reports whether the zip file f is an Office Open XML workbook.
func isXLSX(f *os.File, size int64) bool {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return false
	}
	for _, zf := range zr.File {
		if zf.Name == "xl/workbook.xml" {
			return true
		}
	}
	return false
}

type cellPos struct{ row, col int }

// scanXLSX scans a workbook: every cell of every sheet, raw and formatted
// (a number formatted as 000000-0000 shows an identifier its raw value
// hides), and then every part of the package as text, which covers
// comments, document properties, hyperlinks, defined names and anything
// else a workbook can carry. A kind found in a worksheet or the shared
// strings part is reported there only if no cell had it, so that each cell
// finding is not repeated with a coarser location.
func (sc *scan) scanXLSX(rep *fileReport, f *os.File, size int64) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	x, err := excelize.OpenReader(f)
	if err != nil {
		return err
	}
	defer x.Close()
	var inCells kinds
	for i, sheet := range x.GetSheetList() {
		label := "sheet " + sheet
		if k := sc.d.detectAll([]byte(sheet)); k != 0 {
			n := strconv.Itoa(i + 1)
			rep.add("sheet #"+n+" name", k)
			label = "sheet #" + n
		}
		cells := map[cellPos]kinds{}
		for _, raw := range []bool{true, false} {
			if err := sc.scanSheet(x, sheet, raw, cells); err != nil {
				return err
			}
		}
		keys := make([]cellPos, 0, len(cells))
		for p := range cells {
			keys = append(keys, p)
		}
		slices.SortFunc(keys, func(a, b cellPos) int {
			return cmp.Or(cmp.Compare(a.row, b.row), cmp.Compare(a.col, b.col))
		})
		for _, p := range keys {
			name, err := excelize.CoordinatesToCellName(p.col, p.row)
			if err != nil {
				return err
			}
			rep.add(label+", cell "+name, cells[p])
			inCells |= cells[p]
		}
	}

	zr, err := zip.NewReader(f, size)
	if err != nil {
		return err
	}
	for i, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue
		}
		label := "part " + zf.Name
		if k := sc.d.detectAll([]byte(zf.Name)); k != 0 {
			label = "part #" + strconv.Itoa(i+1)
			rep.add(label+" name", k)
		}
		rep.suppress = 0
		if isCellPart(zf.Name) {
			rep.suppress = inCells
		}
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		err = sc.scanText(rep, label+", ", rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	rep.suppress = 0
	return nil
}

// isCellPart reports whether a package part holds cell values: a worksheet
// or the shared strings.
func isCellPart(name string) bool {
	if name == "xl/sharedStrings.xml" {
		return true
	}
	rest, ok := strings.CutPrefix(name, "xl/worksheets/")
	return ok && !strings.Contains(rest, "/")
}

// scanSheet reads every cell of a sheet, raw or formatted, and ORs what it
// finds into cells. Raw numbers are also checked as numbers, so that an
// identifier that lost its leading zero is found.
func (sc *scan) scanSheet(x *excelize.File, sheet string, raw bool, cells map[cellPos]kinds) error {
	rows, err := x.Rows(sheet)
	if err != nil {
		return err
	}
	defer rows.Close()
	opts := excelize.Options{RawCellValue: raw}
	r := 0
	for rows.Next() {
		r++
		cols, err := rows.Columns(opts)
		if err != nil {
			return err
		}
		for c, v := range cols {
			if v == "" {
				continue
			}
			if raw {
				sc.stats.Values++
			}
			k := sc.d.detectAll([]byte(v))
			if raw {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					k |= sc.d.detectFloat(f)
				}
			}
			if k != 0 {
				cells[cellPos{r, c + 1}] |= k
			}
		}
	}
	return rows.Error()
}

package source

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// isoDate is the number format dates are rendered in.
const isoDate = "yyyy-mm-dd"

// xlsxReader streams one worksheet with excelize's row iterator, which reads
// the sheet's XML as a stream (spilling large sheets to a temporary file)
// rather than loading every row.
type xlsxReader struct {
	path   string
	f      *excelize.File
	rows   *excelize.Rows
	rowNum int // number of the row the iterator is on

	header []string
	width  int
	cols   []int
	fatal  error
}

// xlsxInMemory is the largest worksheet (or shared string table) XML that
// is unzipped in memory rather than into a temporary file.
const xlsxInMemory = 512 << 20

func openXLSX(path string, opt Options) (Reader, error) {
	// ShortDatePattern makes excelize render the built-in date formats 14
	// (the locale's short date, which Swedish Excel uses) and 22 (date and
	// time) with an ISO date.
	//
	// UnzipXMLSizeLimit keeps worksheets and shared strings up to that size in
	// memory. Above excelize's default (16 MiB, an export of about 100,000
	// rows) it would unzip them into the system's temporary directory, where
	// raw identifiers must never lie; larger exports still do, so run gallra
	// with a private temporary directory (systemd PrivateTmp=, as
	// docs/deploy/gallra.service does), and prefer CSV for large sources.
	f, err := excelize.OpenFile(path, excelize.Options{ShortDatePattern: isoDate, UnzipXMLSizeLimit: xlsxInMemory})
	if err != nil {
		return nil, &FileError{File: path, Reason: ReasonUnreadable, Err: err}
	}
	r := &xlsxReader{path: path, f: f}
	if err := r.init(opt); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *xlsxReader) init(opt Options) error {
	isoDateFormats(r.f)
	sheet := opt.Sheet
	if sheet == "" {
		list := r.f.GetSheetList()
		if len(list) == 0 {
			return &FileError{File: r.path, Reason: ReasonNoHeader, Err: errors.New("workbook has no worksheet")}
		}
		sheet = list[0]
	} else if i, err := r.f.GetSheetIndex(sheet); err != nil || i < 0 {
		return &FileError{File: r.path, Reason: ReasonSheetNotFound, Err: fmt.Errorf("no worksheet named %q", sheet)}
	}
	rows, err := r.f.Rows(sheet)
	if err != nil {
		return &FileError{File: r.path, Reason: ReasonUnreadable, Err: err}
	}
	r.rows = rows
	cells, err := r.nextCells()
	if err != nil {
		if err == io.EOF {
			return &FileError{File: r.path, Reason: ReasonNoHeader, Err: errors.New("worksheet has no rows")}
		}
		return err
	}
	r.header, _ = cleanHeader(cells)
	r.width = len(r.header)
	return nil
}

// nextCells returns the cells of the next non-blank row, io.EOF, or a
// *FileError.
func (r *xlsxReader) nextCells() ([]string, error) {
	for r.rows.Next() {
		r.rowNum++
		cells, err := r.rows.Columns()
		if err != nil {
			return nil, &FileError{File: r.path, Reason: ReasonUnreadable, Line: r.rowNum, Err: err}
		}
		for _, c := range cells {
			if c != "" {
				return cells, nil
			}
		}
	}
	if err := r.rows.Error(); err != nil {
		return nil, &FileError{File: r.path, Reason: ReasonUnreadable, Line: r.rowNum, Err: err}
	}
	return nil, io.EOF
}

// Next implements Reader.
func (r *xlsxReader) Next() (Row, error) {
	if r.fatal != nil {
		return Row{}, r.fatal
	}
	cells, err := r.nextCells()
	if err != nil {
		if err != io.EOF {
			r.fatal = err
		}
		return Row{}, err
	}
	n := len(cells)
	for n > 0 && cells[n-1] == "" {
		n--
	}
	n = max(n, r.width)
	return Row{Line: r.rowNum, Fields: selectFields(cells, r.cols), NumFields: n}, nil
}

// isoDateFormats rewrites the workbook's custom number formats that show a
// date without a time (such as "d/m/yyyy" or "[$-41D]d mmmm yyyy") to
// yyyy-mm-dd, so that every date cell reads as an ISO date. Formats with a
// time part, and the built-in formats 15-17 (d-mmm-yy, d-mmm, mmm-yy), keep
// their display form. The change lives in memory only; the file is never
// saved.
func isoDateFormats(f *excelize.File) {
	_, _ = f.GetStyle(0) // loads f.Styles; an error leaves nothing to rewrite
	if f.Styles == nil || f.Styles.NumFmts == nil {
		return
	}
	for _, nf := range f.Styles.NumFmts.NumFmt {
		if nf == nil {
			continue
		}
		code := nf.FormatCode
		if nf.FormatCode16 != "" {
			code = nf.FormatCode16
		}
		if isDateOnlyFormat(code) {
			nf.FormatCode, nf.FormatCode16 = isoDate, ""
		}
	}
}

// isDateOnlyFormat reports whether an Excel number format code shows a
// date (year and day) and no time of day. Quoted text, escaped characters
// and bracketed sections (colours, locales, conditions) are ignored, except
// that elapsed-time brackets such as [h] count as time.
func isDateOnlyFormat(code string) bool {
	var year, day, clock bool
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			j := strings.IndexByte(code[i+1:], '"')
			if j < 0 {
				return false
			}
			i += j + 1
		case '\\', '_', '*':
			i++ // the next character is literal, or padding
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return false
			}
			if inner := code[i+1 : i+j]; inner != "" && strings.IndexByte("hHmMsS", inner[0]) >= 0 {
				clock = true // elapsed time: [h], [mm], [ss]
			}
			i += j
		default:
			switch c | 0x20 { // ASCII lower case
			case 'y':
				year = true
			case 'd':
				day = true
			case 'h', 's':
				clock = true
			}
		}
	}
	if l := strings.ToLower(code); strings.Contains(l, "am/pm") || strings.Contains(l, "a/p") {
		clock = true
	}
	return year && day && !clock
}

// Header implements Reader.
func (r *xlsxReader) Header() []string { return append([]string(nil), r.header...) }

// Select implements Reader.
func (r *xlsxReader) Select(cols []int) { r.cols = checkSelect(cols) }

// Encoding implements Reader; worksheet XML is always Unicode.
func (r *xlsxReader) Encoding() string { return encUTF8 }

// Delimiter implements Reader; a worksheet has none.
func (r *xlsxReader) Delimiter() rune { return 0 }

// Offset implements Reader. It is 0: excelize reads the whole workbook when
// it opens it and streams the worksheet from the decompressed archive, so no
// byte position in the file corresponds to a row.
func (r *xlsxReader) Offset() int64 { return 0 }

// Close implements Reader.
func (r *xlsxReader) Close() error {
	var err error
	if r.rows != nil {
		err = r.rows.Close()
	}
	return errors.Join(err, r.f.Close())
}

package source

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	kflate "github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"
)

// isoDate is the number format dates are rendered in.
const isoDate = "yyyy-mm-dd"

// xlsxReader streams one worksheet straight out of the workbook's zip
// archive with a small XML scanner (xmlscan.go): neither the worksheet nor
// any part of it is ever unzipped as a whole, into memory or into a
// temporary file, so reading costs the same small memory whatever the
// export's size, and raw identifiers never land on disk.
//
// Cells read the way excelize's row iterator reads them (which this reader
// replaced, and which the tests use as the reference): shared and inline
// strings, numbers in excelize's general form, booleans as TRUE and FALSE,
// and a cell with a style shown in its number format (dates as ISO dates,
// see isoDateFormats; "0.00E+00" as 1.91E+11) by excelize itself, from a
// copy of the workbook that holds its styles but none of its cells (see
// cellFormatter). Only the selected columns are decoded.
type xlsxReader struct {
	fields fieldBlock // where the rows' field slices come from

	path   string
	zf     *zip.ReadCloser
	sheet  io.ReadCloser
	sc     *xmlScanner
	sst    []string
	cf     *cellFormatter
	inData bool // inside <sheetData>
	rowNum int  // number of the row last read

	header []string
	width  int
	cols   []int
	want   []bool // columns to decode; nil = all
	fatal  error

	cells []string // the row being read
	buf   []byte   // a cell's text
}

// xlsxInMemory bounds the parts of a workbook (styles, shared strings) that
// are held in memory.
const xlsxInMemory = 512 << 20

// present marks a cell that has a value but was not selected: it counts
// for NumFields and blank-row detection and is never returned.
const present = "\x00"

func openXLSX(path string, opt Options) (Reader, error) {
	zf, err := zip.OpenReader(path)
	if err != nil {
		return nil, &FileError{File: path, Reason: ReasonUnreadable, Err: err}
	}
	zf.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser { return kflate.NewReader(r) })
	r := &xlsxReader{path: path, zf: zf}
	if err := r.init(opt); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// opcRel is one relationship of an Open Packaging part.
type opcRel struct {
	ID     string `xml:"Id,attr"`
	Type   string `xml:"Type,attr"`
	Target string `xml:"Target,attr"`
}

func (r *xlsxReader) file(name string) *zip.File {
	for _, f := range r.zf.File {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// readPart reads a small part (package relationships, workbook, styles)
// whole; larger than limit is an error.
func (r *xlsxReader) readPart(name string, limit int64) ([]byte, error) {
	f := r.file(name)
	if f == nil {
		return nil, fmt.Errorf("no part %s", name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("part %s is larger than %d bytes", name, limit)
	}
	return b, err
}

func (r *xlsxReader) rels(part string) ([]opcRel, error) {
	name := path.Join(path.Dir(part), "_rels", path.Base(part)+".rels")
	b, err := r.readPart(name, 16<<20)
	if err != nil {
		return nil, err
	}
	var v struct {
		Rels []opcRel `xml:"Relationship"`
	}
	if err := xml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i := range v.Rels {
		t := v.Rels[i].Target
		if strings.HasPrefix(t, "/") {
			v.Rels[i].Target = strings.TrimPrefix(t, "/")
		} else {
			v.Rels[i].Target = path.Join(path.Dir(part), t)
		}
	}
	return v.Rels, nil
}

func relOfType(rels []opcRel, suffix string) (opcRel, bool) {
	for _, rel := range rels {
		if strings.HasSuffix(rel.Type, suffix) {
			return rel, true
		}
	}
	return opcRel{}, false
}

func (r *xlsxReader) unreadable(err error) error {
	return &FileError{File: r.path, Reason: ReasonUnreadable, Line: r.rowNum, Err: err}
}

func (r *xlsxReader) init(opt Options) error {
	root := "xl/workbook.xml"
	if rels, err := r.rels(""); err == nil {
		if rel, ok := relOfType(rels, "/officeDocument"); ok {
			root = rel.Target
		}
	}
	wbRels, err := r.rels(root)
	if err != nil {
		return r.unreadable(err)
	}
	wbXML, err := r.readPart(root, 64<<20)
	if err != nil {
		return r.unreadable(err)
	}
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			RID  string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := xml.Unmarshal(wbXML, &wb); err != nil {
		return r.unreadable(fmt.Errorf("%s: %w", root, err))
	}
	if r.cf, err = newCellFormatter(r, root, wbRels); err != nil {
		return r.unreadable(err)
	}
	isoDateFormats(r.cf.x)

	sheet := opt.Sheet
	if sheet == "" {
		list := r.cf.x.GetSheetList()
		if len(list) == 0 {
			return &FileError{File: r.path, Reason: ReasonNoHeader, Err: errors.New("workbook has no worksheet")}
		}
		sheet = list[0]
	} else if i, err := r.cf.x.GetSheetIndex(sheet); err != nil || i < 0 {
		return &FileError{File: r.path, Reason: ReasonSheetNotFound, Err: fmt.Errorf("no worksheet named %q", sheet)}
	}
	target := ""
	for _, s := range wb.Sheets {
		if strings.EqualFold(s.Name, sheet) {
			for _, rel := range wbRels {
				if rel.ID == s.RID {
					target = rel.Target
				}
			}
			break
		}
	}
	f := r.file(target)
	if f == nil {
		return r.unreadable(errors.New("the worksheet's part is missing"))
	}
	if rel, ok := relOfType(wbRels, "/sharedStrings"); ok && r.file(rel.Target) != nil {
		if r.sst, err = r.readSST(rel.Target); err != nil {
			return r.unreadable(err)
		}
	}
	if r.sheet, err = f.Open(); err != nil {
		return r.unreadable(err)
	}
	r.sc = newXMLScanner(r.sheet)

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

// readSST reads the shared string table: each item's text, its rich text
// runs joined, phonetic runs left out.
func (r *xlsxReader) readSST(name string) ([]string, error) {
	f := r.file(name)
	if f.UncompressedSize64 > xlsxInMemory {
		return nil, fmt.Errorf("shared strings larger than %d bytes", xlsxInMemory)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	sc := newXMLScanner(rc)
	var out []string
	var text []byte
	inSI, inT, phonetic := false, false, 0
	for {
		kind, err := sc.next(inT)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if inT {
			if text, err = appendText(text, sc.text); err != nil {
				return nil, err
			}
		}
		switch kind {
		case mCDATA:
			if inT {
				text = append(text, sc.tag...)
			}
		case mStart:
			switch {
			case sc.is("si"):
				inSI, text = true, text[:0]
			case sc.is("rPh"):
				phonetic++
			case sc.is("t") && inSI && phonetic == 0:
				inT = true
			}
		case mEnd:
			switch {
			case sc.is("t"):
				inT = false
			case sc.is("rPh"):
				phonetic--
			case sc.is("si"):
				inSI = false
				out = append(out, unescapeOOXML(string(text)))
			}
		case mEmpty:
			if sc.is("si") {
				out = append(out, "")
			}
		}
	}
}

// nextCells returns the cells of the next non-blank row, io.EOF, or a
// *FileError.
func (r *xlsxReader) nextCells() ([]string, error) {
	for {
		cells, err := r.readRow()
		if err != nil {
			if err != io.EOF {
				err = r.unreadable(err)
			}
			return nil, err
		}
		for _, c := range cells {
			if c != "" {
				return cells, nil
			}
		}
	}
}

// readRow reads the next <row> of the sheet data into r.cells, as excelize's
// Rows.Columns does: a cell goes to its column (from its reference, else the
// one after the previous cell), cells without a value are left out, and the
// row ends at its last cell with a value (or a formula).
func (r *xlsxReader) readRow() ([]string, error) {
	sc := r.sc
	for !r.inData {
		kind, err := sc.next(false)
		if err != nil {
			return nil, err
		}
		if sc.is("sheetData") {
			switch kind {
			case mStart:
				r.inData = true
			case mEmpty, mEnd:
				return nil, io.EOF
			}
		}
	}
	// find the row
	for {
		kind, err := sc.next(false)
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		if kind == mEnd && sc.is("sheetData") {
			r.inData = false
			return nil, io.EOF
		}
		if (kind == mStart || kind == mEmpty) && sc.is("row") {
			if v, ok := sc.attr("r"); ok {
				n, err := strconv.Atoi(string(v))
				if err != nil || n < 0 || n > excelize.TotalRows {
					return nil, fmt.Errorf("row after row %d: invalid row number", r.rowNum)
				}
				if n != 0 {
					r.rowNum = n
				} else {
					r.rowNum++
				}
			} else {
				r.rowNum++
			}
			r.cells = r.cells[:0]
			if kind == mEmpty {
				return r.cells, nil
			}
			break
		}
	}
	col := 0
	for {
		kind, err := sc.next(false)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if kind == mEnd && sc.is("row") {
			return r.cells, nil
		}
		if (kind != mStart && kind != mEmpty) || !sc.is("c") {
			continue
		}
		col++
		var c cell
		v, ok := sc.attrs("r", "s", "t")
		if ok[0] && len(v[0]) > 0 {
			if col, err = columnOf(v[0]); err != nil {
				return nil, fmt.Errorf("cell in row %d: %w", r.rowNum, err)
			}
		}
		if ok[1] {
			s, err := strconv.ParseInt(string(v[1]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("cell in row %d: invalid style", r.rowNum)
			}
			c.s = int(s)
		}
		if ok[2] {
			c.t = cellType(v[2])
		}
		want := r.want == nil || (col-1 < len(r.want) && r.want[col-1])
		val := ""
		if kind == mStart {
			skipped := false
			if !want {
				skipped, val = r.skipCell(&c)
			}
			if !skipped {
				if err := r.readCell(&c); err != nil {
					return nil, fmt.Errorf("cell in row %d: %w", r.rowNum, err)
				}
				val = r.value(&c, want)
			}
		} else {
			val = r.value(&c, want)
		}
		if val != "" || c.formula {
			for blank := col - len(r.cells); blank > 1; blank-- {
				r.cells = append(r.cells, "")
			}
			r.cells = append(r.cells, val)
		}
	}
}

// cell is one <c> element as read.
type cell struct {
	s       int
	t       byte // see cellType
	v       []byte
	hasV    bool
	inline  []byte
	hasIS   bool
	formula bool
}

func cellType(v []byte) byte {
	switch string(v) {
	case "s":
		return 's'
	case "str":
		return 'f'
	case "inlineStr":
		return 'i'
	case "b":
		return 'b'
	case "d":
		return 'd'
	}
	return 'n'
}

// columnOf returns the 1-based column of a cell reference such as "AB12".
func columnOf(ref []byte) (int, error) {
	col := 0
	for _, c := range ref {
		switch {
		case 'A' <= c && c <= 'Z':
			col = col*26 + int(c-'A') + 1
		case 'a' <= c && c <= 'z':
			col = col*26 + int(c-'a') + 1
		default:
			if col == 0 || col > excelize.MaxColumns {
				return 0, errors.New("invalid cell reference")
			}
			return col, nil
		}
		if col > excelize.MaxColumns {
			return 0, errors.New("invalid cell reference")
		}
	}
	return 0, errors.New("invalid cell reference")
}

// readCell reads a cell's children up to </c>: its value, inline string and
// whether it has a formula.
func (r *xlsxReader) readCell(c *cell) error {
	if r.readPlainCell(c) {
		return nil
	}
	sc := r.sc
	// what is being read: 0 nothing, 'v' a value, 't' inline text
	in, depthIS, phonetic := byte(0), 0, 0
	r.buf = r.buf[:0]
	for {
		kind, err := sc.next(in != 0)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if in != 0 {
			if r.buf, err = appendText(r.buf, sc.text); err != nil {
				return err
			}
		}
		switch kind {
		case mCDATA:
			if in != 0 {
				r.buf = append(r.buf, sc.tag...)
			}
		case mStart:
			switch {
			case sc.is("v") && depthIS == 0:
				in, r.buf = 'v', r.buf[:0]
			case sc.is("f"):
				c.formula = true
			case sc.is("is"):
				depthIS++
				c.hasIS = true
			case sc.is("rPh"):
				phonetic++
			case sc.is("t") && depthIS > 0 && phonetic == 0:
				in = 't'
			}
		case mEmpty:
			switch {
			case sc.is("f"):
				c.formula = true
			case sc.is("v") && depthIS == 0:
				c.hasV, c.v = true, c.v[:0]
			case sc.is("is"):
				c.hasIS = true
			}
		case mEnd:
			switch {
			case sc.is("c"):
				return nil
			case sc.is("v") && in == 'v':
				c.v, c.hasV = append(c.v[:0], r.buf...), true
				in = 0
			case sc.is("t") && in == 't':
				c.inline = append(c.inline, r.buf...)
				r.buf, in = r.buf[:0], 0
			case sc.is("rPh"):
				phonetic--
			case sc.is("is"):
				depthIS--
			}
		}
	}
}

// readPlainCell reads the cell as readCell does, from the bytes before its
// </c> alone, when they are already in the read buffer and plain: no
// prefixes, entities, CDATA, comments, processing instructions or carriage
// returns, no phonetic runs, no attributes on v, t or is, no markup inside
// v or t, at most one v and not both v and is. It reports whether it did;
// if not, nothing was read. An export's cells are such cells, and taking
// each one's four or five tags through the scanner was most of the cost of
// the selected ones. One pass over the cell's bytes, tag by tag.
func (r *xlsxReader) readPlainCell(c *cell) bool {
	seg, ok := r.bufferedCell()
	if !ok {
		return false
	}
	for _, b := range seg {
		if notPlain[b] {
			return false
		}
	}
	r.buf = r.buf[:0]
	var nv, nis, textFrom, vFrom, vTo int
	var in byte // 't' or 'v' while inside one
	emptyV, formula := false, false
	for i := 0; i < len(seg); {
		j := bytes.IndexByte(seg[i:], '<')
		if j < 0 {
			break
		}
		j += i
		e := bytes.IndexByte(seg[j:], '>')
		if e < 0 {
			return false
		}
		e += j
		tag := seg[j+1 : e]
		if bytes.ContainsAny(tag, `"'`) && (bytes.Count(tag, []byte(`"`))%2 != 0 || bytes.Count(tag, []byte("'"))%2 != 0) {
			return false // a '>' inside a quoted value
		}
		i = e + 1
		if in != 0 {
			switch {
			case in == 't' && string(tag) == "/t":
				r.buf = append(r.buf, seg[textFrom:j]...)
			case in == 'v' && string(tag) == "/v":
				vFrom, vTo = textFrom, j
			default:
				return false // markup inside t or v
			}
			in = 0
			continue
		}
		switch string(tag) {
		case "t":
			if nis == 0 {
				return false
			}
			in, textFrom = 't', i
		case "v":
			nv++
			in, textFrom = 'v', i
		case "v/":
			nv++
			emptyV = true
		case "is", "is/":
			nis++
		case "/is", "t/":
		default:
			switch {
			case len(tag) > 0 && tag[0] == 'f' && (len(tag) == 1 || tag[1] == ' ' || tag[1] == '/'):
				formula = true
			case bytes.HasPrefix(tag, []byte("rPh")), bytes.HasPrefix(tag, []byte("t ")),
				bytes.HasPrefix(tag, []byte("v ")), bytes.HasPrefix(tag, []byte("is ")):
				return false
			}
		}
	}
	if in != 0 || nv > 1 || nis > 1 || (nv > 0 && nis > 0) {
		return false
	}
	switch {
	case nis == 1:
		c.hasIS = true
		if len(r.buf) > 0 {
			c.inline = r.buf
		}
	case emptyV:
		c.hasV, c.v = true, c.v[:0]
	case nv == 1:
		r.buf = append(r.buf, seg[vFrom:vTo]...)
		c.hasV, c.v = true, r.buf
	}
	c.formula = formula
	return r.discardCell(seg)
}

// bufferedCell returns the bytes of the cell being read up to its </c>, if
// they are all in the read buffer already; discardCell then consumes them
// with the </c>.
func (r *xlsxReader) bufferedCell() ([]byte, bool) {
	br := r.sc.r
	buf, _ := br.Peek(br.Buffered())
	k := bytes.Index(buf, []byte("</c>"))
	if k < 0 {
		return nil, false
	}
	return buf[:k], true
}

func (r *xlsxReader) discardCell(seg []byte) bool {
	_, err := r.sc.r.Discard(len(seg) + len("</c>"))
	return err == nil
}

// notPlain are the bytes that keep a cell from readPlainCell: a namespace
// prefix, an entity, CDATA or a comment, a processing instruction, a
// carriage return.
var notPlain = [256]bool{':': true, '&': true, '!': true, '?': true, '\r': true}

// skipCell passes over a cell that was not selected, if it can tell from
// the bytes before its </c> alone whether excelize would show it as empty:
// a cell without a style (a style's format may hide a value), of a type
// other than d, its XML plain (no prefixes, entities, CDATA, comments or
// phonetic runs) and already in the read buffer. It returns whether it
// skipped the cell and, if so, present or "". Most cells of an export are
// such cells, and reading them whole was most of an XLSX export's cost.
func (r *xlsxReader) skipCell(c *cell) (bool, string) {
	if c.s != 0 || c.t == 'd' {
		return false, ""
	}
	seg, ok := r.bufferedCell()
	if !ok {
		return false, ""
	}
	if bytes.ContainsAny(seg, ":&!") || bytes.Contains(seg, []byte("rPh")) {
		return false, ""
	}
	// A formula keeps the cell in the row even when its value is empty.
	c.formula = bytes.Contains(seg, []byte("<f>")) || bytes.Contains(seg, []byte("<f ")) || bytes.Contains(seg, []byte("<f/>"))
	nonEmpty := false
	if c.t == 'i' && bytes.Contains(seg, []byte("<is>")) {
		nonEmpty = hasText(seg, "<t>", "</t>")
	} else if v, ok := between(seg, "<v>", "</v>"); ok {
		nonEmpty = len(v) > 0
		if c.t == 's' {
			i, err := strconv.Atoi(strings.TrimSpace(string(v)))
			nonEmpty = err == nil && i >= 0 && i < len(r.sst) && r.sst[i] != ""
		}
	}
	if !r.discardCell(seg) {
		return false, ""
	}
	if nonEmpty {
		return true, present
	}
	return true, ""
}

// between returns the bytes between the first open and the close after it.
func between(b []byte, open, close string) ([]byte, bool) {
	i := bytes.Index(b, []byte(open))
	if i < 0 {
		return nil, false
	}
	b = b[i+len(open):]
	j := bytes.Index(b, []byte(close))
	if j < 0 {
		return nil, false
	}
	return b[:j], true
}

// hasText reports whether any open...close element in b has text.
func hasText(b []byte, open, close string) bool {
	for {
		v, ok := between(b, open, close)
		if !ok {
			return false
		}
		if len(v) > 0 {
			return true
		}
		b = b[bytes.Index(b, []byte(open))+len(open)+len(close):]
	}
}

// value returns what excelize shows for the cell. An unwanted cell is only
// told apart from an empty one: present or "".
func (r *xlsxReader) value(c *cell, want bool) string {
	switch c.t {
	case 'f': // a formula's string result: never formatted
		if !want && len(c.v) > 0 {
			return present
		}
		return string(c.v)
	case 's':
		if len(c.v) == 0 {
			return ""
		}
		i, err := strconv.Atoi(strings.TrimSpace(string(c.v)))
		if err != nil || i < 0 || i >= len(r.sst) {
			return ""
		}
		s := r.sst[i]
		if !want && s != "" {
			return present
		}
		return r.cf.text(c.s, s)
	case 'i':
		if !c.hasIS {
			if !want && len(c.v) > 0 {
				return present
			}
			return r.cf.text(c.s, string(c.v))
		}
		if !want && len(c.inline) > 0 {
			return present
		}
		return r.cf.text(c.s, unescapeOOXML(string(c.inline)))
	case 'b':
		switch string(c.v) {
		case "1":
			return "TRUE"
		case "0":
			return "FALSE"
		}
	case 'd':
		if !want && len(c.v) > 0 {
			return present
		}
		return r.cf.date(c.s, string(c.v))
	}
	if !want && len(c.v) > 0 {
		return present
	}
	return r.cf.number(c.s, string(c.v))
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
	return Row{Line: r.rowNum, Fields: selectFields(&r.fields, cells, r.cols), NumFields: n}, nil
}

// cellFormatter shows a styled cell value in its number format with
// excelize, on a copy of the workbook that holds its workbook part (for the
// 1904 date system) and its styles and nothing else: every worksheet is
// empty, and there is no shared string table. A value is formatted by
// setting it, with the cell's style, into cell A1 of the first sheet of the
// copy and reading it back, which is the very code excelize's row iterator
// runs. Results are cached per style and value.
type cellFormatter struct {
	x     *excelize.File
	sheet string
	zip   []byte // the copy, to start over from when it has grown
	cache map[fmtKey]string
	sets  int
}

type fmtKey struct {
	s    int
	kind byte
	v    string
}

// maxFormatCache bounds the cache and how many values are set into the
// copy (whose own string table grows with every text) before it is
// reopened.
const maxFormatCache = 1 << 16

// emptySheet is the worksheet every sheet of the copy gets.
const emptySheet = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
	`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>`

func newCellFormatter(r *xlsxReader, root string, wbRels []opcRel) (*cellFormatter, error) {
	keep := map[string]bool{"[Content_Types].xml": true, "_rels/.rels": true, root: true,
		path.Join(path.Dir(root), "_rels", path.Base(root)+".rels"): true}
	stub := map[string]bool{}
	for _, rel := range wbRels {
		switch {
		case strings.HasSuffix(rel.Type, "/styles"):
			keep[rel.Target] = true
		case strings.HasSuffix(rel.Type, "/worksheet"), strings.HasSuffix(rel.Type, "/chartsheet"),
			strings.HasSuffix(rel.Type, "/dialogsheet"):
			stub[rel.Target] = true
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name := range stub {
		w, err := zw.Create(name)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, emptySheet); err != nil {
			return nil, err
		}
	}
	for name := range keep {
		if stub[name] || r.file(name) == nil {
			continue
		}
		b, err := r.readPart(name, 64<<20)
		if err != nil {
			return nil, err
		}
		w, err := zw.Create(name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(b); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	cf := &cellFormatter{zip: buf.Bytes()}
	if err := cf.open(); err != nil {
		return nil, err
	}
	return cf, nil
}

func (cf *cellFormatter) open() error {
	if cf.x != nil {
		cf.x.Close()
	}
	// ShortDatePattern makes excelize render the built-in date formats 14
	// (the locale's short date, which Swedish Excel uses) and 22 (date and
	// time) with an ISO date.
	x, err := excelize.OpenReader(bytes.NewReader(cf.zip), excelize.Options{ShortDatePattern: isoDate, UnzipXMLSizeLimit: xlsxInMemory})
	if err != nil {
		return err
	}
	cf.x, cf.cache, cf.sets = x, map[fmtKey]string{}, 0
	if list := x.GetSheetList(); len(list) > 0 {
		cf.sheet = list[0]
	}
	isoDateFormats(x)
	return nil
}

// text shows a string cell. Setting the text itself into the copy would
// not do: excelize's escaping of _xHHHH_ sequences does not read back what
// it wrote. A text that is not a number is shown by a text format as its
// text section with the text put in for '@' (or as itself, without one),
// so the format is applied once per style to a placeholder instead.
func (cf *cellFormatter) text(s int, v string) string {
	if s == 0 {
		return v
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil || strings.Contains(v, textPlaceholder) {
		return cf.format(s, 's', v)
	}
	return strings.ReplaceAll(cf.format(s, 's', textPlaceholder), textPlaceholder, v)
}

// textPlaceholder stands for a text in cellFormatter.text: a character
// from Unicode's private use area.
const textPlaceholder = "\uE000"

// number shows a cell of a number (or of an error value, "#N/A").
func (cf *cellFormatter) number(s int, v string) string {
	if s == 0 {
		return numberDefault(v)
	}
	return cf.format(s, 'n', v)
}

// date shows a cell of type d (an ISO 8601 date) as excelize does: as the
// serial number it stands for, in the cell's format.
func (cf *cellFormatter) date(s int, v string) string {
	return cf.format(s, 'd', v)
}

func (cf *cellFormatter) format(s int, kind byte, v string) string {
	if cf.sheet == "" {
		return v
	}
	k := fmtKey{s, kind, v}
	if out, ok := cf.cache[k]; ok {
		return out
	}
	if cf.sets >= maxFormatCache {
		if err := cf.open(); err != nil {
			return v
		}
	}
	cf.sets++
	var err error
	switch kind {
	case 's':
		err = cf.x.SetCellStr(cf.sheet, "A1", v)
	case 'd':
		err = setDateCell(cf.x, cf.sheet, v)
	default:
		err = cf.x.SetCellDefault(cf.sheet, "A1", v)
	}
	if err != nil {
		return v
	}
	out := v
	if kind == 'n' {
		out = numberDefault(v)
	}
	if err := cf.x.SetCellStyle(cf.sheet, "A1", "A1", s); err == nil {
		if got, err := cf.x.GetCellValue(cf.sheet, "A1"); err == nil {
			out = got
		}
	}
	cf.cache[k] = out
	return out
}

// numberDefault is a number cell without a style as excelize shows it: in
// the shortest form that reads back as the same float64, and rounded to 15
// significant digits (Excel's precision) when it has more, unless it is an
// integer whose further digits are zeros. Anything that is not a number
// (an error value such as #N/A) is shown as it is.
func numberDefault(v string) string {
	if strings.Contains(v, "_") {
		return v
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	plain := strconv.FormatFloat(f, 'f', -1, 64)
	if len(plain)-strings.Count(plain, ".") > 15 && !intWithinPrecision(v) {
		return strconv.FormatFloat(f, 'G', 15, 64)
	}
	return plain
}

func intWithinPrecision(s string) bool {
	if strings.ContainsAny(s, ".Ee") {
		return false
	}
	s = strings.TrimLeft(s, "+-0")
	return len(strings.TrimRight(s, "0")) <= 15
}

// setDateCell sets a cell of type d (an ISO 8601 date and time, which Excel
// itself never writes) into the copy as excelize reads one: as the date and
// time it stands for, in the layouts excelize accepts; any other text as
// it is.
func setDateCell(x *excelize.File, sheet, v string) error {
	layout := "20060102T150405.999"
	if strings.HasSuffix(v, "Z") {
		layout = "20060102T150405Z"
		if strings.Contains(v, "-") {
			layout = "2006-01-02T15:04:05Z"
		}
	} else if strings.Contains(v, "-") {
		layout = "2006-01-02 15:04:05Z"
	}
	if t, err := time.Parse(layout, strings.ReplaceAll(v, ",", ".")); err == nil {
		return x.SetCellValue(sheet, "A1", t)
	}
	return x.SetCellDefault(sheet, "A1", v)
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
func (r *xlsxReader) Select(cols []int) {
	r.cols = checkSelect(cols)
	r.want = nil
	if r.cols != nil {
		for _, c := range r.cols {
			if c >= len(r.want) {
				r.want = append(r.want, make([]bool, c+1-len(r.want))...)
			}
			r.want[c] = true
		}
		if r.want == nil {
			r.want = []bool{}
		}
	}
}

// Encoding implements Reader; worksheet XML is always Unicode.
func (r *xlsxReader) Encoding() string { return encUTF8 }

// Delimiter implements Reader; a worksheet has none.
func (r *xlsxReader) Delimiter() rune { return 0 }

// Offset implements Reader. It is 0: the worksheet is read decompressed
// from the middle of a zip archive, so no byte position in the file
// corresponds to a row.
func (r *xlsxReader) Offset() int64 { return 0 }

// Close implements Reader.
func (r *xlsxReader) Close() error {
	var err error
	if r.sheet != nil {
		err = r.sheet.Close()
	}
	if r.cf != nil && r.cf.x != nil {
		err = errors.Join(err, r.cf.x.Close())
	}
	return errors.Join(err, r.zf.Close())
}

package source

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"unicode/utf8"

	"github.com/gallra/gallra/pipeline/source/csvscan"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// csvReader streams delimited text through a csvscan.Scanner, which reads
// encoding/csv's grammar and copies only the selected fields.
type csvReader struct {
	path    string
	file    *os.File
	counter countingReader // the file, counting the bytes read from it
	sc      *csvscan.Scanner
	enc     string
	delim   rune
	lineOff int // physical lines before the scanner's input: 1 after a "sep=" line

	header   []string
	cols     []int // nil: all columns
	validate bool  // selected fields must be valid UTF-8 (file read as UTF-8)
	// fieldDec, when set, decodes the selected fields of a Windows-1252
	// file that csv parses as it is (see fieldwise).
	fieldDec *byteDecoder

	fields fieldBlock // where the rows' field slices come from

	fatal error // sticky whole-file error
}

func openCSV(path string, opt Options) (Reader, error) {
	enc, ok := normEncoding(opt.Encoding)
	if !ok {
		return nil, &FileError{File: path, Reason: ReasonInvalidOption,
			Err: fmt.Errorf("unknown encoding %q (want auto, utf-8 or windows-1252)", opt.Encoding)}
	}
	if opt.Delimiter != 0 && !csvscan.ValidDelim(opt.Delimiter) {
		return nil, &FileError{File: path, Reason: ReasonInvalidOption,
			Err: fmt.Errorf("invalid delimiter %q", opt.Delimiter)}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{File: path, Reason: ReasonUnreadable, Err: err}
	}
	r := &csvReader{path: path, file: f}
	if opt.Digest {
		r.counter.h = sha256.New()
	}
	if err := r.init(opt, enc); err != nil {
		f.Close()
		return nil, err
	}
	if opt.Digest {
		return digester{r}, nil
	}
	return r, nil
}

// init detects encoding, "sep=" line and delimiter on a bounded prefix, sets
// up the streaming csv.Reader and reads the header.
func (r *csvReader) init(opt Options, enc string) error {
	r.counter.r = r.file
	raw := bufio.NewReaderSize(&r.counter, sniffSize)
	prefix, err := raw.Peek(sniffSize)
	if err != nil && err != io.EOF {
		return &FileError{File: r.path, Reason: ReasonUnreadable, Err: err}
	}
	if enc == "" {
		enc = detectEncoding(prefix, err == io.EOF)
	}
	r.enc = enc
	r.validate = enc == encUTF8

	if enc == encCP1252 {
		if d := newByteDecoder(charmap.Windows1252); fieldwise(d, prefix, err == io.EOF, opt) {
			r.fieldDec = &d
		}
	}
	in := r.stream(raw)
	text, err := in.Peek(sniffSize)
	if err != nil && err != io.EOF {
		return &FileError{File: r.path, Reason: ReasonUnreadable, Err: err}
	}
	if err == io.EOF && isBlank(bytes.TrimPrefix(text, []byte("\uFEFF"))) {
		return &FileError{File: r.path, Reason: ReasonEmptyFile}
	}

	r.delim = opt.Delimiter
	if d, n, ok := sepLine(text); ok {
		if _, err := in.Discard(n); err != nil {
			return &FileError{File: r.path, Reason: ReasonUnreadable, Err: err}
		}
		r.lineOff = 1
		if r.delim == 0 {
			r.delim = d
		}
		if text, err = in.Peek(sniffSize); err != nil && err != io.EOF {
			return &FileError{File: r.path, Reason: ReasonUnreadable, Err: err}
		}
	}
	if r.delim == 0 {
		r.delim = detectDelimiter(text)
	}

	r.sc = csvscan.New(in, r.delim)
	rec, err := r.sc.Read() // the header: every field
	if err != nil {
		if err == io.EOF {
			return &FileError{File: r.path, Reason: ReasonNoHeader, Err: errors.New("no record")}
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &FileError{File: r.path, Reason: ReasonNoHeader, Line: pe.StartLine + r.lineOff, Err: r.adjust(pe)}
		}
		return &FileError{File: r.path, Reason: ReasonUnreadable, Err: err}
	}
	line := r.sc.Line()
	if r.fieldDec != nil {
		for i, h := range rec {
			rec[i] = r.fieldDec.String(h)
		}
	}
	hdr, ok := cleanHeader(rec)
	if !ok {
		return &FileError{File: r.path, Reason: ReasonNoHeader, Line: line + r.lineOff, Err: errors.New("header cells are all blank")}
	}
	r.header = hdr
	return nil
}

// fieldwise reports whether a Windows-1252 file, of which prefix is the
// start, reads the same when the scanner parses its bytes as they are and
// only the fields it selects are decoded: a tenth of a run's CPU went to
// decoding whole exports, most of whose bytes are in fields that are
// dropped. It does when the delimiter is ASCII: every byte csv looks for
// (delimiter, quote, CR, LF) is ASCII, which Windows-1252 keeps as it is,
// and each other byte decodes on its own, so records and fields split
// where they split in the decoded text. The checks made on the start of the
// file (blank, "sep=" line, delimiter) must find the same in both forms.
func fieldwise(d byteDecoder, prefix []byte, atEOF bool, opt Options) bool {
	if opt.Delimiter >= utf8.RuneSelf {
		return false
	}
	raw := bytes.TrimPrefix(prefix, bomUTF8)
	text, _, err := transform.Bytes(d, raw)
	if err != nil || atEOF && isBlank(text) {
		return false // the decoded stream reports it
	}
	if sd, n, ok := sepLine(text); ok {
		if sd >= utf8.RuneSelf || !isASCII(text[:n]) {
			return false
		}
		text, raw = text[n:], raw[n:]
	}
	return opt.Delimiter != 0 || detectDelimiter(text) == detectDelimiter(raw)
}

func isASCII(p []byte) bool {
	for _, c := range p {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// stream returns the text csv reads from raw: decoded, or raw itself for a
// file decoded field by field.
func (r *csvReader) stream(raw *bufio.Reader) *bufio.Reader {
	if r.fieldDec != nil {
		stripBOM(raw)
		return raw
	}
	return decodeStream(raw, r.enc)
}

// stripBOM discards a UTF-8 byte order mark at the start of raw.
func stripBOM(raw *bufio.Reader) {
	if p, _ := raw.Peek(len(bomUTF8)); bytes.Equal(p, bomUTF8) {
		raw.Discard(len(bomUTF8))
	}
}

// decodeStream strips a UTF-8 byte order mark from raw and returns the text
// as UTF-8. UTF-8 input is passed through without a copy; its validity is
// checked per selected field instead.
func decodeStream(raw *bufio.Reader, enc string) *bufio.Reader {
	stripBOM(raw)
	var dec transform.Transformer
	switch enc {
	case encUTF8:
		return raw
	case encCP1252:
		dec = newByteDecoder(charmap.Windows1252)
	case encUTF16LE, encUTF16BE:
		// ExpectBOM reads the byte order mark and follows it.
		dec = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
	}
	return bufio.NewReaderSize(transform.NewReader(raw, dec), sniffSize)
}

// adjust returns a copy of pe with line numbers counted from the start of
// the file rather than from the start of csv's input.
func (r *csvReader) adjust(pe *csv.ParseError) *csv.ParseError {
	c := *pe
	c.StartLine += r.lineOff
	c.Line += r.lineOff
	return &c
}

// Next implements Reader.
func (r *csvReader) Next() (Row, error) {
	if r.fatal != nil {
		return Row{}, r.fatal
	}
	rec, err := r.sc.Read()
	line := r.sc.Line() + r.lineOff
	if err != nil {
		return Row{}, r.readError(err)
	}
	fields := r.fields.take(len(rec))
	copy(fields, rec)
	if r.fieldDec != nil {
		for i, s := range fields {
			fields[i] = r.fieldDec.String(s)
		}
	}
	if r.validate {
		for i, s := range fields {
			if !utf8.ValidString(s) {
				col := i
				if r.cols != nil {
					col = r.cols[i]
				}
				return Row{}, &RowError{File: r.path, Line: line, Reason: ReasonInvalidEncoding,
					Err: fmt.Errorf("field %d is not valid UTF-8 (the file was read as UTF-8; if it is Windows-1252, set the encoding)", col+1)}
			}
		}
	}
	return Row{Line: line, Fields: fields, NumFields: r.sc.NumFields()}, nil
}

// readError turns a failed read into io.EOF, a *RowError or a sticky
// *FileError.
func (r *csvReader) readError(err error) error {
	if err == io.EOF {
		return io.EOF
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		r.fatal = &FileError{File: r.path, Reason: ReasonUnreadable, Err: err}
		return r.fatal
	}
	line := pe.StartLine + r.lineOff
	if r.sc.EndedInQuote() {
		// A quoted field still open at the end of the file swallowed the
		// rest of it: the file was cut off, not one record malformed.
		r.fatal = &FileError{File: r.path, Reason: ReasonTruncated, Line: line,
			Err: fmt.Errorf("quoted field opened in the record on line %d is not closed before the end of the file", line)}
		return r.fatal
	}
	return &RowError{File: r.path, Line: line, Reason: ReasonMalformedCSV, Err: r.adjust(pe)}
}

// Header implements Reader.
func (r *csvReader) Header() []string { return append([]string(nil), r.header...) }

// Select implements Reader.
func (r *csvReader) Select(cols []int) {
	r.cols = checkSelect(cols)
	r.sc.Select(r.cols)
}

// Encoding implements Reader.
func (r *csvReader) Encoding() string { return r.enc }

// Delimiter implements Reader.
func (r *csvReader) Delimiter() rune { return r.delim }

// Offset implements Reader: the bytes read from the file so far.
func (r *csvReader) Offset() int64 { return r.counter.n }

// Close implements Reader.
func (r *csvReader) Close() error { return r.file.Close() }

// digester is a csvReader opened with Options.Digest.
type digester struct{ *csvReader }

// Digest implements Digester. Every byte read from the file went through the
// counter, in order, whatever bufio read ahead.
func (d digester) Digest() (sum [sha256.Size]byte, size int64, err error) {
	c := &d.counter
	if _, err := io.Copy(io.Discard, c); err != nil {
		return sum, c.n, &FileError{File: d.path, Reason: ReasonUnreadable, Err: err}
	}
	c.h.Sum(sum[:0])
	return sum, c.n, nil
}

// countingReader counts the bytes read through it, and hashes them when h
// is set.
type countingReader struct {
	r io.Reader
	n int64
	h hash.Hash
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	return n, err
}

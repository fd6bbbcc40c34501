// Package csvscan reads delimited text by encoding/csv's rules and keeps
// only the fields a caller selects.
//
// The grammar is exactly the one csv.Reader reads with FieldsPerRecord -1,
// LazyQuotes false, no Comment and no TrimLeadingSpace: RFC 4180 quoting,
// "\r\n" read as "\n" (inside quoted fields too), blank lines skipped, a
// trailing "\r" at the end of the input dropped. The errors are
// encoding/csv's own *csv.ParseError values, with the same lines and
// columns, and reading goes on after one where csv.Reader's would. A fuzz
// test reads the same bytes with both and requires the same records, the
// same errors and the same lines.
//
// Why not csv.Reader itself: it copies every field of every record into a
// new string. An export row carries 14 to 20 columns of which a policy keeps
// 4 to 8; the others are names, addresses, e-mail addresses, notes. Copying
// them was a fifth of a night's CPU. A Scanner walks the same bytes but
// copies only the selected fields out of the read buffer, so the dropped
// ones, raw identifiers among them, are never copied at all.
package csvscan

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"math"
	"unicode/utf8"
)

// Scanner reads records from a *bufio.Reader. It is not safe for
// concurrent use.
type Scanner struct {
	r     *bufio.Reader
	comma []byte // the delimiter's UTF-8 encoding
	line  int    // physical lines read so far
	raw   []byte // a line longer than r's buffer, pieced together

	all   bool   // no selection: keep every field
	want  []bool // by column: kept
	cols  []int  // the selection, in output order
	buf   []byte // the kept fields of the record being read, back to back
	spans []span // by column: where a kept field is in buf
	out   []string

	recLine   int  // physical line where the last record read starts
	numFields int  // fields in the last record read
	openQuote bool // the last error was a quoted field still open at the end
}

type span struct{ from, to int }

// ValidDelim reports whether r can be a delimiter: csv.Reader's rule, a
// valid rune other than 0, '"', '\r', '\n' and utf8.RuneError.
func ValidDelim(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// New returns a Scanner that reads r with delimiter comma, keeping every
// field until Select says otherwise. New panics if comma is not
// ValidDelim, as the caller checks a configured delimiter first.
func New(r *bufio.Reader, comma rune) *Scanner {
	if !ValidDelim(comma) {
		panic("csvscan: invalid delimiter")
	}
	return &Scanner{r: r, comma: utf8.AppendRune(nil, comma), all: true}
}

// Select keeps only columns cols (0-based), in that order, from the next
// record on; a nil cols keeps them all. A selected column beyond the end
// of a record reads as "".
func (s *Scanner) Select(cols []int) {
	s.all = cols == nil
	s.cols = append(s.cols[:0], cols...)
	n := 0
	for _, c := range cols {
		n = max(n, c+1)
	}
	s.want = make([]bool, n)
	for _, c := range cols {
		s.want[c] = true
	}
	if len(s.spans) < n {
		s.spans = make([]span, n)
	}
}

// Line is the physical line (1-based) where the last record read starts.
func (s *Scanner) Line() int { return s.recLine }

// NumFields is how many fields the last record read has, kept or not.
func (s *Scanner) NumFields() int { return s.numFields }

// EndedInQuote reports whether the last error was a quoted field that the
// end of the input left open: a cut-off file rather than a bad record.
func (s *Scanner) EndedInQuote() bool { return s.openQuote }

// Read reads one record and returns its kept fields: all of them, or the
// selected ones in the order of the selection. The slice is reused by the
// next Read; the strings are not. At the end of the input it returns
// io.EOF; a malformed record gives a *csv.ParseError, after which Read goes
// on with the next line, as csv.Reader does.
func (s *Scanner) Read() ([]string, error) {
	s.openQuote = false
	var line []byte
	var errRead error
	for errRead == nil {
		line, errRead = s.readLine()
		if errRead == nil && len(line) == lengthNL(line) {
			continue // blank line
		}
		break
	}
	if errRead == io.EOF {
		return nil, errRead
	}

	const quoteLen = len(`"`)
	commaLen := len(s.comma)
	recLine := s.line
	s.recLine = recLine
	s.buf = s.buf[:0]
	col := 0
	pos := position{line: s.line, col: 1}
	var err error
	q := firstQuote(line) // where line's first quote is; math.MaxInt for none
parseField:
	for {
		if !s.all && col >= len(s.want) && q == math.MaxInt {
			// Nothing left to keep and no quote in the rest of the line:
			// its fields are the delimiters in it plus one.
			col += bytes.Count(line[:len(line)-lengthNL(line)], s.comma) + 1
			break parseField
		}
		keep := s.keeps(col)
		if len(line) == 0 || line[0] != '"' {
			// Unquoted field.
			i := s.indexComma(line)
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			if q < len(field) {
				err = &csv.ParseError{StartLine: recLine, Line: s.line, Column: pos.col + q, Err: csv.ErrBareQuote}
				break parseField
			}
			if keep {
				from := len(s.buf)
				s.buf = append(s.buf, field...)
				s.setSpan(col, from)
			}
			col++
			if i >= 0 {
				adv := i + commaLen
				line = line[adv:]
				pos.col += adv
				if q != math.MaxInt {
					q -= adv
				}
				continue parseField
			}
			break parseField
		}
		// Quoted field.
		from := len(s.buf)
		line = line[quoteLen:]
		pos.col += quoteLen
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				if keep {
					s.buf = append(s.buf, line[:i]...)
				}
				line = line[i+quoteLen:]
				pos.col += i + quoteLen
				switch {
				case len(line) > 0 && line[0] == '"':
					// `""`: a quote.
					if keep {
						s.buf = append(s.buf, '"')
					}
					line = line[quoteLen:]
					pos.col += quoteLen
				case bytes.HasPrefix(line, s.comma):
					// `",`: end of field.
					line = line[commaLen:]
					pos.col += commaLen
					if keep {
						s.setSpan(col, from)
					}
					col++
					q = firstQuote(line)
					continue parseField
				case lengthNL(line) == len(line):
					// `"\n`: end of record.
					if keep {
						s.setSpan(col, from)
					}
					col++
					break parseField
				default:
					// `"x`: a quote that neither closes nor doubles.
					err = &csv.ParseError{StartLine: recLine, Line: s.line, Column: pos.col - quoteLen, Err: csv.ErrQuote}
					break parseField
				}
			case len(line) > 0:
				// The field goes on past the end of the line.
				if keep {
					s.buf = append(s.buf, line...)
				}
				if errRead != nil {
					break parseField
				}
				pos.col += len(line)
				line, errRead = s.readLine()
				if len(line) > 0 {
					pos.line++
					pos.col = 1
				}
				if errRead == io.EOF {
					errRead = nil
				}
			default:
				// The input ended inside the quotes.
				if errRead == nil {
					err = &csv.ParseError{StartLine: recLine, Line: pos.line, Column: pos.col, Err: csv.ErrQuote}
					s.openQuote = true
					break parseField
				}
				if keep {
					s.setSpan(col, from)
				}
				col++
				break parseField
			}
		}
	}
	if err == nil {
		err = errRead
	}
	s.numFields = col
	if err != nil {
		return nil, err
	}
	return s.fields(col), nil
}

// fields makes the kept fields of a record of n fields into strings: one
// allocation for all of them.
func (s *Scanner) fields(n int) []string {
	str := string(s.buf)
	if s.all {
		s.out = s.out[:0]
		for _, sp := range s.spans[:n] {
			s.out = append(s.out, str[sp.from:sp.to])
		}
		return s.out
	}
	if cap(s.out) < len(s.cols) {
		s.out = make([]string, len(s.cols))
	}
	s.out = s.out[:len(s.cols)]
	for i, c := range s.cols {
		s.out[i] = ""
		if c < n {
			sp := s.spans[c]
			s.out[i] = str[sp.from:sp.to]
		}
	}
	return s.out
}

// keeps reports whether column col of the record is kept.
func (s *Scanner) keeps(col int) bool {
	return s.all || col < len(s.want) && s.want[col]
}

// setSpan records that column col is buf[from:].
func (s *Scanner) setSpan(col, from int) {
	if col >= len(s.spans) {
		s.spans = append(s.spans, make([]span, col+1-len(s.spans))...)
	}
	s.spans[col] = span{from, len(s.buf)}
}

// indexComma is bytes.IndexRune(line, comma), without decoding for a
// one-byte delimiter.
func (s *Scanner) indexComma(line []byte) int {
	if len(s.comma) == 1 {
		return bytes.IndexByte(line, s.comma[0])
	}
	return bytes.Index(line, s.comma)
}

// readLine reads one physical line, as csv.Reader's readLine does.
func (s *Scanner) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.raw = append(s.raw[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = s.r.ReadSlice('\n')
			s.raw = append(s.raw, line...)
		}
		line = s.raw
	}
	n := len(line)
	if n > 0 && err == io.EOF {
		err = nil
		// csv.Reader drops a "\r" at the very end of the input.
		if line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	s.line++
	// "\r\n" reads as "\n".
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

type position struct{ line, col int }

// lengthNL is 1 if b ends in "\n", else 0.
func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// firstQuote is where b's first '"' is, or math.MaxInt if it has none.
func firstQuote(b []byte) int {
	if i := bytes.IndexByte(b, '"'); i >= 0 {
		return i
	}
	return math.MaxInt
}

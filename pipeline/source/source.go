// Package source opens one export file from a participant system and streams
// its rows.
//
// An export is either delimited text (.csv, .txt, .tsv) or an Excel workbook
// (.xlsx). For delimited text the package detects, on a bounded prefix of the
// file, the character encoding (UTF-8, UTF-8 with a byte order mark, Windows-1252
// as Excel on Swedish Windows writes it, or UTF-16 with a byte order mark as
// Excel's "Unicode text" writes it), the delimiter (';', ',' or tab, or the one
// named by Excel's "sep=" first line), and then streams the rest of the file
// through csvscan, which reads encoding/csv's grammar but copies only the
// selected fields, without ever holding the whole file in memory.
//
// Every row carries the physical line number where its record starts, and
// only the columns the caller selected (an allowlist: the others are never
// copied into a Row). Errors name the file, the line, the column index and a
// reason code; they never contain a field value or a header cell, because an
// export's cells hold personal identifiers.
package source

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Options control how a file is read. The zero value detects everything.
type Options struct {
	// Delimiter separates fields in delimited text. 0 means detect: a leading
	// "sep=X" line names it; otherwise the one of ';', ',' and '\t' that
	// splits the header line into the most fields, with ties going to ';'.
	// A "sep=" line is skipped even when Delimiter is set.
	Delimiter rune

	// Encoding of delimited text. "" or "auto" detects: a UTF-8 byte order
	// mark means UTF-8, a UTF-16 byte order mark means UTF-16, a prefix that
	// is valid UTF-8 means UTF-8, anything else means Windows-1252. Forced
	// values: "utf-8" ("utf8") and "windows-1252" (aliases "cp1252",
	// "latin1", "iso-8859-1": all read as Windows-1252, its superset).
	//
	// Detection looks only at the first 64 KiB, so that the file can be
	// streamed. Its limit: a file that is plain ASCII there and has
	// Windows-1252 letters only later is read as UTF-8. Such bytes are never
	// silently replaced: a record whose selected fields are not valid UTF-8
	// yields a *RowError "invalid_encoding" (set Encoding to read the file).
	Encoding string

	// Sheet names the worksheet of an .xlsx file; "" means the first sheet.
	Sheet string

	// Digest asks a Reader of delimited text to hash the file's bytes as it
	// reads them: it then implements Digester. XLSX is read through its zip
	// directory, not in order, and ignores it.
	Digest bool
}

// Row is one record of the file.
type Row struct {
	// Line is the 1-based physical line of the file where the record starts
	// (delimited text), or the worksheet row number (XLSX).
	Line int

	// Fields holds the selected columns in selection order (see
	// Reader.Select); a column the record does not have is "". The slice
	// belongs to the caller: the Reader does not reuse it.
	Fields []string

	// NumFields is how many fields the record had, so that the caller can
	// quarantine records whose field count differs from the header's. For
	// XLSX, where trailing empty cells are not stored, it is the header's
	// width unless the row has cells beyond it.
	NumFields int
}

// Reader streams the rows of one file. It is not safe for concurrent use.
type Reader interface {
	// Header returns the header cells, trimmed of surrounding white space
	// and of a byte order mark.
	Header() []string

	// Select keeps only the columns with these 0-based indexes, in this
	// order, in the Fields of the rows returned from now on. By default
	// every column is kept. An index beyond a record's width yields "".
	// Select panics on a negative index.
	Select(cols []int)

	// Next returns the next row, or io.EOF after the last. A malformed
	// record yields a *RowError, and the following call continues with the
	// next record. A problem with the whole file yields a *FileError, and
	// every following call returns the same error.
	Next() (Row, error)

	// Encoding returns the encoding the file is read in: "utf-8",
	// "windows-1252", "utf-16le" or "utf-16be" ("utf-8" for XLSX).
	Encoding() string

	// Delimiter returns the field delimiter (0 for XLSX).
	Delimiter() rune

	// Offset returns how many bytes of the file have been consumed so far,
	// for a progress display. For delimited text it counts the file's own
	// bytes as read from disk (before any decoding, and including what is
	// buffered ahead of the row last returned), so it reaches the file's
	// size at the end. For XLSX it is 0: the worksheet is read decompressed
	// from inside a zip archive, and no byte position in the file matches a
	// row.
	Offset() int64

	// Close releases the file.
	Close() error
}

// A Digester is a Reader that hashes the file's bytes as it reads them
// (Options.Digest), so that a caller who needs the file's SHA-256 — gallra
// records it for every export and recognises an export delivered twice by
// it — does not read the file a second time, and gets the hash of exactly
// the bytes that were parsed.
type Digester interface {
	Reader
	// Digest reads what the Reader has not read of the file yet (nothing
	// after io.EOF; the rest after a file error) and returns the SHA-256 of
	// all the file's bytes and their number. Call it once, when done with
	// Next and before Close.
	Digest() (sum [sha256.Size]byte, size int64, err error)
}

// Reason codes of a RowError.
const (
	ReasonMalformedCSV    = "malformed_csv"    // the record breaks encoding/csv's quoting rules (bare or stray quote)
	ReasonInvalidEncoding = "invalid_encoding" // a selected field is not valid UTF-8 in a file read as UTF-8
)

// Reason codes of a FileError.
const (
	ReasonEmptyFile         = "empty_file"         // no bytes, or only white space
	ReasonUnreadable        = "unreadable"         // the file cannot be opened or read
	ReasonNoHeader          = "no_header"          // no header record, or a malformed or blank one
	ReasonUnsupportedFormat = "unsupported_format" // the extension is not one this package reads
	ReasonTruncated         = "truncated"          // the file ends inside a quoted field
	ReasonInvalidOption     = "invalid_option"     // an Options value is not understood
	ReasonSheetNotFound     = "sheet_not_found"    // Options.Sheet names no worksheet
)

// RowError reports a record that cannot be read. Reading continues with the
// next record. Its message names the file and line, never a field value.
type RowError struct {
	File   string // path as given to Open
	Line   int    // physical line where the record starts
	Reason string // a Reason* code, e.g. "malformed_csv"
	Err    error  // the underlying error; never carries a field value
}

func (e *RowError) Error() string {
	s := "source: " + e.File + ": line " + strconv.Itoa(e.Line) + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *RowError) Unwrap() error { return e.Err }

// FileError reports a problem with the whole file.
type FileError struct {
	File   string // path as given to Open
	Reason string // a Reason* code, e.g. "empty_file"
	Line   int    // line where the problem starts when known (e.g. truncated), else 0
	Err    error  // the underlying error, if any; never carries a field value
}

func (e *FileError) Error() string {
	s := "source: " + e.File + ": " + e.Reason
	if e.Line > 0 {
		s += ": line " + strconv.Itoa(e.Line)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FileError) Unwrap() error { return e.Err }

// Open opens the file at path and reads its header. The format follows the
// extension, case-insensitively: .csv, .txt and .tsv are delimited text,
// .xlsx is an Excel workbook. Any error is a *FileError.
func Open(path string, opt Options) (Reader, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".csv", ".txt", ".tsv", ".xlsx":
	case ".xls":
		return nil, &FileError{File: path, Reason: ReasonUnsupportedFormat,
			Err: errors.New("legacy binary .xls is not read; save the export as .xlsx or .csv")}
	default:
		return nil, &FileError{File: path, Reason: ReasonUnsupportedFormat,
			Err: fmt.Errorf("extension %q is not one of .csv .txt .tsv .xlsx", ext)}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &FileError{File: path, Reason: ReasonUnreadable, Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &FileError{File: path, Reason: ReasonUnreadable, Err: errors.New("not a regular file")}
	}
	if fi.Size() == 0 {
		return nil, &FileError{File: path, Reason: ReasonEmptyFile}
	}
	if ext == ".xlsx" {
		return openXLSX(path, opt)
	}
	return openCSV(path, opt)
}

// selectFields copies the selected columns of rec into a new slice from
// blk; a nil cols selects them all. Columns beyond rec are empty.
func selectFields(blk *fieldBlock, rec []string, cols []int) []string {
	if cols == nil {
		out := blk.take(len(rec))
		copy(out, rec)
		return out
	}
	out := blk.take(len(cols))
	for i, c := range cols {
		if c < len(rec) {
			out[i] = rec[c]
		}
	}
	return out
}

// fieldBlock hands out the field slices of a reader's rows from shared
// blocks rather than one allocation each (0.7 of the 52 CPU-s of a 10M-row
// night went to those allocations). A slice's capacity is its length, so
// appending to one never reaches the next row's. A block is freed when no
// row refers to it any more.
type fieldBlock struct{ free []string }

func (b *fieldBlock) take(n int) []string {
	if len(b.free) < n {
		b.free = make([]string, max(n, fieldBlockSize))
	}
	out := b.free[:n:n]
	b.free = b.free[n:]
	return out
}

const fieldBlockSize = 4096

// checkSelect validates and copies a selection.
func checkSelect(cols []int) []int {
	for _, c := range cols {
		if c < 0 {
			panic("source: Select: negative column index " + strconv.Itoa(c))
		}
	}
	if cols == nil {
		return nil
	}
	return append(make([]int, 0, len(cols)), cols...)
}

// cleanHeader trims white space and byte order marks from header cells and
// reports whether any cell is non-empty.
func cleanHeader(rec []string) ([]string, bool) {
	out := make([]string, len(rec))
	nonEmpty := false
	for i, h := range rec {
		h = strings.ToValidUTF8(h, "\uFFFD")
		h = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(h), "\uFEFF"))
		out[i] = h
		if h != "" {
			nonEmpty = true
		}
	}
	return out, nonEmpty
}

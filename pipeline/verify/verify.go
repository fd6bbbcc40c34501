// Package verify is the data protection officer's check that nothing
// identifying left the pipeline: it scans every file under the lake and
// the reports folder for personnummer and samordningsnummer in any common
// form, e-mail addresses, phone numbers and, optionally, given secret
// strings (the encodings of key material), and reports where it found them
// without ever repeating what it found.
//
// # What a clean scan proves
//
// Every regular file under the roots was read in full: Parquet files value
// by value (every string, binary and integer value of every column chunk of
// every row group, plus column names and file metadata), XLSX workbooks
// cell by cell (raw and formatted values of every sheet, plus every other
// part of the package as text: comments, document properties, links), and
// every other file line by line as text. None of them contains
//
//   - a valid personnummer or samordningsnummer (validity is decided by
//     [Scanner.IsIdentifier]) written as YYMMDD-NNNC, YYMMDD+NNNC,
//     YYYYMMDD-NNNC or without separator, with a space or a Unicode dash as
//     separator, stored as a Parquet INT32/INT64/DOUBLE or XLSX number (also
//     one that lost its leading zero), or mangled into scientific notation
//     by a spreadsheet ("1.98001011234E+11");
//   - an e-mail address local@domain.tld;
//   - a Swedish phone number (070-123 45 67, 0701234567, 08-123 456 78,
//     036-10 20 30, 0910-12345, (08) 123 456 78, +46 70 123 45 67,
//     +46 (0)8 123 456 78, 0046…) or another number in international form
//     (+ and 9 to 15 digits);
//   - any of [Scanner.Secrets] as a substring;
//
// and no path component below a root contains any of these.
//
// Files the scanner cannot read as one of those formats (compressed files,
// archives, other binary formats, UTF-16 text without a byte order mark)
// and directory entries it does not follow (symbolic links, devices) are
// not scanned: [Stats].Unscannable lists them. An unscanned file proves
// nothing, so a caller that wants proof must treat a non-empty list as a
// failure, as `gallra verify` does.
//
// # What it cannot prove
//
// Names and postal addresses cannot be recognised in general: any word may
// be a name. gallra keeps them out by construction (a source's schema is an
// allowlist, and only declared columns are ever read), and the end-to-end
// tests plant generated names and addresses in the inputs and check that
// none reaches the lake. Identifiers split across values or lines, written
// with other separators ("800101.1234"), glued to other digits or letters
// ("x8001011234", "80010112345"), obfuscated ("anna (at) example.se") or
// encoded (base64, compressed) are not found. Phone numbers stored as
// integers have lost their leading zero and cannot be told from counts.
// Values in FIXED_LEN_BYTE_ARRAY Parquet columns (gallra's UUID
// pseudonyms and record keys) are checked for secrets only, and binary
// BYTE_ARRAY values that are not valid UTF-8 are not checked for e-mail
// addresses: random bytes look like either too often.
//
// # False positives
//
// A candidate is a finding only if IsIdentifier accepts it, so dates
// (20240315), counts and other numbers do not fire unless they happen to
// be a valid identifier: a date and a correct check digit. Of all 10-digit
// strings about 0.75% are valid personnummer or samordningsnummer (measured
// with a date and Luhn check: about 1 in 13 has a valid date part, counting
// day + 60, and 1 in 10 of those the right check digit; the real check also
// rejects birth dates in the future or too far back), so a column of
// arbitrary 10-digit numbers will be reported: byte counts, durations in
// nanoseconds or Unix times written as plain numbers in a report may fire
// (Unix times from mid-January to mid-June 2027 read as 18MMDD… and about
// 6% of them fire). Parquet and XLSX
// integers of 9 digits are checked as 10-digit identifiers that lost their
// leading zero, at the same rate. Hex strings
// (hashes, key IDs) and UUIDs do not yield candidates: their digit runs are
// glued to hex letters or digits, and all-digit UUID groups are recognised.
// The phone detector needs a leading 0, "+" or "0046", Swedish number
// lengths and separators (a single space or '-'), and rejects ISO and
// DD-MM-YYYY dates, times, decimal numbers, timestamps and UUID groups;
// zero-padded codes of 9 or 10 digits (0123456789) still look like phone
// numbers, and so does the 10-digit form of an identifier of someone born
// 2000-2009 (030101-2381), which is then reported twice.
//
// # Reports without values
//
// A [Finding] names the file, the location and the kind, never the value,
// not even partially; errors likewise carry only the file, a reason and,
// when it contains nothing that looks identifying, the underlying error
// text. A path component that contains something identifying is shown as
// "[redacted]" in every Finding and error.
package verify

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Kinds of findings.
const (
	KindPersonnummer      = "personnummer"
	KindSamordningsnummer = "samordningsnummer"
	// KindIdentifier is a candidate IsIdentifier accepted under another
	// kind, or any candidate when IsIdentifier is nil.
	KindIdentifier = "identifier"
	KindEmail      = "email"
	KindPhone      = "phone"
	KindSecret     = "secret"
)

// MinSecretLen is the shortest secret the scanner accepts: shorter strings
// occur by chance and would make every scan fail.
const MinSecretLen = 8

// DefaultMaxPerFile is the number of findings of one kind listed per file
// when [Scanner].MaxPerFile is zero.
const DefaultMaxPerFile = 100

// Redacted replaces a path component that contains something identifying.
const Redacted = "[redacted]"

// A Finding is one place where something identifying was found. It never
// holds the matched value, not even partially.
type Finding struct {
	// File is the path as scanned, with path components that contain
	// something identifying replaced by [Redacted].
	File string
	// Location is where in the file: "line 12" for text; `row group 0,
	// column "measure", row 341` for Parquet (rows count from 0 within the
	// row group); "sheet Sheet1, cell B7" for XLSX; "part docProps/core.xml,
	// line 2" for other parts of an XLSX package; "path" when a component
	// of the file's path is the finding; "schema, column #3" and "file
	// metadata" for Parquet column names and key/value metadata. When more
	// than the per-file limit of one kind are found, the last finding of
	// that kind says how many more there were: "+1234 more (not listed)".
	Location string
	// Kind is one of the Kind constants.
	Kind string
}

// String formats f as "file: location: kind".
func (f Finding) String() string { return f.File + ": " + f.Location + ": " + f.Kind }

// Stats counts what a scan looked at.
type Stats struct {
	// Files is the number of files met: scanned, unscannable or unreadable.
	Files        int
	ParquetFiles int
	TextFiles    int
	XLSXFiles    int
	// Skipped is the number of files not scanned; they are listed in
	// Unscannable.
	Skipped int
	// Values is the number of values examined: Parquet values, text lines
	// and XLSX cells.
	Values int64
	// Unscannable lists (with [Redacted] components) the files that were
	// not scanned because their format is not one the scanner reads (zip,
	// gzip, other binary formats), and the symbolic links and other
	// non-regular files met under a root, which are not followed. An
	// unscanned file proves nothing: a caller that wants proof must fail if
	// the list is not empty.
	Unscannable []string
}

// A Scanner scans files for identifying data. Its fields must not change
// while a scan runs; a Scanner may be used by several goroutines at once if
// its IsIdentifier may.
type Scanner struct {
	// IsIdentifier reports whether a candidate is a valid personnummer or
	// samordningsnummer, and which kind. A candidate is ASCII digits: 10
	// or 12 of them, or the 6- or 8-digit date part, '-' or '+', and 4
	// digits (any other separator found in the file is passed as '-').
	// The returned kind should be KindPersonnummer or
	// KindSamordningsnummer; any other is reported as KindIdentifier.
	//
	// If IsIdentifier is nil, the scan fails closed: every candidate is
	// reported as KindIdentifier.
	IsIdentifier func(candidate string) (kind string, ok bool)
	// Secrets are strings that must never appear anywhere, such as the
	// encodings of key material (see [SecretForms]); they are matched as
	// byte substrings, case-sensitively. Empty strings are ignored; shorter
	// ones than MinSecretLen are an error.
	Secrets []string
	// MaxPerFile limits the findings of one kind listed per file; further
	// ones are counted in a last summary finding. Zero means
	// DefaultMaxPerFile; a negative value means no limit.
	MaxPerFile int
}

// ErrUnscannable is the error [Scanner.ScanFile] returns (wrapped in a
// [*FileError]) for a file whose format the scanner cannot read.
var ErrUnscannable = errors.New("file format cannot be scanned")

// A FileError is a file that could not be scanned. Its message names the
// file, with identifying path components redacted, and a reason; it
// includes the underlying error's text only if that text contains nothing
// the scanner would report. Err itself is not sanitised.
type FileError struct {
	File   string // path as scanned, redacted
	Reason string // what failed: "open", "read", "parquet", "xlsx", "unscannable", "walk"
	Detail string // the underlying error's text, if safe to show
	Err    error
}

func (e *FileError) Error() string {
	msg := "verify: " + e.File + ": " + e.Reason
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

func (e *FileError) Unwrap() error { return e.Err }

type configError struct{ msg string }

func (e *configError) Error() string { return "verify: " + e.msg }

// SecretForms returns the forms in which key material typically leaks, to
// use as [Scanner].Secrets: the raw bytes, lower- and upper-case hex, and
// standard and URL-safe base64 without padding (a prefix of the padded
// form). A base64 encoding of a longer text that contains the key at
// another alignment is not covered.
func SecretForms(key []byte) []string {
	if len(key) == 0 {
		return nil
	}
	h := hex.EncodeToString(key)
	forms := []string{
		string(key),
		h,
		strings.ToUpper(h),
		base64.RawStdEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key),
	}
	// Drop duplicates (a key whose base64 has no '+' or '/').
	out := forms[:0]
	for _, f := range forms {
		dup := false
		for _, o := range out {
			dup = dup || o == f
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// scan is the state of one scan: the detector and the findings and stats
// gathered so far.
type scan struct {
	s        *Scanner
	d        *detector
	limit    int
	findings []Finding
	stats    Stats
	errs     []error
}

func (s *Scanner) newScan() (*scan, error) {
	d, err := newDetector(s)
	if err != nil {
		return nil, err
	}
	limit := s.MaxPerFile
	if limit == 0 {
		limit = DefaultMaxPerFile
	}
	return &scan{s: s, d: d, limit: limit}, nil
}

// fileReport collects the findings of one file, applying the per-kind
// limit, and deduplicating by location.
type fileReport struct {
	sc     *scan
	file   string
	listed [6]int
	more   [6]int64
	last   [6]string // last location listed per kind, to drop repeats
	found  kinds     // every kind found in the file
	// suppress drops kinds already reported with a finer location.
	suppress kinds
}

func (sc *scan) newReport(file string) *fileReport { return &fileReport{sc: sc, file: file} }

// add records the kinds k at location loc.
func (r *fileReport) add(loc string, k kinds) {
	k &^= r.suppress
	if k == 0 {
		return
	}
	r.found |= k
	for i, ko := range kindOrder {
		if k&ko.k == 0 {
			continue
		}
		if r.last[i] == loc && r.listed[i] > 0 {
			continue
		}
		if r.sc.limit >= 0 && r.listed[i] >= r.sc.limit {
			r.more[i]++
			continue
		}
		r.listed[i]++
		r.last[i] = loc
		r.sc.findings = append(r.sc.findings, Finding{File: r.file, Location: loc, Kind: ko.name})
	}
}

// finish appends the summary findings for kinds over the limit.
func (r *fileReport) finish() {
	for i, ko := range kindOrder {
		if r.more[i] > 0 {
			r.sc.findings = append(r.sc.findings, Finding{
				File:     r.file,
				Location: "+" + strconv.FormatInt(r.more[i], 10) + " more (not listed)",
				Kind:     ko.name,
			})
		}
	}
}

// ScanDir scans every file under the roots (a root may also be a file) and
// returns what it found, in walk order. Symbolic links under a root are not
// followed but listed in Stats.Unscannable (a root that is itself a link
// is followed). A file or directory that cannot be read does not stop the
// scan: the returned error joins one [*FileError] per such file, and the
// findings and stats are complete for every file that could be read.
func (s *Scanner) ScanDir(roots ...string) ([]Finding, Stats, error) {
	sc, err := s.newScan()
	if err != nil {
		return nil, Stats{}, err
	}
	for _, root := range roots {
		sc.walk(root)
	}
	sc.stats.Skipped = len(sc.stats.Unscannable)
	return sc.findings, sc.stats, errors.Join(sc.errs...)
}

// ScanFile scans one file. The path's components are checked too, and
// reported with Location "path". A file whose format the scanner cannot
// read is an error wrapping [ErrUnscannable].
func (s *Scanner) ScanFile(path string) ([]Finding, error) {
	sc, err := s.newScan()
	if err != nil {
		return nil, err
	}
	display := sc.pathFindings(path, "")
	if !sc.scanFile(path, display) {
		return sc.findings, errors.Join(sc.errs...)
	}
	if len(sc.stats.Unscannable) > 0 {
		return sc.findings, &FileError{File: display, Reason: "unscannable", Err: ErrUnscannable}
	}
	return sc.findings, errors.Join(sc.errs...)
}

// ScanText scans r line by line as text; name is used as Finding.File (its
// path components are checked and redacted as in ScanFile). Lines may be of
// any length. A UTF-8 or UTF-16 byte order mark selects the decoding; text
// without one is scanned as bytes, so text in other encodings (Latin-1,
// Windows-1252) is scanned too.
func (s *Scanner) ScanText(name string, r io.Reader) ([]Finding, error) {
	sc, err := s.newScan()
	if err != nil {
		return nil, err
	}
	display := sc.pathFindings(name, "")
	rep := sc.newReport(display)
	if err := sc.scanText(rep, "", r); err != nil {
		sc.errs = append(sc.errs, sc.fileError(display, name, "read", err))
	}
	rep.finish()
	return sc.findings, errors.Join(sc.errs...)
}

// walk scans one root.
func (sc *scan) walk(root string) {
	info, err := os.Stat(root)
	if err != nil {
		display := sc.pathFindings(root, "")
		sc.errs = append(sc.errs, sc.fileError(display, root, "open", err))
		return
	}
	rootDisplay := sc.pathFindings(root, "")
	if !info.IsDir() {
		sc.scanFile(root, rootDisplay)
		return
	}
	walkRoot := root
	if li, err := os.Lstat(root); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		if resolved, err := filepath.EvalSymlinks(root); err == nil {
			walkRoot = resolved
		}
	}
	// display paths of the directories met, by their path below walkRoot.
	dirs := map[string]string{".": rootDisplay}
	err = filepath.WalkDir(walkRoot, func(p string, de fs.DirEntry, err error) error {
		rel, rerr := filepath.Rel(walkRoot, p)
		if rerr != nil {
			return rerr
		}
		parent, ok := dirs[filepath.Dir(rel)]
		if !ok {
			parent = rootDisplay
		}
		display := rootDisplay
		if rel != "." {
			display = sc.pathFindings(filepath.Base(rel), parent)
		}
		if err != nil {
			sc.errs = append(sc.errs, sc.fileError(display, p, "walk", err))
			if de != nil && de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch t := de.Type(); {
		case t.IsDir():
			dirs[rel] = display
		case t.IsRegular():
			sc.scanFile(p, display)
		default:
			sc.stats.Files++
			sc.stats.Unscannable = append(sc.stats.Unscannable, display)
		}
		return nil
	})
	if err != nil {
		sc.errs = append(sc.errs, sc.fileError(rootDisplay, root, "walk", err))
	}
}

// pathFindings checks the components of p (one component if parent is
// not empty) and returns the display path: parent joined with p, every
// component that contains something identifying replaced by Redacted and
// reported as a Finding with Location "path".
func (sc *scan) pathFindings(p, parent string) string {
	var parts []string
	if parent != "" {
		parts = []string{p}
	} else {
		parts = strings.Split(p, string(filepath.Separator))
	}
	var found kinds
	for i, part := range parts {
		if k := sc.d.detectAll([]byte(part)); k != 0 {
			found |= k
			parts[i] = Redacted
		}
	}
	display := strings.Join(parts, string(filepath.Separator))
	if parent != "" {
		display = filepath.Join(parent, display)
	}
	if found != 0 {
		rep := sc.newReport(display)
		rep.add("path", found)
	}
	return display
}

// fileError makes a FileError whose detail is the underlying error's text
// with the raw path replaced by the display path, or nothing if that text
// contains anything identifying.
func (sc *scan) fileError(display, raw, reason string, err error) *FileError {
	detail := ""
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			detail = pe.Op + ": " + pe.Err.Error()
		} else {
			detail = err.Error()
		}
		if raw != "" {
			detail = strings.ReplaceAll(detail, raw, display)
		}
		if sc.d.detectAll([]byte(detail)) != 0 {
			detail = "detail withheld: it looks like it contains identifying data"
		}
	}
	return &FileError{File: display, Reason: reason, Detail: detail, Err: err}
}

// sniffLen is how much of a file is read to decide its format.
const sniffLen = 8 << 10

type fileFormat int

const (
	fmtText fileFormat = iota
	fmtParquet
	fmtXLSX
	fmtBinary
)

var binaryMagic = [][]byte{
	{0x1f, 0x8b},                         // gzip
	{0x28, 0xb5, 0x2f, 0xfd},             // zstd
	[]byte("BZh"),                        // bzip2
	{0xfd, '7', 'z', 'X', 'Z', 0},        // xz
	{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c},   // 7z
	{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1}, // OLE2: .xls, encrypted .xlsx
	[]byte("%PDF-"),
	{0x04, 0x22, 0x4d, 0x18}, // lz4
	[]byte("SQLite format 3\x00"),
}

// sniff decides the format of an open file of the given size.
func sniff(f *os.File, size int64) (fileFormat, error) {
	head := make([]byte, min(size, sniffLen))
	if _, err := io.ReadFull(f, head); err != nil {
		return 0, err
	}
	if size >= 8 && bytes.HasPrefix(head, []byte("PAR1")) {
		var tail [4]byte
		if _, err := f.ReadAt(tail[:], size-4); err != nil {
			return 0, err
		}
		if string(tail[:]) == "PAR1" {
			return fmtParquet, nil
		}
		return fmtBinary, nil
	}
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")) {
		if isXLSX(f, size) {
			return fmtXLSX, nil
		}
		return fmtBinary, nil
	}
	if bytes.HasPrefix(head, []byte{0xff, 0xfe}) || bytes.HasPrefix(head, []byte{0xfe, 0xff}) {
		return fmtText, nil // UTF-16 with byte order mark
	}
	for _, m := range binaryMagic {
		if bytes.HasPrefix(head, m) {
			return fmtBinary, nil
		}
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return fmtBinary, nil
	}
	return fmtText, nil
}

// scanFile scans one regular file and reports whether it was read (scanned
// or found unscannable) rather than failing.
func (sc *scan) scanFile(path, display string) bool {
	sc.stats.Files++
	// Stat before opening: opening a named pipe would block.
	if info, err := os.Stat(path); err == nil && !info.Mode().IsRegular() {
		sc.stats.Unscannable = append(sc.stats.Unscannable, display)
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		sc.errs = append(sc.errs, sc.fileError(display, path, "open", err))
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		sc.errs = append(sc.errs, sc.fileError(display, path, "open", err))
		return false
	}
	if !info.Mode().IsRegular() {
		sc.stats.Unscannable = append(sc.stats.Unscannable, display)
		return true
	}
	size := info.Size()
	fm, err := sniff(f, size)
	if err != nil {
		sc.errs = append(sc.errs, sc.fileError(display, path, "read", err))
		return false
	}
	rep := sc.newReport(display)
	defer rep.finish()
	switch fm {
	case fmtParquet:
		if err := sc.scanParquet(rep, f, size); err != nil {
			sc.errs = append(sc.errs, sc.fileError(display, path, "parquet", err))
			return false
		}
		sc.stats.ParquetFiles++
	case fmtXLSX:
		if err := sc.scanXLSX(rep, f, size); err != nil {
			sc.errs = append(sc.errs, sc.fileError(display, path, "xlsx", err))
			return false
		}
		sc.stats.XLSXFiles++
	case fmtBinary:
		sc.stats.Unscannable = append(sc.stats.Unscannable, display)
	default:
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			sc.errs = append(sc.errs, sc.fileError(display, path, "read", err))
			return false
		}
		if err := sc.scanText(rep, "", bufio.NewReaderSize(f, 64<<10)); err != nil {
			sc.errs = append(sc.errs, sc.fileError(display, path, "read", err))
			return false
		}
		sc.stats.TextFiles++
	}
	return true
}

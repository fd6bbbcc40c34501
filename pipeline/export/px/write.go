// Package px writes and reads statistical tables in the PX (PC-Axis) file
// format, AXIS-VERSION 2013, as Statistics Sweden's statistical database
// (PxWeb) takes them. The specification is "PX-file format specification,
// AXIS-VERSION 2013" (Statistics Sweden, 2013).
//
// # Writing
//
// [WritePX] writes one single-language file. By default it is in ISO-8859-1
// with CHARSET="ANSI" and CODEPAGE="iso-8859-1": that is the specification's
// default code page, what PC-Axis and the PX files of SCB's database use, and
// what every PX reader handles. A character outside ISO-8859-1 cannot be
// written in it: the typographic characters – — ‘ ’ “ ” … become - - ' ' ' '
// ..., anything else is an error that names the keyword. PXOptions.Encoding
// "utf-8" writes UTF-8 with CODEPAGE="utf-8" instead (PxWeb reads it; old
// PC-Axis does not).
//
// The variables are the table's dimensions in order: STUB lists all but the
// last, HEADING the last, so that the DATA block, one line per stub row, is
// in exactly the order of table.Values. A variable's name (the text in
// STUB, HEADING and in parentheses after VALUES) is the dimension's label,
// VALUES holds the category labels and CODES the category codes; PX 2013
// has no keyword for a variable code, so the dimension's code is not written.
// A dimension's total category is written as ELIMINATION("variable")="total
// label" (the value PX shows when the variable is left out), and the time
// dimension gets TIMEVAL when its codes are in one of the specification's
// time formats (CCYY, CCYYHn, CCYYQn, CCYYMmm, CCYYWww).
//
// Texts may not contain a quotation mark, so " is written as '; line breaks,
// tabs and other control characters become spaces. No line is longer than 256 bytes: a long text is
// cut into several quoted strings on consecutive lines, which readers join,
// and a list is broken after a comma. Table-level footnotes are one NOTE
// whose notes are separated by "#", PC-Axis's line break in notes; the
// disclosure method is a NOTEX (a note always shown) that begins with
// "Röjandekontroll: " (or "Disclosure control: "). Suppressed cells are
// written as ".." in quotation marks, as the specification requires for
// dots, and DATASYMBOL2="..", the two-dot symbol, says how they show.
// LAST-UPDATED is t.Updated in Swedish time (Europe/Stockholm) in the
// specification's "CCYYMMDD hh:mm" form.
//
// # Reading
//
// [ReadPX] is a small reader written from the specification, independent of
// the writer: it tokenises keywords, language, sub-keys and values, decodes
// texts by CHARSET and CODEPAGE, and turns a single-language file without
// KEYS into a table.Table.
package px

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // LAST-UPDATED is Swedish time, wherever gallra runs
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/gallra/gallra/pipeline/export"
	"github.com/gallra/gallra/transforms/table"
)

// MaxLine is the longest line, in bytes, that WritePX writes (before
// encoding; ISO-8859-1 never makes a line longer).
const MaxLine = 256

// Encodings that WritePX can write.
const (
	Latin1 = "iso-8859-1" // the default: CHARSET="ANSI", CODEPAGE="iso-8859-1"
	UTF8   = "utf-8"      // CHARSET="ANSI", CODEPAGE="utf-8"
)

// PXOptions configures WritePX. The zero value writes ISO-8859-1 with
// subject area "Arbetsmarknad" (code "AM") and no decimals.
type PXOptions struct {
	// Encoding is Latin1 (the default when empty) or UTF8.
	Encoding string
	// Matrix is the MATRIX name (at most 20 characters, also the suggested
	// file name). Empty means the table's ID if it fits, otherwise its first
	// 11 characters, "_" and 8 hexadecimal digits of a hash of the whole ID.
	Matrix string
	// SubjectCode and SubjectArea are SUBJECT-CODE (at most 20 characters)
	// and SUBJECT-AREA; empty means "AM" and "Arbetsmarknad" (or "Labour
	// market" for a table not in Swedish).
	SubjectCode, SubjectArea string
	// Contents is CONTENTS, which must fit on one line (244 bytes in
	// UTF-8); empty means the title, cut at a word boundary if it is longer.
	Contents string
	// Decimals is DECIMALS and SHOWDECIMALS, 0 to 6. A value that has more
	// decimals is an error, not rounded: round before writing.
	Decimals int
}

var stockholm = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		panic(err) // time/tzdata is linked in
	}
	return loc
}()

// WritePX writes t to w as a PX file. It refuses a table that fails
// export.Check, texts that the encoding cannot hold, category labels longer
// than 256 bytes or repeated within a dimension, and values with more
// decimals than opt.Decimals.
func WritePX(w io.Writer, t *table.Table, opt PXOptions) error {
	if err := export.Check(t); err != nil {
		return err
	}
	enc := strings.ToLower(opt.Encoding)
	switch enc {
	case "":
		enc = Latin1
	case Latin1, UTF8:
	default:
		return fmt.Errorf("px: table %s: unknown encoding %q", t.ID, opt.Encoding)
	}
	if opt.Decimals < 0 || opt.Decimals > 6 {
		return fmt.Errorf("px: table %s: decimals %d not in 0..6", t.ID, opt.Decimals)
	}
	pw := &writer{latin1: enc == Latin1, id: t.ID}

	matrix := opt.Matrix
	if matrix == "" {
		matrix = matrixName(t.ID)
	}
	if matrix == "" || len(matrix) > 20 {
		return fmt.Errorf("px: table %s: MATRIX must be 1 to 20 characters", t.ID)
	}
	subjCode, subjArea := opt.SubjectCode, opt.SubjectArea
	if subjCode == "" {
		subjCode = "AM"
	}
	if subjArea == "" {
		subjArea = "Arbetsmarknad"
		if !export.Swedish(t) {
			subjArea = "Labour market"
		}
	}
	if len(subjCode) > 20 {
		return fmt.Errorf("px: table %s: SUBJECT-CODE longer than 20 characters", t.ID)
	}
	contents := opt.Contents
	if contents == "" {
		contents = cutWords(t.Title, MaxLine-len(`CONTENTS="";`))
	}
	if len(contents) > MaxLine-len(`CONTENTS="";`) {
		return fmt.Errorf("px: table %s: CONTENTS longer than a line", t.ID)
	}
	lang, _, _ := strings.Cut(t.Language, "-") // LANGUAGE has 2 characters: "sv-SE" is "sv"
	if lang == "" {
		lang = "sv"
	}

	// Variable names must identify the variables: they are the sub-keys.
	names := make([]string, len(t.Dims))
	seen := map[string]bool{}
	for i, d := range t.Dims {
		names[i] = pw.text("STUB/HEADING", export.DimLabel(d))
		if len(names[i]) > MaxLine/2 {
			return fmt.Errorf("px: table %s: dimension %q: variable name longer than %d bytes", t.ID, d.Code, MaxLine/2)
		}
		if seen[names[i]] {
			return fmt.Errorf("px: table %s: two dimensions have the variable name of dimension %q", t.ID, d.Code)
		}
		seen[names[i]] = true
	}

	pw.keyword("CHARSET", "", str("ANSI"))
	pw.keyword("AXIS-VERSION", "", str("2013"))
	pw.keyword("CODEPAGE", "", str(enc))
	pw.keyword("LANGUAGE", "", str(lang))
	pw.keyword("DECIMALS", "", raw(strconv.Itoa(opt.Decimals)))
	pw.keyword("SHOWDECIMALS", "", raw(strconv.Itoa(opt.Decimals)))
	pw.keyword("MATRIX", "", str(pw.text("MATRIX", matrix)))
	pw.keyword("SUBJECT-CODE", "", str(pw.text("SUBJECT-CODE", subjCode)))
	pw.keyword("SUBJECT-AREA", "", str(pw.text("SUBJECT-AREA", subjArea)))
	pw.longText("TITLE", pw.text("TITLE", t.Title))
	pw.keyword("CONTENTS", "", str(pw.text("CONTENTS", contents)))
	units := pw.text("UNITS", t.Unit) // not multiline
	if len(units) > MaxLine-len(`UNITS="";`) {
		return fmt.Errorf("px: table %s: UNITS longer than a line", t.ID)
	}
	pw.keyword("UNITS", "", str(units))
	last := len(t.Dims) - 1
	if last > 0 {
		pw.list("STUB", "", names[:last])
	}
	pw.list("HEADING", "", names[last:])
	for i, d := range t.Dims {
		labels := make([]string, len(d.Categories))
		codes := make([]string, len(d.Categories))
		seenLabel := map[string]bool{}
		for j, c := range d.Categories {
			labels[j] = pw.text("VALUES", export.Label(c))
			codes[j] = pw.text("CODES", c.Code)
			if seenLabel[labels[j]] {
				return fmt.Errorf("px: table %s: dimension %q: two categories have the label of category %q", t.ID, d.Code, c.Code)
			}
			seenLabel[labels[j]] = true
			if len(labels[j]) > MaxLine-10 || len(codes[j]) > MaxLine-10 {
				return fmt.Errorf("px: table %s: dimension %q: category %q: label or code longer than %d bytes", t.ID, d.Code, c.Code, MaxLine-10)
			}
		}
		sub := quote(names[i])
		pw.list("VALUES", sub, labels)
		if d.Time {
			if scale := timeScale(codes); scale != "" {
				pw.listAfter("TIMEVAL", sub, "TLIST("+scale+")", codes)
			}
		}
		pw.list("CODES", sub, codes)
	}
	for i, d := range t.Dims {
		if d.Total != "" {
			c := d.Categories[d.Index(d.Total)]
			pw.keyword("ELIMINATION", quote(names[i]), str(pw.text("ELIMINATION", export.Label(c))))
		}
	}
	pw.keyword("LAST-UPDATED", "", str(t.Updated.In(stockholm).Format("20060102 15:04")))
	pw.longText("CONTACT", pw.text("CONTACT", t.Contact))
	pw.longText("REFPERIOD", pw.text("REFPERIOD", t.RefPeriod))
	pw.longText("SOURCE", pw.text("SOURCE", t.Source))
	pw.longText("NOTEX", pw.text("NOTEX", export.MethodNote(t)))
	notes := export.Notes(t)
	for i := range notes {
		notes[i] = pw.text("NOTE", notes[i])
	}
	pw.longText("NOTE", strings.Join(notes, "#"))
	pw.keyword("DATASYMBOL2", "", str(".."))
	if pw.err != nil {
		return pw.err
	}

	// DATA: one line per stub row, the heading's cells across it.
	pw.buf.WriteString("DATA=\r\n")
	row := len(t.Dims[last].Categories)
	scale := math.Pow10(opt.Decimals)
	for i, v := range t.Values {
		if i%row != 0 {
			pw.buf.WriteByte(' ')
		}
		if t.Status[i] == table.StatusSuppressed {
			pw.buf.WriteString(`".."`)
		} else {
			if r := math.Round(v*scale) / scale; math.Abs(r-v) > 1e-9*math.Max(1, math.Abs(v)) {
				return fmt.Errorf("px: table %s: cell %d has more than %d decimals", t.ID, i, opt.Decimals)
			}
			pw.buf.WriteString(strconv.FormatFloat(v, 'f', opt.Decimals, 64))
		}
		if i%row == row-1 {
			if i == len(t.Values)-1 {
				pw.buf.WriteByte(';')
			}
			pw.buf.WriteString("\r\n")
		}
	}

	out := pw.buf.Bytes()
	if pw.latin1 {
		b, err := charmap.ISO8859_1.NewEncoder().Bytes(out)
		if err != nil { // cannot happen: text() checked every rune
			return fmt.Errorf("px: table %s: encode: %w", t.ID, err)
		}
		out = b
	}
	_, err := w.Write(out)
	return err
}

// writer accumulates a PX file as UTF-8 text with CRLF line ends.
type writer struct {
	buf    bytes.Buffer
	latin1 bool
	id     string
	err    error
}

// value is one value of a keyword: quoted text or a raw token.
type value struct {
	s      string
	quoted bool
}

func str(s string) value { return value{s, true} }
func raw(s string) value { return value{s, false} }

func quote(s string) string { return `"` + s + `"` }

var latin1Subst = strings.NewReplacer("–", "-", "—", "-", "‘", "'", "’", "'", "“", "'", "”", "'", "…", "...")

// text makes s writable in a PX text: no quotation marks or line breaks,
// and (for ISO-8859-1) only characters the code page has. The first text
// that cannot be written sets pw.err, naming the keyword but not the text.
func (pw *writer) text(kw, s string) string {
	s = strings.NewReplacer(`"`, "'", "\r\n", " ").Replace(s)
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return ' ' // line breaks, tabs and other control characters
		}
		return r
	}, s)
	if pw.latin1 {
		s = latin1Subst.Replace(s)
		for _, r := range s {
			if _, ok := charmap.ISO8859_1.EncodeRune(r); !ok || r == utf8.RuneError {
				if pw.err == nil {
					pw.err = fmt.Errorf("px: table %s: %s: character U+%04X is not in ISO-8859-1 (write with Encoding %q)", pw.id, kw, r, UTF8)
				}
				return s
			}
		}
	}
	return s
}

// keyword writes a keyword with one value on one line.
func (pw *writer) keyword(kw, sub string, v value) {
	pw.buf.WriteString(kw)
	if sub != "" {
		pw.buf.WriteString("(" + sub + ")")
	}
	pw.buf.WriteByte('=')
	if v.quoted {
		pw.buf.WriteString(quote(v.s))
	} else {
		pw.buf.WriteString(v.s)
	}
	pw.buf.WriteString(";\r\n")
}

// longText writes a keyword with one text value, cut into several quoted
// strings on consecutive lines when it does not fit on one.
func (pw *writer) longText(kw, s string) {
	line := kw + "="
	for {
		room := MaxLine - len(line) - 3 // two quotes and ; or nothing
		if len(s) <= room {
			pw.buf.WriteString(line + quote(s) + ";\r\n")
			return
		}
		cut := cutAt(s, room)
		pw.buf.WriteString(line + quote(s[:cut]) + "\r\n")
		s = s[cut:]
		line = ""
	}
}

// cutAt returns where to cut s so that s[:cut] has at most n bytes: after
// the last space if there is one in the second half, otherwise at a rune
// boundary.
func cutAt(s string, n int) int {
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if sp := strings.LastIndexByte(s[:cut], ' '); sp >= n/2 {
		return sp + 1
	}
	return cut
}

// cutWords returns s if it has at most n bytes, otherwise its longest
// prefix of whole words that does.
func cutWords(s string, n int) string {
	if len(s) <= n {
		return s
	}
	p := s[:cutAt(s, n)]
	if sp := strings.LastIndexByte(p, ' '); sp > 0 {
		p = p[:sp]
	}
	return strings.TrimSpace(p)
}

// list writes a keyword with a list of quoted values, breaking lines after
// a comma.
func (pw *writer) list(kw, sub string, items []string) { pw.listAfter(kw, sub, "", items) }

// listAfter is list with a raw first value (TIMEVAL's TLIST(...)).
func (pw *writer) listAfter(kw, sub, first string, items []string) {
	line := kw
	if sub != "" {
		line += "(" + sub + ")"
	}
	line += "="
	parts := make([]string, 0, len(items)+1)
	if first != "" {
		parts = append(parts, first)
	}
	for _, it := range items {
		parts = append(parts, quote(it))
	}
	for i, p := range parts {
		end := ","
		if i == len(parts)-1 {
			end = ";"
		}
		if len(line)+len(p)+len(end) > MaxLine && line != "" {
			pw.buf.WriteString(line + "\r\n")
			line = ""
		}
		line += p + end
	}
	pw.buf.WriteString(line + "\r\n")
}

var timeFormats = []struct {
	scale string
	re    *regexp.Regexp
}{
	{"A1", regexp.MustCompile(`^\d{4}$`)},
	{"H1", regexp.MustCompile(`^\d{4}H[12]$`)},
	{"Q1", regexp.MustCompile(`^\d{4}Q[1-4]$`)},
	{"M1", regexp.MustCompile(`^\d{4}M(0[1-9]|1[0-2])$`)},
	{"W1", regexp.MustCompile(`^\d{4}W(0[1-9]|[1-4]\d|5[0-3])$`)},
}

// timeScale returns the TLIST time scale of codes, or "" if they are not
// all in one of the specification's formats.
func timeScale(codes []string) string {
	for _, f := range timeFormats {
		all := true
		for _, c := range codes {
			if !f.re.MatchString(c) {
				all = false
				break
			}
		}
		if all {
			return f.scale
		}
	}
	return ""
}

var matrixChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// matrixName derives a MATRIX name of at most 20 characters from id.
func matrixName(id string) string {
	if id == "" {
		return ""
	}
	if len(id) <= 20 && matrixChars.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	p := []rune(regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(id, "_"))
	if len(p) > 11 {
		p = p[:11]
	}
	return string(p) + "_" + hex.EncodeToString(sum[:4])
}

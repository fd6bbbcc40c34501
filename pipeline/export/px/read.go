package px

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"

	"github.com/gallra/gallra/transforms/table"
)

// Entry is one keyword of a PX file as written: KEYWORD[Lang](Subkeys)=Values;
type Entry struct {
	Keyword string
	Lang    string   // "" when the keyword has no [language]
	Subkeys []string // the quoted texts in parentheses, if any
	Values  []Value
}

// Value is one comma-separated value of an entry. Adjacent quoted strings
// (a text continued on the next line) are joined into one value.
type Value struct {
	Text   string
	Quoted bool
}

// ReadPX reads a single-language PX file without KEYS into a table. The
// variables of STUB then HEADING become the dimensions, each with Code and
// Label set to the variable name; VALUES give the category labels and CODES
// (or, without CODES, VALUES) the category codes. TIMEVAL marks the time
// dimension and ELIMINATION("variable")="value" its total. MATRIX is the
// ID; TITLE, UNITS, SOURCE, CONTACT, REFPERIOD, LANGUAGE and LAST-UPDATED
// (read as Swedish time) fill the metadata; NOTE texts, split at "#", are the
// notes, and a NOTEX that begins with "Röjandekontroll: " or "Disclosure
// control: " is the method (any other NOTEX is a note). In DATA, ".." is a
// suppressed cell and "-" is zero; other dot symbols are refused, because a
// table has no status for them.
func ReadPX(r io.Reader) (*table.Table, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("px: read: %w", err)
	}
	entries, data, err := Parse(b)
	if err != nil {
		return nil, err
	}
	return build(entries, data)
}

// Parse splits a PX file into its keyword entries, texts decoded as CHARSET
// and CODEPAGE say, and the raw tokens of its DATA block.
func Parse(b []byte) ([]Entry, []Value, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	s := &scanner{b: b, line: 1}
	var entries []Entry
	var data []Value
	for {
		s.skipSpace()
		if s.eof() {
			return nil, nil, errors.New("px: no DATA keyword")
		}
		e, err := s.entry()
		if err != nil {
			return nil, nil, err
		}
		if e.Keyword == "DATA" {
			if data, err = s.data(); err != nil {
				return nil, nil, err
			}
			break
		}
		entries = append(entries, e)
	}

	// Texts are bytes until the code page is known; keywords are ASCII.
	var dec *encoding.Decoder
	charset, codepage := "", ""
	for _, e := range entries {
		if len(e.Values) == 1 {
			switch e.Keyword {
			case "CHARSET":
				charset = strings.ToUpper(e.Values[0].Text)
			case "CODEPAGE":
				codepage = strings.ToLower(e.Values[0].Text)
			}
		}
	}
	switch {
	case codepage == "utf-8" || codepage == "utf8":
		dec = nil
	case codepage == "iso-8859-1" || codepage == "latin1" || (codepage == "" && charset == "ANSI"):
		dec = charmap.ISO8859_1.NewDecoder()
	case codepage == "iso-8859-15":
		dec = charmap.ISO8859_15.NewDecoder()
	case codepage == "windows-1252":
		dec = charmap.Windows1252.NewDecoder()
	case codepage == "" && charset == "":
		// No CHARSET: the texts are in DOS format (the Nordic code page).
		dec = charmap.CodePage850.NewDecoder()
	default:
		return nil, nil, fmt.Errorf("px: unsupported CODEPAGE %q", codepage)
	}
	if dec != nil {
		conv := func(s string) string {
			out, err := dec.String(s)
			if err != nil {
				return s
			}
			return out
		}
		for i := range entries {
			for j := range entries[i].Subkeys {
				entries[i].Subkeys[j] = conv(entries[i].Subkeys[j])
			}
			for j := range entries[i].Values {
				entries[i].Values[j].Text = conv(entries[i].Values[j].Text)
			}
		}
	}
	return entries, data, nil
}

type scanner struct {
	b    []byte
	i    int
	line int
}

func (s *scanner) eof() bool { return s.i >= len(s.b) }

func (s *scanner) errf(format string, a ...any) error {
	return fmt.Errorf("px: line %d: "+format, append([]any{s.line}, a...)...)
}

func (s *scanner) skipSpace() {
	for !s.eof() {
		switch s.b[s.i] {
		case '\n':
			s.line++
		case ' ', '\t', '\r':
		default:
			return
		}
		s.i++
	}
}

// quoted reads a quoted string starting at the opening quote. A value
// cannot contain a quotation mark, so the next one closes it.
func (s *scanner) quoted() (string, error) {
	start := s.i + 1
	end := bytes.IndexByte(s.b[start:], '"')
	if end < 0 {
		return "", s.errf("unterminated quoted text")
	}
	txt := s.b[start : start+end]
	s.line += bytes.Count(txt, []byte("\n"))
	s.i = start + end + 1
	return string(txt), nil
}

// entry reads KEYWORD[lang](subkeys)=values; (for DATA only up to "=").
func (s *scanner) entry() (Entry, error) {
	var e Entry
	start := s.i
	for !s.eof() && !strings.ContainsRune("[(=;\"", rune(s.b[s.i])) {
		s.i++
	}
	e.Keyword = strings.ToUpper(strings.TrimSpace(string(s.b[start:s.i])))
	if e.Keyword == "" || s.eof() {
		return e, s.errf("keyword expected")
	}
	if s.b[s.i] == '[' {
		end := bytes.IndexByte(s.b[s.i:], ']')
		if end < 0 {
			return e, s.errf("%s: unterminated [language]", e.Keyword)
		}
		e.Lang = strings.Trim(string(s.b[s.i+1:s.i+end]), `" `)
		s.i += end + 1
	}
	if !s.eof() && s.b[s.i] == '(' {
		s.i++
		for {
			s.skipSpace()
			if s.eof() {
				return e, s.errf("%s: unterminated sub-key", e.Keyword)
			}
			switch c := s.b[s.i]; {
			case c == ')':
				s.i++
			case c == ',':
				s.i++
				continue
			case c == '"':
				q, err := s.quoted()
				if err != nil {
					return e, err
				}
				e.Subkeys = append(e.Subkeys, q)
				continue
			default:
				return e, s.errf("%s: sub-key must be quoted", e.Keyword)
			}
			break
		}
	}
	s.skipSpace()
	if s.eof() || s.b[s.i] != '=' {
		return e, s.errf("%s: \"=\" expected", e.Keyword)
	}
	s.i++
	if e.Keyword == "DATA" {
		return e, nil
	}
	// Values up to ";": quoted strings (adjacent ones joined) and raw
	// tokens, separated by commas.
	var cur *Value
	for {
		s.skipSpace()
		if s.eof() {
			return e, s.errf("%s: missing \";\"", e.Keyword)
		}
		switch c := s.b[s.i]; c {
		case ';':
			s.i++
			if len(e.Values) == 0 {
				return e, s.errf("%s: no value", e.Keyword)
			}
			return e, nil
		case ',':
			s.i++
			cur = nil
		case '"':
			q, err := s.quoted()
			if err != nil {
				return e, err
			}
			if cur != nil && cur.Quoted {
				cur.Text += q
			} else {
				e.Values = append(e.Values, Value{Text: q, Quoted: true})
				cur = &e.Values[len(e.Values)-1]
			}
		default:
			// A raw token such as 0, YES or TLIST(A1, "1994"-"1996"):
			// up to a comma or semicolon outside parentheses and quotes.
			start, depth, inQ := s.i, 0, false
			for ; !s.eof(); s.i++ {
				c := s.b[s.i]
				if c == '\n' {
					s.line++
				}
				if c == '"' {
					inQ = !inQ
				}
				if inQ {
					continue
				}
				if c == '(' {
					depth++
				} else if c == ')' {
					depth--
				} else if depth == 0 && (c == ',' || c == ';') {
					break
				}
			}
			e.Values = append(e.Values, Value{Text: strings.TrimSpace(string(s.b[start:s.i]))})
			cur = nil
		}
	}
}

// data reads the cells after DATA=: tokens separated by spaces, tabs, line
// breaks or commas, ended by ";" or the end of the file.
func (s *scanner) data() ([]Value, error) {
	var out []Value
	for {
		for !s.eof() && strings.IndexByte(" \t\r\n,", s.b[s.i]) >= 0 {
			if s.b[s.i] == '\n' {
				s.line++
			}
			s.i++
		}
		if s.eof() || s.b[s.i] == ';' {
			return out, nil
		}
		if s.b[s.i] == '"' {
			q, err := s.quoted()
			if err != nil {
				return nil, err
			}
			out = append(out, Value{Text: q, Quoted: true})
			continue
		}
		start := s.i
		for !s.eof() && strings.IndexByte(" \t\r\n,;\"", s.b[s.i]) < 0 {
			s.i++
		}
		out = append(out, Value{Text: string(s.b[start:s.i])})
	}
}

// build turns parsed entries into a table.
func build(entries []Entry, data []Value) (*table.Table, error) {
	lang := ""
	for _, e := range entries {
		if e.Keyword == "LANGUAGE" && len(e.Values) > 0 {
			lang = e.Values[0].Text
		}
	}
	// Only the default language: entries without [lang] or with LANGUAGE's.
	find := func(kw string, sub ...string) []Value {
		var out []Value
		for _, e := range entries {
			if e.Keyword != kw || (e.Lang != "" && e.Lang != lang) || len(e.Subkeys) != len(sub) {
				continue
			}
			match := true
			for i := range sub {
				match = match && e.Subkeys[i] == sub[i]
			}
			if match {
				out = e.Values
			}
		}
		return out
	}
	one := func(kw string) string {
		v := find(kw)
		if len(v) == 0 {
			return ""
		}
		return v[0].Text
	}
	texts := func(vs []Value) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v.Text
		}
		return out
	}
	for _, e := range entries {
		if e.Keyword == "KEYS" {
			return nil, errors.New("px: files with KEYS are not supported")
		}
	}

	vars := append(texts(find("STUB")), texts(find("HEADING"))...)
	if len(vars) == 0 {
		return nil, errors.New("px: neither STUB nor HEADING")
	}
	dims := make([]table.Dimension, len(vars))
	for i, v := range vars {
		labels := texts(find("VALUES", v))
		if len(labels) == 0 {
			return nil, fmt.Errorf("px: variable %d: no VALUES", i+1)
		}
		codes := texts(find("CODES", v))
		if len(codes) == 0 {
			codes = labels
		}
		if len(codes) != len(labels) {
			return nil, fmt.Errorf("px: variable %d: %d CODES for %d VALUES", i+1, len(codes), len(labels))
		}
		d := table.Dimension{Code: v, Label: v, Time: len(find("TIMEVAL", v)) > 0}
		for j := range labels {
			d.Categories = append(d.Categories, table.Category{Code: codes[j], Label: labels[j]})
		}
		if el := find("ELIMINATION", v); len(el) == 1 && el[0].Quoted {
			for j, l := range labels {
				if l == el[0].Text {
					d.Total = codes[j]
				}
			}
			if d.Total == "" {
				return nil, fmt.Errorf("px: variable %d: ELIMINATION names no value of the variable", i+1)
			}
		}
		dims[i] = d
	}
	t := table.New(dims...)
	if len(data) != t.Len() {
		return nil, fmt.Errorf("px: DATA has %d cells, the variables make %d", len(data), t.Len())
	}
	for i, d := range data {
		switch {
		case d.Text == "..":
			t.Status[i] = table.StatusSuppressed
		case d.Text == "-":
			t.Values[i] = 0
		case strings.Trim(d.Text, ".") == "" && len(d.Text) <= 6:
			return nil, fmt.Errorf("px: DATA cell %d: symbol of %d dots not supported", i, len(d.Text))
		default:
			v, err := strconv.ParseFloat(d.Text, 64)
			if err != nil {
				return nil, fmt.Errorf("px: DATA cell %d: not a number", i)
			}
			t.Values[i] = v
		}
	}

	t.ID = one("MATRIX")
	t.Title = one("TITLE")
	t.Unit = one("UNITS")
	t.Source = one("SOURCE")
	t.Contact = one("CONTACT")
	t.RefPeriod = one("REFPERIOD")
	t.Language = lang
	if u := one("LAST-UPDATED"); u != "" {
		tm, err := time.ParseInLocation("20060102 15:04", u, stockholm)
		if err != nil {
			return nil, errors.New("px: LAST-UPDATED is not CCYYMMDD hh:mm")
		}
		t.Updated = tm
	}
	for _, e := range entries {
		if (e.Keyword != "NOTE" && e.Keyword != "NOTEX") || len(e.Subkeys) > 0 || (e.Lang != "" && e.Lang != lang) {
			continue
		}
		for _, v := range e.Values {
			if e.Keyword == "NOTEX" {
				if m, ok := methodOf(v.Text); ok {
					t.Method = m
					continue
				}
			}
			t.Notes = append(t.Notes, strings.Split(v.Text, "#")...)
		}
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("px: %w", err)
	}
	return t, nil
}

func methodOf(s string) (string, bool) {
	for _, p := range []string{"Röjandekontroll: ", "Disclosure control: "} {
		if m, ok := strings.CutPrefix(s, p); ok {
			return m, true
		}
	}
	return "", false
}

package schemas

import (
	"fmt"
	"strings"
	"unicode"
)

// Binding is the result of matching a file's header row against a schema: which header columns
// to read and where each read value lands.
type Binding struct {
	Select []int          // header indexes of the read = true columns, in schema order: pass to the reader's Select
	Pos    map[string]int // holds -> position in the selected row, e.g. Pos[HoldsIdentifier]
	Names  []string       // the schema's names of the selected columns, same order as Select (for naming fields in errors)
	Width  int            // number of header columns: the expected field count of every record
}

// DriftError reports that a file's header does not match its schema. Missing and Duplicate hold
// schema column names. Unexpected holds, for each header column the schema does not declare,
// either its header text or, when the header cell (or another cell of the same row) looks like
// personal data, a description by position that withholds the text, such as
// "column 3 (name withheld: looks like data — is the header row missing?)".
type DriftError struct {
	Schema     string
	Missing    []string
	Unexpected []string
	Duplicate  []string

	notes []unexpectedNote // parallel to Unexpected, when Bind made the error
}

// unexpectedNote says where an unexpected column was and why its name is withheld ("" if not).
type unexpectedNote struct {
	pos    int // 1-based header position
	reason string
}

// Error describes the drift completely, for example
// `schema drift against "amea": missing column "Slutdatum"; unexpected column "Kommentar"`.
// Withheld names are described by position, grouped by reason.
func (e *DriftError) Error() string {
	var parts []string
	plural := func(what string, n int) string {
		if n > 1 {
			return what + "s"
		}
		return what
	}
	quoted := func(items []string) string {
		q := make([]string, len(items))
		for i, it := range items {
			q[i] = fmt.Sprintf("%q", it)
		}
		return strings.Join(q, ", ")
	}
	if len(e.Missing) > 0 {
		parts = append(parts, plural("missing column", len(e.Missing))+" "+quoted(e.Missing))
	}
	var (
		named   []string
		reasons []string                // in order of first appearance
		byWhy   = map[string][]string{} // reason -> positions
	)
	for i, u := range e.Unexpected {
		if i < len(e.notes) && e.notes[i].reason != "" {
			r := e.notes[i].reason
			if _, ok := byWhy[r]; !ok {
				reasons = append(reasons, r)
			}
			byWhy[r] = append(byWhy[r], fmt.Sprint(e.notes[i].pos))
			continue
		}
		named = append(named, u)
	}
	if len(named) > 0 {
		parts = append(parts, plural("unexpected column", len(named))+" "+quoted(named))
	}
	for _, r := range reasons {
		pos := byWhy[r]
		parts = append(parts, fmt.Sprintf("%s %s (%s)", plural("unexpected column", len(pos)), strings.Join(pos, ", "), r))
	}
	if len(e.Duplicate) > 0 {
		parts = append(parts, plural("duplicate column", len(e.Duplicate))+" "+quoted(e.Duplicate))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("schema drift against %q", e.Schema)
	}
	return fmt.Sprintf("schema drift against %q: %s", e.Schema, strings.Join(parts, "; "))
}

// Bind matches a header row against the schema and returns the columns to read. Header cells
// match column names trimmed, case-insensitively and after Unicode NFC normalisation (Windows
// exports may write decomposed characters); the order of the columns does not matter. Any
// schema column missing from the header (read or not), any header column the schema does not
// declare, and any schema column appearing twice is drift, reported as a *DriftError.
func (s *Schema) Bind(header []string) (*Binding, error) {
	want := make(map[string]int, len(s.Columns))
	for i, c := range s.Columns {
		if k := headerKey(c.Name); k != "" {
			if _, dup := want[k]; !dup {
				want[k] = i
			}
		}
	}
	at := make([]int, len(s.Columns))
	for i := range at {
		at[i] = -1
	}
	var (
		unexpected []int // header positions
		duplicate  []string
		dupSeen    = make(map[int]bool)
	)
	for j, h := range header {
		i, ok := want[headerKey(h)]
		if !ok {
			unexpected = append(unexpected, j)
			continue
		}
		if at[i] >= 0 {
			if !dupSeen[i] {
				dupSeen[i] = true
				duplicate = append(duplicate, s.Columns[i].Name)
			}
			continue
		}
		at[i] = j
	}
	var missing []string
	for i, c := range s.Columns {
		if at[i] < 0 {
			missing = append(missing, c.Name)
		}
	}
	if len(missing) > 0 || len(unexpected) > 0 || len(duplicate) > 0 {
		e := &DriftError{Schema: s.Name, Missing: missing, Duplicate: duplicate}
		e.Unexpected, e.notes = describeUnexpected(header, unexpected)
		return nil, e
	}
	b := &Binding{Pos: make(map[string]int), Width: len(header)}
	for i, c := range s.Columns {
		if !c.Read {
			continue
		}
		b.Pos[c.Holds] = len(b.Select)
		b.Select = append(b.Select, at[i])
		b.Names = append(b.Names, c.Name)
	}
	return b, nil
}

// describeUnexpected names the unexpected header columns. If any of them looks like data the
// header is probably a data row, so none of its cells is repeated: a name in the same row may be
// a person's name even when it does not look like one.
func describeUnexpected(header []string, pos []int) ([]string, []unexpectedNote) {
	dataRow := false
	for _, j := range pos {
		if looksLikeData(header[j]) {
			dataRow = true
			break
		}
	}
	out := make([]string, len(pos))
	notes := make([]unexpectedNote, len(pos))
	for n, j := range pos {
		h := strings.TrimFunc(header[j], func(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' })
		notes[n].pos = j + 1
		switch {
		case looksLikeData(h):
			notes[n].reason = "name withheld: looks like data — is the header row missing?"
		case h == "":
			notes[n].reason = "empty name"
		case dataRow:
			notes[n].reason = "name withheld: another cell of this row looks like data"
		default:
			out[n] = h
			continue
		}
		out[n] = fmt.Sprintf("column %d (%s)", j+1, notes[n].reason)
	}
	return out, notes
}

// looksLikeData reports whether s might be personal data rather than a column name: it has 5 or
// more digits (personnummer, dates, phone numbers, postcodes), an '@' (e-mail), or it is made of
// phone-number characters only with at least 3 digits.
func looksLikeData(s string) bool {
	digits := 0
	phoneish := true
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '@' || r == '＠':
			return true
		case unicode.IsDigit(r):
			digits++
		case r == '+' || r == '-' || r == '(' || r == ')' || r == '/' || r == '.' || unicode.IsSpace(r):
		default:
			phoneish = false
		}
	}
	return digits >= 5 || (phoneish && digits >= 3)
}

// Package subject answers data-subject requests against the lake's
// pseudonymised tier: access (which rows the lake holds about a person) and
// erasure (remove them, and the person's contributions to frozen
// aggregates, in one commit).
//
// The lake holds no identifier, so a request is answered the way a night
// links an export: each personnummer or samordningsnummer of the request is
// parsed with transforms/identity (every spelling: 10 or 12 digits, with or
// without '-' or '+') against the job's reference date, and its pseudonym
// is computed with the job's key and domain exactly as ingest computes it.
// Rows are then found by pseudonym.
//
// Identifiers are read from an io.Reader (a file or standard input), never
// from the command line. No identifier and no pseudonym ever leaves this
// package: errors name the request line and a reason code, reports and the
// run log refer to persons by request line number and hold counts, and the
// pseudonyms a [Request] holds are hidden from fmt, log/slog and
// encoding/json.
//
// Both operations run as lake operations (pipeline/lakeop): under the lake's
// lock, after crash recovery, with an entry in the lake's run log (kind
// "subject-access" or "subject-erase", the request's reference and the
// counts). docs/subjects.md is the guide for operators and data protection
// officers.
package subject

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// Reasons for a request line that cannot be used, besides the identifier
// reasons of transforms/identity (bad_format, bad_check_digit, ...).
const (
	// ReasonReserve: a reserve or temporary number. Such numbers are
	// reused and differ between systems, so they cannot be trusted to name
	// one person; rows kept under one must be handled by hand.
	ReasonReserve = "reserve_number"
	// ReasonBirthDate: a birth date alone names no one person.
	ReasonBirthDate = "birth_date_only"
	// ReasonTooLong: the line is longer than any identifier spelling.
	ReasonTooLong = "too_long"
)

// maxLine bounds a request line; identifiers are far shorter.
const maxLine = 256

// LineError is one unusable request line. It names the line and a reason,
// never the value.
type LineError struct {
	Line   int    // 1-based line number in the input
	Reason string // an identity.Reason or one of the Reason constants
}

func (e *LineError) Error() string {
	return "request line " + strconv.Itoa(e.Line) + ": " + e.Reason
}

// InputError lists every unusable line of a request; Read returns it so the
// operator can fix them all at once. Nothing is done with a request that
// has any.
type InputError struct {
	Lines []LineError
}

func (e *InputError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "subject: %d unusable request line(s):", len(e.Lines))
	for i, l := range e.Lines {
		if i == 20 {
			fmt.Fprintf(&b, " (+%d more)", len(e.Lines)-i)
			break
		}
		b.WriteString(" line ")
		b.WriteString(strconv.Itoa(l.Line))
		b.WriteString(": ")
		b.WriteString(l.Reason)
		if i < len(e.Lines)-1 {
			b.WriteString(";")
		}
	}
	return b.String()
}

// ErrNoPersons is returned by Read when the input names nobody (only blank
// lines and comments).
var ErrNoPersons = errors.New("subject: the request names no identifier (blank lines and # comments only)")

// Line is one identifier of a request.
type Line struct {
	// Line is the 1-based line number in the input: how reports refer to
	// the person.
	Line int
	// Kind is personnummer or samordningsnummer.
	Kind identity.Kind
	// SameAs is the line number of an earlier request line naming the same
	// person (another spelling of the same number), or 0.
	SameAs int
}

// Request is the persons of one data-subject request: their request lines
// and their lake pseudonyms. The pseudonyms are kept behind a func value so
// that fmt, log/slog and encoding/json cannot reach them (see
// pseudonym.Key); nothing in this package prints them.
type Request struct {
	// Lines are the usable lines, in input order.
	Lines []Line
	// KeyID is the ID of the key the pseudonyms were computed with.
	KeyID string
	// Reference is the date 10-digit forms were read against.
	Reference time.Time

	ps func() *persons
	pz *pseudonym.Pseudonymizer // carries older key generations' values forward
}

// persons maps a pseudonym to the index in Lines of the first line naming
// the person.
type persons struct {
	byPseudonym map[[16]byte]int
}

// String describes the request by counts only.
func (q *Request) String() string {
	return fmt.Sprintf("subject.Request(%d line(s), %d person(s))", len(q.Lines), q.Persons())
}

// Persons returns the number of distinct persons the request names.
func (q *Request) Persons() int { return len(q.ps().byPseudonym) }

// lineOf returns the index in Lines of the first line naming the person
// with pseudonym p, if the request names them.
func (q *Request) lineOf(p *[16]byte) (int, bool) {
	if p == nil {
		return 0, false
	}
	i, ok := q.ps().byPseudonym[*p]
	return i, ok
}

// matchRow returns the index in Lines of the first line naming the person of
// row r, if the request names them. A row whose key ID is an older
// generation of the request's key (a rotation not yet applied to it) is
// matched by carrying its pseudonym forward; foreign reports a linked row
// made with a key that is not in the request key's chain at all.
func (q *Request) matchRow(r *lake.Row) (i int, ok, foreign bool) {
	if r.Pseudonym == nil {
		return 0, false, false
	}
	if r.KeyID == q.KeyID {
		i, ok = q.lineOf(r.Pseudonym)
		return i, ok, false
	}
	v, err := q.pz.Advance(r.KeyID, pseudonym.Pseudonym(*r.Pseudonym))
	if err != nil {
		return 0, false, true
	}
	p := [16]byte(v)
	i, ok = q.lineOf(&p)
	return i, ok, false
}

// ReferenceDate is the date 10-digit identifiers are read against: the
// job's reference_date, or the UTC date of now, as a night would use.
func ReferenceDate(job *config.Job, now time.Time) time.Time {
	if !job.ReferenceDate.IsZero() {
		return job.ReferenceDate
	}
	n := now.UTC()
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// NewPseudonymizer returns the pseudonymizer a night of job uses: the key
// under the job's domain ([key] domain, "lake" by default).
func NewPseudonymizer(job *config.Job, key pseudonym.Key) (*pseudonym.Pseudonymizer, error) {
	return pseudonym.NewPseudonymizer(key, job.Key.Domain)
}

// Read reads a request: one identifier per line; blank lines and lines
// whose first non-space character is '#' are skipped. Each identifier is
// parsed against ref (see ReferenceDate) and pseudonymised with pz as
// ingest does (pz from NewPseudonymizer). Only personnummer and
// samordningsnummer are accepted. Any unusable line makes Read return an
// *InputError listing every such line by number and reason; a request with
// no identifier at all is ErrNoPersons.
func Read(r io.Reader, pz *pseudonym.Pseudonymizer, ref time.Time) (*Request, error) {
	q := &Request{KeyID: pz.KeyID(), Reference: ref, pz: pz}
	ps := &persons{byPseudonym: map[[16]byte]int{}}
	q.ps = func() *persons { return ps }
	var bad []LineError
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		text, long, err := readLine(br)
		if err == io.EOF && text == "" && !long {
			break
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("subject: reading request line %d: %w", n, err)
		}
		if n == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		t := strings.TrimSpace(text)
		switch {
		case long:
			bad = append(bad, LineError{n, ReasonTooLong})
		case t == "" || strings.HasPrefix(t, "#"):
		default:
			id, perr := identity.Parse(t, ref)
			switch {
			case perr != nil:
				bad = append(bad, LineError{n, string(identity.ReasonOf(perr))})
			case id.Kind == identity.Reserve:
				bad = append(bad, LineError{n, ReasonReserve})
			case id.Kind == identity.BirthDate:
				bad = append(bad, LineError{n, ReasonBirthDate})
			case id.Kind == identity.Personnummer || id.Kind == identity.Samordningsnummer:
				// The same call as ingest's convert: kind name and canonical form.
				p := [16]byte(pz.Pseudonym(id.Kind.String(), id.Canonical))
				l := Line{Line: n, Kind: id.Kind}
				if first, ok := ps.byPseudonym[p]; ok {
					l.SameAs = q.Lines[first].Line
				} else {
					ps.byPseudonym[p] = len(q.Lines)
				}
				q.Lines = append(q.Lines, l)
			default:
				bad = append(bad, LineError{n, string(identity.ReasonFormat)})
			}
		}
		if err == io.EOF {
			break
		}
	}
	if len(bad) > 0 {
		return nil, &InputError{Lines: bad}
	}
	if len(q.Lines) == 0 {
		return nil, ErrNoPersons
	}
	return q, nil
}

// readLine reads one line without its line ending. A line longer than
// maxLine is consumed whole and reported as long, its text dropped.
func readLine(br *bufio.Reader) (text string, long bool, err error) {
	var b []byte
	for {
		chunk, isPrefix, rerr := br.ReadLine()
		if len(b)+len(chunk) > maxLine {
			long = true
			b = b[:0]
		} else if !long {
			b = append(b, chunk...)
		}
		if rerr != nil {
			if rerr == io.EOF && (len(b) > 0 || long) {
				return string(b), long, nil
			}
			return string(b), long, rerr
		}
		if !isPrefix {
			return strings.TrimRight(string(b), "\r"), long, nil
		}
	}
}

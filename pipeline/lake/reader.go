package lake

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
)

// ReadFile streams the rows of one lake file to fn, value by value (so that a
// null is told apart from a zero value). It checks that the file has the lake's
// columns. fn may keep the Row: its strings and pointers are its own. A
// non-nil error from fn stops the read and is returned.
func ReadFile(path string, fn func(Row) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("lake: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("lake: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("lake: %s: not a readable Parquet file: %w", path, err)
	}
	if err := CheckSchema(pf.Schema()); err != nil {
		return fmt.Errorf("lake: %s: %w", path, err)
	}
	buf := make([]parquet.Row, 128)
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		for {
			n, rerr := rr.ReadRows(buf)
			for _, pr := range buf[:n] {
				if err := fn(rowOf(pr)); err != nil {
					rr.Close()
					return err
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rr.Close()
				return fmt.Errorf("lake: %s: %w", path, rerr)
			}
		}
		if err := rr.Close(); err != nil {
			return fmt.Errorf("lake: %s: %w", path, err)
		}
	}
	return nil
}

// CheckSchema reports whether a Parquet schema is the lake's: the same
// columns, in the same order, with the same types and repetition.
//
// A file written before the last column, linkable_until, existed has all
// the columns but that one, and is accepted (its rows read with
// LinkableUntil nil).
func CheckSchema(s *parquet.Schema) error {
	got, want := s.Fields(), fileSchema.Fields()
	if len(got) != len(want) && len(got) != colLinkableUntil {
		return fmt.Errorf("schema has %d columns, the lake's has %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Name() != w.Name() {
			return fmt.Errorf("column %d is %q, want %q", i, g.Name(), w.Name())
		}
		if g.Optional() != w.Optional() || g.Type().String() != w.Type().String() {
			return fmt.Errorf("column %q has type %s (optional %v), want %s (optional %v)",
				g.Name(), g.Type(), g.Optional(), w.Type(), w.Optional())
		}
	}
	return nil
}

// ErrStop may be returned by a ReadFile callback to stop early without error.
var ErrStop = errors.New("lake: stop reading")

func rowOf(pr parquet.Row) Row {
	str := func(col int) *string {
		if pr[col].IsNull() {
			return nil
		}
		s := string(pr[col].ByteArray())
		return &s
	}
	r := Row{
		IDKind:       string(pr[colIDKind].ByteArray()),
		Measure:      string(pr[colMeasure].ByteArray()),
		PeriodStart:  pr[colPeriodStart].Int32(),
		RecordKey:    [16]byte(pr[colRecordKey].ByteArray()),
		RunID:        string(pr[colRunID].ByteArray()),
		Sex:          str(colSex),
		AgeBand:      str(colAgeBand),
		Municipality: str(colMunicipality),
	}
	if !pr[colPseudonym].IsNull() {
		p := [16]byte(pr[colPseudonym].ByteArray())
		r.Pseudonym = &p
	}
	if k := str(colKeyID); k != nil {
		r.KeyID = *k
	}
	if !pr[colPeriodEnd].IsNull() {
		e := pr[colPeriodEnd].Int32()
		r.PeriodEnd = &e
	}
	if len(pr) > colLinkableUntil && !pr[colLinkableUntil].IsNull() {
		l := pr[colLinkableUntil].Int32()
		r.LinkableUntil = &l
	}
	return r
}

// SameContent reports whether two rows hold the same participation data,
// ignoring run_id (which only says which run wrote the row).
func SameContent(a, b *Row) bool {
	eqp := func(x, y *[16]byte) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqs := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqd := func(x, y *int32) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return eqp(a.Pseudonym, b.Pseudonym) && a.KeyID == b.KeyID && a.IDKind == b.IDKind &&
		a.Measure == b.Measure && a.PeriodStart == b.PeriodStart && eqd(a.PeriodEnd, b.PeriodEnd) &&
		eqs(a.Sex, b.Sex) && eqs(a.AgeBand, b.AgeBand) && eqs(a.Municipality, b.Municipality) &&
		a.RecordKey == b.RecordKey && eqd(a.LinkableUntil, b.LinkableUntil)
}

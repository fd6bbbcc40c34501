package lake

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/parquet-go/parquet-go"

	"github.com/gallra/gallra/pipeline/slab"
)

// ReadFile streams the rows of one lake file to fn, value by value (so that a
// null is told apart from a zero value). It checks that the file has the lake's
// columns. fn may keep the Row and its pointers, but must not write through
// Sex, AgeBand or Municipality: rows of one file share the string each
// distinct value points to (to change one, point it at another string).
// Pseudonym, PeriodEnd and LinkableUntil point to values of the row's own.
// A non-nil error from fn stops the read and is returned.
func ReadFile(path string, fn func(Row) error) error {
	return readFile(path, nil, fn)
}

// ReadFileColumns is ReadFile reading only the named columns (names from
// [Columns]): the other fields of each Row are left zero, and their column
// chunks are never decompressed. Readers that need a few columns of a large
// lake (the statistics' person pass) read far less this way.
func ReadFileColumns(path string, columns []string, fn func(Row) error) error {
	want := make([]bool, numColumns)
	for _, c := range columns {
		i := slices.Index(Columns, c)
		if i < 0 {
			return fmt.Errorf("lake: no column %q", c)
		}
		want[i] = true
	}
	return readFile(path, want, fn)
}

// FileRows returns the number of rows of a lake file, from its footer.
func FileRows(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("lake: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("lake: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, fmt.Errorf("lake: %s: not a readable Parquet file: %w", path, err)
	}
	return pf.NumRows(), nil
}

// readFile reads the columns want marks (all when want is nil).
func readFile(path string, want []bool, fn func(Row) error) error {
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
	ncols := len(pf.Schema().Fields())
	b := newRowBuilder()
	cols := make([]columnValues, ncols)
	for i := range cols {
		cols[i].skip = want != nil && !want[i]
		if !cols[i].skip {
			cols[i].buf = make([]parquet.Value, readBatch)
		}
	}
	for _, rg := range pf.RowGroups() {
		fnErr, err := readRowGroup(rg, cols, b, fn)
		if fnErr != nil {
			return fnErr
		}
		if err != nil {
			return fmt.Errorf("lake: %s: %w", path, err)
		}
	}
	return nil
}

// readBatch is how many values of each column are read at a time.
const readBatch = 256

// columnValues holds the values of one column read but not yet made into
// rows. They stay valid until the next read of the column: its reader
// releases a page only when asked for the values after it.
type columnValues struct {
	r        parquet.ColumnChunkValueReader
	buf      []parquet.Value
	off, len int
	skip     bool // not read: the Row's field stays zero
}

// readRowGroup reads one row group column by column, a batch of values of
// each column at a time, and hands fn a Row per row. The lake's schema is
// flat, so every column holds exactly one value (or null) per row. fnErr is
// an error fn returned, err one of reading.
func readRowGroup(rg parquet.RowGroup, cols []columnValues, b *rowBuilder, fn func(Row) error) (fnErr, err error) {
	chunks := rg.ColumnChunks()
	for i := range cols {
		if !cols[i].skip {
			cols[i].r = parquet.NewColumnChunkValueReader(chunks[i])
		}
		cols[i].off, cols[i].len = 0, 0
	}
	defer func() {
		for i := range cols {
			if cols[i].skip {
				continue
			}
			if cerr := cols[i].r.Close(); cerr != nil && err == nil {
				err = cerr
			}
			cols[i].r = nil
			clear(cols[i].buf)
		}
	}()
	left := rg.NumRows()
	for left > 0 {
		n := readBatch
		for i := range cols {
			c := &cols[i]
			if c.skip {
				continue
			}
			if c.off == c.len {
				m, rerr := c.r.ReadValues(c.buf)
				if m == 0 {
					if rerr == nil || rerr == io.EOF {
						rerr = io.ErrUnexpectedEOF
					}
					return nil, fmt.Errorf("column %s: %w", Columns[i], rerr)
				}
				c.off, c.len = 0, m
			}
			n = min(n, c.len-c.off)
		}
		n = int(min(int64(n), left))
		for k := 0; k < n; k++ {
			if err := fn(b.row(cols, k)); err != nil {
				return err, nil
			}
		}
		for i := range cols {
			cols[i].off += n
		}
		left -= int64(n)
	}
	return nil, nil
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

// rowBuilder turns column values into Rows with few allocations: the strings
// of the low-cardinality columns are interned (and the optional ones share
// one pointer per distinct value, as merge's decoded rows do), and the
// pseudonyms and dates the pointer fields point to are carved out of slabs,
// a value of each row's own.
type rowBuilder struct {
	// recent and recentPtr are direct-mapped caches in front of strs and
	// ptrs, indexed by a cheap hash of the bytes; a slot is used only when
	// its string equals them.
	recent    [recentSlots]string
	recentPtr [recentSlots]*string
	strs      map[string]string
	ptrs      map[string]*string
	keys      slab.Slab[[16]byte]
	dates     slab.Slab[int32]
}

const recentSlots = 1024

// maxInterned bounds the interned strings of one file; past it, strings are
// copied as they come.
const maxInterned = 4096

func newRowBuilder() *rowBuilder {
	return &rowBuilder{strs: make(map[string]string), ptrs: make(map[string]*string)}
}

// hashBytes is a cheap hash of a short string for the direct-mapped caches.
func hashBytes(v []byte) uint {
	var h uint
	if n := len(v); n > 0 {
		h = uint(n)*0x9E37 ^ uint(v[0])<<5 ^ uint(v[n/2])<<2 ^ uint(v[n-1])*0x3B
	}
	return h
}

func (b *rowBuilder) str(v []byte) string {
	slot := &b.recent[hashBytes(v)%recentSlots]
	if *slot == string(v) {
		return *slot
	}
	s, ok := b.strs[string(v)]
	if !ok {
		s = string(v)
		if len(b.strs) < maxInterned {
			b.strs[s] = s
		}
	}
	*slot = s
	return s
}

func (b *rowBuilder) optStr(v *parquet.Value) *string {
	if v.IsNull() {
		return nil
	}
	bs := v.ByteArray()
	slot := &b.recentPtr[hashBytes(bs)%recentSlots]
	if p := *slot; p != nil && *p == string(bs) {
		return p
	}
	p := b.ptrs[string(bs)]
	if p == nil {
		s := b.str(bs)
		p = &s
		if len(b.ptrs) < maxInterned {
			b.ptrs[s] = p
		}
	}
	*slot = p
	return p
}

// row makes the Row of the k-th buffered value of every column read.
func (b *rowBuilder) row(cols []columnValues, k int) Row {
	null := parquet.Value{} // what a column not read gives: a null, or a zero
	v := func(col int) *parquet.Value {
		c := &cols[col]
		if c.skip {
			return &null
		}
		return &c.buf[c.off+k]
	}
	var r Row
	if s := v(colIDKind); !s.IsNull() {
		r.IDKind = b.str(s.ByteArray())
	}
	if s := v(colMeasure); !s.IsNull() {
		r.Measure = b.str(s.ByteArray())
	}
	r.PeriodStart = v(colPeriodStart).Int32()
	if s := v(colRecordKey); !s.IsNull() {
		r.RecordKey = [16]byte(s.ByteArray())
	}
	if s := v(colRunID); !s.IsNull() {
		r.RunID = b.str(s.ByteArray())
	}
	r.Sex, r.AgeBand, r.Municipality = b.optStr(v(colSex)), b.optStr(v(colAgeBand)), b.optStr(v(colMunicipality))
	if p := v(colPseudonym); !p.IsNull() {
		r.Pseudonym = b.keys.New([16]byte(p.ByteArray()))
	}
	if k := v(colKeyID); !k.IsNull() {
		r.KeyID = b.str(k.ByteArray())
	}
	if e := v(colPeriodEnd); !e.IsNull() {
		r.PeriodEnd = b.dates.New(e.Int32())
	}
	if len(cols) > colLinkableUntil {
		if l := v(colLinkableUntil); !l.IsNull() {
			r.LinkableUntil = b.dates.New(l.Int32())
		}
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

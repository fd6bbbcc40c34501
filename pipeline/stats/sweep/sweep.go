// Package sweep computes the statistics suite's three person-keyed shared
// inputs, stats_firsts, stats_person_years and stats_ends (defined in SQL in
// pipeline/stats/inputs.sql), in one pass over each person's rows.
//
// DuckDB computes each of those inputs with a hash table keyed by person
// over all the lake's rows; at a hundred million rows the tables outgrow
// every cache, and the three inputs were most of the suite's time
// (benchmarks/RESULTS.md). This pass does the same counting in three steps:
//
//  1. Read: each of the lake's files, a few columns of it, on every core.
//     Each linked row becomes a 28-byte record (pseudonym, start, end,
//     category slot, measure and source) in one of 64 to 256 bucket files
//     (as many as keep a bucket under 2M rows), chosen by the pseudonym's
//     first byte, so that all the rows of a person are in one bucket.
//  2. Sort: one bucket at a time per core, its records by person and start.
//  3. Walk: each person's rows once, in start order, counting what the
//     three inputs count.
//
// Memory holds a bucket per core (about 90 bytes a row while it is sorted:
// at most ~190 MB per core up to 512M rows, ~140 MB at 100M), not the
// lake. The bucket files hold pseudonyms, as the lake and DuckDB's own
// temporary files do, never a raw identifier; they are made readable by
// the owner only and removed when the pass ends.
//
// The results are small (counts by year, category and flags) and are the
// inputs' rows exactly: package stats loads them in place of the SQL's, and
// its reference test checks both against the plain definitions.
package sweep

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/gallra/gallra/pipeline/lake"
)

// Options say what to read and what to count.
type Options struct {
	// Files are the lake's pseudonymised files, the ones its view "lake"
	// reads (duck.LakeFiles), each under its source=/start_year= directory.
	Files []string
	// FromYear and ToYear are the span; WithinDays is transitions' days
	// from an end to the next start (stats_ends' next_slots).
	FromYear, ToYear, WithinDays int
	// By is the breakdown: measure, source, sex, age_band or municipality.
	By string
	// Categories are stats_categories in slot order: the breakdown's
	// categories among the linked rows.
	Categories []Category
	// TempDir holds the bucket files while the pass runs ("": os.TempDir).
	TempDir string
	// Workers is how many goroutines read and walk (0: GOMAXPROCS).
	Workers int
}

// Category is one of the breakdown's categories: a name, or NULL (a
// source whose policy does not keep the column).
type Category struct {
	Name string
	Null bool
}

// Result holds the rows of the three inputs, in no particular order.
type Result struct {
	Firsts      []First
	PersonYears []PersonYear
	Ends        []End
	// NextSlotsNull is set when there are more than 128 categories:
	// stats_ends' next_slots is then NULL (transitions refuses such a
	// breakdown).
	NextSlotsNull bool
	// Rows is how many linked rows were read.
	Rows int64
}

// First is a row of stats_firsts: the persons whose first participation
// started in Year, in the category of slot Slot, by whether they were in a
// participation 1, 2 and 3 years after its start (Active); LastFirst is
// the latest of their first starts.
type First struct {
	Year, Slot int
	Active     [3]bool
	Persons    int64
	LastFirst  int32
}

// PersonYear is a row of stats_person_years: the persons in a participation
// of category Slot in Year, by the 12-bit mask of the year's month ends they
// were in (bit 0: January; 0: active in the year at no month end).
type PersonYear struct {
	Slot, Year, MonthEnds int
	Persons               int64
}

// End is a row of stats_ends: the persons with a participation of category
// Slot that ended in Year, counted once per year and category, by whether
// one of theirs started 1 to 365 days after such an end (Reentered) and the
// categories of those that started 1 to WithinDays days after it
// (NextSlots: bit s%64 of word s/64 for slot s).
type End struct {
	Year, Slot int
	Reentered  bool
	NextSlots  [2]uint64
	Persons    int64
}

// Run reads the files and counts. An error names the file it is about.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.FromYear > o.ToYear {
		return nil, fmt.Errorf("sweep: bad span %d–%d", o.FromYear, o.ToYear)
	}
	if len(o.Categories) > math.MaxUint16 {
		return nil, fmt.Errorf("sweep: %d categories, at most %d", len(o.Categories), math.MaxUint16)
	}
	if o.WithinDays <= 0 {
		o.WithinDays = 30
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	loadTable()
	dir, err := os.MkdirTemp(o.TempDir, "gallra-sweep-*")
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	defer os.RemoveAll(dir)
	rows, err := countRows(o.Files)
	if err != nil {
		return nil, err
	}
	bs, err := newBuckets(dir, numBuckets(rows))
	if err != nil {
		return nil, err
	}
	defer bs.close()
	cats, err := newCategories(o.By, o.Categories)
	if err != nil {
		return nil, err
	}
	pairs := &pairTable{ids: map[pairKey]uint16{}}
	linked, err := read(ctx, o, cats, pairs, bs)
	if err != nil {
		return nil, err
	}
	c := counter{
		from: o.FromYear, to: o.ToYear, within: int32(o.WithinDays),
		rank: pairs.ranks(), wide: len(o.Categories) > 128,
	}
	res, err := walk(ctx, o.Workers, bs, c)
	if err != nil {
		return nil, err
	}
	res.Rows = linked
	return res, nil
}

// A rec is one linked row as the pass keeps it.
type rec struct {
	hi, lo     uint64 // the pseudonym, big-endian halves: sorting them sorts by pseudonym
	start, end int32  // end is noEnd while ongoing
	slot, pair uint16 // category slot; measure and source pair (pairTable)
}

const (
	recSize = 28
	noEnd   = math.MaxInt32
	bufSize = 32 << 10 // per worker and bucket, before a write to the bucket's file
	// The bucket files: enough that a bucket holds at most bucketRows
	// records, from minBuckets to maxBuckets (one open file each; the
	// pseudonym's first byte picks one).
	minBuckets = 64
	maxBuckets = 256
	bucketRows = 2 << 20
)

// numBuckets returns how many buckets the pass uses for rows rows: a power
// of two, so that each is picked by bits of the pseudonym's first byte.
func numBuckets(rows int64) int {
	n := minBuckets
	for n < maxBuckets && rows > int64(n)*bucketRows {
		n *= 2
	}
	return n
}

func (r *rec) put(b []byte) {
	binary.LittleEndian.PutUint64(b[0:], r.hi)
	binary.LittleEndian.PutUint64(b[8:], r.lo)
	binary.LittleEndian.PutUint32(b[16:], uint32(r.start))
	binary.LittleEndian.PutUint32(b[20:], uint32(r.end))
	binary.LittleEndian.PutUint16(b[24:], r.slot)
	binary.LittleEndian.PutUint16(b[26:], r.pair)
}

func (r *rec) get(b []byte) {
	r.hi = binary.LittleEndian.Uint64(b[0:])
	r.lo = binary.LittleEndian.Uint64(b[8:])
	r.start = int32(binary.LittleEndian.Uint32(b[16:]))
	r.end = int32(binary.LittleEndian.Uint32(b[20:]))
	r.slot = binary.LittleEndian.Uint16(b[24:])
	r.pair = binary.LittleEndian.Uint16(b[26:])
}

// buckets are the bucket files, each written by every reader under its lock.
type buckets struct {
	files []*os.File
	mu    []sync.Mutex
}

func newBuckets(dir string, n int) (*buckets, error) {
	bs := &buckets{files: make([]*os.File, n), mu: make([]sync.Mutex, n)}
	for i := range bs.files {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("bucket-%02d", i)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			bs.close()
			return nil, fmt.Errorf("sweep: %w", err)
		}
		bs.files[i] = f
	}
	return bs, nil
}

func (bs *buckets) write(i int, b []byte) error {
	bs.mu[i].Lock()
	defer bs.mu[i].Unlock()
	if _, err := bs.files[i].Write(b); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}

func (bs *buckets) close() {
	for _, f := range bs.files {
		if f != nil {
			f.Close()
		}
	}
}

// categories finds a row's category slot.
type categories struct {
	by       string
	slots    map[string]uint16
	nullSlot int // -1: NULL is not a category
}

func newCategories(by string, cs []Category) (*categories, error) {
	switch by {
	case "", "measure":
		by = "measure"
	case "source", "sex", "age_band", "municipality":
	default:
		return nil, fmt.Errorf("sweep: no breakdown %q", by)
	}
	c := &categories{by: by, slots: make(map[string]uint16, len(cs)), nullSlot: -1}
	for i, cat := range cs {
		if cat.Null {
			c.nullSlot = i
		} else {
			c.slots[cat.Name] = uint16(i)
		}
	}
	return c, nil
}

// slot returns the slot of a row of a file of source src.
func (c *categories) slot(r *lake.Row, src string) (uint16, error) {
	var v *string
	switch c.by {
	case "measure":
		v = &r.Measure
	case "source":
		v = &src
	case "sex":
		v = r.Sex
	case "age_band":
		v = r.AgeBand
	case "municipality":
		v = r.Municipality
	}
	if v == nil {
		if c.nullSlot < 0 {
			return 0, fmt.Errorf("%s is NULL, which is not among the breakdown's categories (did a run commit while the statistics ran? run them again)", c.by)
		}
		return uint16(c.nullSlot), nil
	}
	s, ok := c.slots[*v]
	if !ok {
		// stats_categories was made from the same files: the lake changed.
		return 0, fmt.Errorf("%s %q is not among the breakdown's categories (did a run commit while the statistics ran? run them again)", c.by, *v)
	}
	return s, nil
}

// columns returns the lake columns the pass reads.
func (c *categories) columns() []string {
	cols := []string{"pseudonym", "measure", "period_start", "period_end"}
	switch c.by {
	case "sex", "age_band", "municipality":
		cols = append(cols, c.by)
	}
	return cols
}

// pairKey is a measure and source: a first participation's category on a
// tie of first days goes to the alphabetically first measure, then source.
type pairKey struct{ measure, source string }

// pairTable numbers the pairs as the readers meet them.
type pairTable struct {
	mu   sync.Mutex
	ids  map[pairKey]uint16
	keys []pairKey
}

func (t *pairTable) id(k pairKey) (uint16, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.ids[k]; ok {
		return id, nil
	}
	if len(t.keys) > math.MaxUint16 {
		return 0, errors.New("more than 65536 measure and source pairs")
	}
	id := uint16(len(t.keys))
	t.ids[k] = id
	t.keys = append(t.keys, pairKey{strings.Clone(k.measure), strings.Clone(k.source)})
	return id, nil
}

// ranks returns each pair's place in (measure, source) order.
func (t *pairTable) ranks() []uint16 {
	order := make([]int, len(t.keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(strings.Compare(t.keys[a].measure, t.keys[b].measure), strings.Compare(t.keys[a].source, t.keys[b].source))
	})
	rank := make([]uint16, len(t.keys))
	for r, i := range order {
		rank[i] = uint16(r)
	}
	return rank
}

// read is step 1: every file, on o.Workers goroutines, into the buckets.
func read(ctx context.Context, o Options, cats *categories, pairs *pairTable, bs *buckets) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan string)
	go func() {
		defer close(next)
		for _, f := range o.Files {
			select {
			case next <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int64
	for range min(o.Workers, max(len(o.Files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd := reader{cats: cats, pairs: pairs, bs: bs, cols: cats.columns(), buf: make([][]byte, len(bs.files)), seen: map[pairKey]uint16{}}
			for path := range next {
				if err := rd.file(path); err != nil {
					cancel(err)
					return
				}
			}
			if err := rd.flush(); err != nil {
				cancel(err)
				return
			}
			mu.Lock()
			total += rd.rows
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	return total, nil
}

// reader is one read worker: its own buffer per bucket and its own cache
// of the pairs it has met.
type reader struct {
	cats  *categories
	pairs *pairTable
	bs    *buckets
	cols  []string
	buf   [][]byte
	seen  map[pairKey]uint16
	rows  int64
}

func (rd *reader) file(path string) error {
	p, err := lake.ParsePartition(filepath.ToSlash(filepath.Base(filepath.Dir(filepath.Dir(path)))) + "/" + filepath.Base(filepath.Dir(path)))
	if err != nil {
		return fmt.Errorf("sweep: %s: %w", path, err)
	}
	line := int64(0)
	err = lake.ReadFileColumns(path, rd.cols, func(r lake.Row) error {
		line++
		if r.Pseudonym == nil {
			return nil
		}
		slot, err := rd.cats.slot(&r, p.Source)
		if err != nil {
			return fmt.Errorf("sweep: %s: row %d: %w", path, line, err)
		}
		k := pairKey{r.Measure, p.Source}
		pair, ok := rd.seen[k]
		if !ok {
			if pair, err = rd.pairs.id(k); err != nil {
				return fmt.Errorf("sweep: %s: %w", path, err)
			}
			rd.seen[pairKey{strings.Clone(k.measure), strings.Clone(k.source)}] = pair
		}
		x := rec{
			hi: binary.BigEndian.Uint64(r.Pseudonym[:8]), lo: binary.BigEndian.Uint64(r.Pseudonym[8:]),
			start: r.PeriodStart, end: noEnd, slot: slot, pair: pair,
		}
		if r.PeriodEnd != nil {
			x.end = *r.PeriodEnd
		}
		b := int(r.Pseudonym[0]) % len(rd.buf)
		if rd.buf[b] == nil {
			rd.buf[b] = make([]byte, 0, bufSize)
		}
		n := len(rd.buf[b])
		rd.buf[b] = rd.buf[b][:n+recSize]
		x.put(rd.buf[b][n:])
		if len(rd.buf[b])+recSize > bufSize {
			if err := rd.bs.write(b, rd.buf[b]); err != nil {
				return err
			}
			rd.buf[b] = rd.buf[b][:0]
		}
		rd.rows++
		return nil
	})
	return err
}

func (rd *reader) flush() error {
	for b, buf := range rd.buf {
		if len(buf) > 0 {
			if err := rd.bs.write(b, buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// walk is steps 2 and 3: each bucket sorted and its persons walked, a
// bucket at a time on each of workers goroutines; then the counts of all
// the workers together.
func walk(ctx context.Context, workers int, bs *buckets, proto counter) (*Result, error) {
	next := make(chan int, len(bs.files))
	for i := range len(bs.files) {
		next <- i
	}
	close(next)
	counters := make([]*counter, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		c := proto.fresh()
		counters[w] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			var recs []rec
			var srt sorter
			var buf []byte
			for b := range next {
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				var err error
				if recs, err = load(bs.files[b], recs[:0], &buf); err != nil {
					errs[w] = err
					return
				}
				recs = srt.sort(recs)
				for i := 0; i < len(recs); {
					j := i + 1
					for j < len(recs) && recs[j].hi == recs[i].hi && recs[j].lo == recs[i].lo {
						j++
					}
					c.person(recs[i:j])
					i = j
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	all := proto.fresh()
	for _, c := range counters {
		all.add(c)
	}
	return all.result(), nil
}

// sorter puts each person's records together, in start order, for one walk
// worker, reusing its memory from one bucket to the next. A bucket's
// records are first spread by 18 bits of the pseudonym that do not pick the
// bucket (a counting sort: pseudonyms are keyed hashes, evenly spread),
// which leaves groups of a few persons; each group is then sorted on its
// own. At 100M rows this took a tenth of sorting each bucket whole.
type sorter struct {
	spare        []rec   // the records go here, and recs becomes the next spare
	starts, next []int32 // each group's first place, and its next free place
}

const sortBits = 18

// sort returns recs sorted (in the sorter's spare slice; recs is kept as
// the next spare).
func (s *sorter) sort(recs []rec) []rec {
	key := func(r *rec) uint32 {
		// the second and third bytes and 2 bits of the fourth (the first
		// picked the bucket)
		return uint32(r.hi>>38) & (1<<sortBits - 1)
	}
	if s.starts == nil {
		s.starts, s.next = make([]int32, 1<<sortBits+1), make([]int32, 1<<sortBits+1)
	}
	starts, next := s.starts, s.next
	clear(starts)
	for i := range recs {
		starts[key(&recs[i])+1]++
	}
	for k := 1; k < len(starts); k++ {
		starts[k] += starts[k-1]
	}
	spare := s.spare
	if cap(spare) < len(recs) {
		spare = make([]rec, len(recs), cap(recs))
	}
	spare = spare[:len(recs)]
	copy(next, starts)
	for i := range recs {
		k := key(&recs[i])
		spare[next[k]] = recs[i]
		next[k]++
	}
	for k := 0; k < 1<<sortBits; k++ {
		g := spare[starts[k]:starts[k+1]]
		if len(g) <= 32 {
			for i := 1; i < len(g); i++ {
				for j := i; j > 0 && less(&g[j], &g[j-1]); j-- {
					g[j], g[j-1] = g[j-1], g[j]
				}
			}
			continue
		}
		slices.SortFunc(g, func(a, b rec) int {
			return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo), cmp.Compare(a.start, b.start))
		})
	}
	s.spare = recs
	return spare
}

// less orders records by person, then start.
func less(a, b *rec) bool {
	if a.hi != b.hi {
		return a.hi < b.hi
	}
	if a.lo != b.lo {
		return a.lo < b.lo
	}
	return a.start < b.start
}

// countRows returns the rows of the files, from their footers.
func countRows(files []string) (int64, error) {
	var n int64
	for _, f := range files {
		r, err := lake.FileRows(f)
		if err != nil {
			return 0, fmt.Errorf("sweep: %w", err)
		}
		n += r
	}
	return n, nil
}

// load reads a bucket file whole into recs.
func load(f *os.File, recs []rec, buf *[]byte) ([]rec, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	n := int(st.Size())
	if cap(*buf) < n {
		*buf = make([]byte, n+n/8) // buckets differ by a little: room for the next ones
	}
	b := (*buf)[:n]
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("sweep: %s: %w", f.Name(), err)
	}
	if len(b)%recSize != 0 {
		return nil, fmt.Errorf("sweep: %s: %d bytes, not a whole number of records", f.Name(), len(b))
	}
	if cap(recs) < len(b)/recSize {
		recs = make([]rec, 0, len(b)/recSize+len(b)/recSize/8)
	}
	for off := 0; off < len(b); off += recSize {
		var r rec
		r.get(b[off:])
		recs = append(recs, r)
	}
	return recs, nil
}

package merge

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gallra/gallra/pipeline/lake"
)

// DefaultMaxMemory is the memory a spilling batch holds its entries in
// before it writes them out as a sorted run (see NewSpillingBatch).
const DefaultMaxMemory = 48 << 20

// refSize is what one entry costs besides its record: its ref.
const refSize = 48

// Batch collects a run's entries; a later Add of the same record key
// replaces the earlier one (a later file wins over an earlier one, a later
// line over an earlier line: the order of Add).
//
// A batch made by NewSpillingBatch holds at most about its memory budget:
// when half of it is full, it sorts what it holds by source and record key
// and writes it to a run file in its spill directory, on a goroutine of its
// own while the other half fills; Apply merges the runs. The spill files
// hold pseudonymised lake rows only, never raw identifiers. Call Close to
// remove them.
type Batch struct {
	tab     *strtab
	dir     string // spill directory; "" = never spill
	budget  int64
	arena   []byte // records of the entries held in memory
	refs    []ref  // the entries held in memory, in add order until sorted
	seq     uint64 // number of the next entry
	guard   uint64 // entries numbered guard or more may still be discarded
	dead    []seqRange
	held    []heldRange // AddAt's entries that may still be discarded
	runs    []*spillRun
	years   map[string]*yearSet // the start years of incoming entries, by source
	last    *yearSet            // the last entry's source's years
	lastSrc string
	movable map[string]bool // sources with entries keyed by record ID
	added   int
	keepAll bool // a sorter of stored rows: keep every version

	// A spilling batch writes a run on a goroutine of its own while it
	// fills a second pair of buffers (see spillBehind); each pair holds
	// half the budget.
	pending *pendingSpill // the run being written, if any
	spare   struct {      // the buffers the last run was written from
		arena []byte
		refs  []ref
	}
	nruns int // run files named so far
}

// pendingSpill is a run being written by its own goroutine.
type pendingSpill struct {
	done  chan struct{}
	run   *spillRun
	err   error
	arena []byte // the buffers it was written from, for reuse
	refs  []ref
}

// ref is an entry held in memory: where its record is, and what it sorts by.
type ref struct {
	key [16]byte
	seq uint64
	src uint64 // string number of the source
	off uint32
	n   uint32
}

type seqRange struct{ from, to uint64 }

// heldRange is a range of entry numbers passed to Hold, with the number of
// entries added in it.
type heldRange struct {
	seqRange
	n int
}

// NewBatch returns an empty batch that holds all its entries in memory.
func NewBatch() *Batch {
	return &Batch{tab: newStrtab(), budget: math.MaxInt64,
		years: map[string]*yearSet{}, movable: map[string]bool{}}
}

// NewSpillingBatch returns an empty batch that holds at most about maxMemory
// bytes of entries in memory (DefaultMaxMemory if maxMemory <= 0) and spills
// the rest, as sorted runs, into dir. dir is created when first needed; it
// should lie where a crashed run's leftovers are cleaned up, such as the
// run's staging directory in the lake.
func NewSpillingBatch(dir string, maxMemory int64) *Batch {
	b := NewBatch()
	if maxMemory <= 0 {
		maxMemory = DefaultMaxMemory
	}
	b.dir, b.budget = dir, maxMemory
	return b
}

// Add puts an entry into the batch, replacing any earlier entry with the same
// record key. It fails only if spilling fails.
func (b *Batch) Add(e Entry) error {
	seq := b.seq
	b.seq++
	return b.add(seq, &e)
}

// AddAt puts an entry into the batch as entry number seq, instead of the next
// number: of the entries with the same record key, the one numbered highest
// wins, whatever the order they were added in. So several producers (one
// export file each, numbering its own range of entries in line order) can add
// interleaved and the batch ends the same as if they had added one after the
// other. The entries a producer may still have to take back are marked with
// Hold. A batch filled with AddAt is not marked with Mark. AddAt fails only if
// spilling fails.
func (b *Batch) AddAt(seq uint64, e Entry) error {
	b.guard = math.MaxUint64 // what may still be discarded is what is held
	for i := range b.held {
		if h := &b.held[i]; h.from <= seq && seq < h.to {
			h.n++
			break
		}
	}
	return b.add(seq, &e)
}

// Hold says that the entries numbered from up to to (exclusive), added with
// AddAt, may still be discarded with DiscardRange: until Release, no later
// version of a participation among them replaces an earlier one for good.
func (b *Batch) Hold(from, to uint64) {
	b.guard = math.MaxUint64
	b.held = append(b.held, heldRange{seqRange: seqRange{from, to}})
}

// Release says that the entries of a range passed to Hold are final.
func (b *Batch) Release(from, to uint64) {
	b.held = slices.DeleteFunc(b.held, func(h heldRange) bool { return h.from == from && h.to == to })
}

// DiscardRange drops every entry of a range passed to Hold and not released.
func (b *Batch) DiscardRange(from, to uint64) {
	for i, h := range b.held {
		if h.from == from && h.to == to {
			b.added -= h.n
			b.held = slices.Delete(b.held, i, i+1)
			break
		}
	}
	b.refs = slices.DeleteFunc(b.refs, func(r ref) bool { return from <= r.seq && r.seq < to })
	b.dead = append(b.dead, seqRange{from, to}) // for entries already spilled
}

func (b *Batch) add(seq uint64, e *Entry) error {
	if b.arena == nil && b.dir != "" {
		// A spilling batch fills its buffers again and again: size them
		// once (about two thirds records, one third refs) rather than grow
		// them by copying. The memory is only touched as it fills.
		n := b.fill()
		b.arena = make([]byte, 0, n*2/3)
		b.refs = make([]ref, 0, n/3/refSize+1)
	}
	off := len(b.arena)
	b.arena = b.tab.encode(b.arena, seq, e)
	b.refs = append(b.refs, ref{key: e.Row.RecordKey, seq: seq, src: b.tab.idAt(slotSource, e.Source),
		off: uint32(off), n: uint32(len(b.arena) - off)})
	b.added++
	if b.last == nil || e.Source != b.lastSrc {
		// Entries come in runs of one source: look it up once per run.
		if b.years[e.Source] == nil {
			b.years[e.Source] = &yearSet{}
		}
		b.last, b.lastSrc = b.years[e.Source], e.Source
	}
	b.last.add(lake.YearOf(e.Row.PeriodStart))
	if e.ByRecordID {
		b.movable[e.Source] = true
	}
	if b.dir != "" && (int64(len(b.arena))+int64(len(b.refs))*refSize > b.fill() || len(b.arena) > math.MaxUint32/2) {
		return b.spillBehind(b.guard)
	}
	return nil
}

// fill is how much a spilling batch's entries in memory may take before they
// are written out as a run: half its budget, since a second pair of buffers
// fills while the first is written (spillBehind).
func (b *Batch) fill() int64 { return min(b.budget, 1<<30) / 2 }

// Len is the number of entries added and not discarded, before later
// versions of a participation are folded into one.
func (b *Batch) Len() int { return b.added }

// Mark is a point in a batch's entries that Discard can go back to.
type Mark struct {
	seq   uint64
	added int
}

// Mark returns the current point, so that the entries added after it (one
// export file's) can be discarded if that file turns out unusable. Only the
// latest mark can be discarded to: versions added before it may already have
// been folded together.
func (b *Batch) Mark() Mark {
	b.guard = b.seq
	return Mark{b.seq, b.added}
}

// Discard drops every entry added since m.
func (b *Batch) Discard(m Mark) {
	if m.seq == b.seq {
		return
	}
	i := len(b.refs)
	for i > 0 && b.refs[i-1].seq >= m.seq {
		i--
	}
	if i < len(b.refs) {
		b.arena = b.arena[:b.refs[i].off]
		b.refs = b.refs[:i]
	}
	b.dead = append(b.dead, seqRange{m.seq, b.seq}) // for entries already spilled
	b.added = m.added
}

// isHeld reports whether entry seq may still be discarded by DiscardRange.
func (b *Batch) isHeld(seq uint64) bool {
	for _, h := range b.held {
		if h.from <= seq && seq < h.to {
			return true
		}
	}
	return false
}

func (b *Batch) isDead(seq uint64) bool {
	for _, r := range b.dead {
		if r.from <= seq && seq < r.to {
			return true
		}
	}
	return false
}

// Close removes the batch's spill files. The batch is empty afterwards.
func (b *Batch) Close() error {
	_ = b.waitSpill() // its error does not matter: its file is removed below
	b.arena, b.refs, b.runs = nil, nil, nil
	if b.dir == "" {
		return nil
	}
	if err := os.RemoveAll(b.dir); err != nil {
		return fmt.Errorf("merge: removing spill files: %w", err)
	}
	return nil
}

// sortRefs orders the in-memory entries by source name, record key and
// add order.
//
// Record keys are HMAC outputs, spread evenly over their range, so two
// radix passes (American flag sort, in place) leave a few entries per
// bucket, which an insertion sort finishes: one on the source and the key's
// first byte, then one within each such bucket on its second byte. Each
// pass moves entries between a few thousand places at most, which stay in
// the caches. A comparison sort of a spill's 350,000 refs took 3.4 of the 56
// CPU-seconds of a 10M-row night (benchmarks/RESULTS.md); that was while
// the spill still ran on the goroutine that adds, with the readers waiting.
func (b *Batch) sortRefs() {
	rank := b.tab.ranks()
	refs := b.refs
	if len(refs) < radixMin {
		sortBucket(refs, rank)
		return
	}
	// The sources present, numbered densely in name order: bucket numbers
	// then follow (source name, key) order.
	dense := make([]int, len(rank))
	var srcs []uint64
	for i := range refs {
		if s := refs[i].src; dense[s] == 0 {
			dense[s] = 1
			srcs = append(srcs, s)
		}
	}
	slices.SortFunc(srcs, func(x, y uint64) int { return cmp.Compare(rank[x], rank[y]) })
	for i, s := range srcs {
		dense[s] = i
	}
	outer := flagSort(refs, len(srcs)<<8, radixDigit{dense, 0}, nil)
	var inner []int
	for k := range len(outer) - 1 {
		bucket := refs[outer[k]:outer[k+1]]
		if len(bucket) <= smallBucket {
			sortBucket(bucket, rank)
			continue
		}
		inner = flagSort(bucket, 256, radixDigit{nil, 1}, inner)
		for j := range 256 {
			sortBucket(bucket[inner[j]:inner[j+1]], rank)
		}
	}
}

// radixDigit is a ref's bucket in one radix pass: byte i of its key, after
// its source's number if the pass has one (dense, by source string number).
type radixDigit struct {
	dense []int
	i     int
}

func (d radixDigit) of(r *ref) int {
	if d.dense != nil {
		return d.dense[r.src]<<8 | int(r.key[d.i])
	}
	return int(r.key[d.i])
}

// flagSort puts refs in the order of their buckets (0 to n-1), in place,
// and returns where each bucket starts (and, last, where the last one
// ends), in starts if it has room.
func flagSort(refs []ref, n int, digit radixDigit, starts []int) []int {
	if cap(starts) < 2*n+1 {
		starts = make([]int, 2*n+1)
	}
	starts = starts[:2*n+1]
	clear(starts)
	start, next := starts[:n+1], starts[n+1:]
	for i := range refs {
		start[digit.of(&refs[i])+1]++
	}
	for k := 1; k <= n; k++ {
		start[k] += start[k-1]
	}
	copy(next, start[:n])
	for k := range n {
		end := start[k+1]
		for next[k] < end {
			// Carry the entry at next[k] to its bucket, taking that
			// bucket's next entry in its place, until one belongs here.
			r := refs[next[k]]
			for d := digit.of(&r); d != k; d = digit.of(&r) {
				r, refs[next[d]] = refs[next[d]], r
				next[d]++
			}
			refs[next[k]] = r
			next[k]++
		}
	}
	return start
}

// radixMin is the fewest refs sortRefs sorts by radix.
const radixMin = 256

// smallBucket is the most refs sortBucket sorts by insertion.
const smallBucket = 32

// sortBucket sorts a bucket's refs: by insertion, as there are few; a large
// bucket (keys not spread as expected) by slices.SortFunc.
func sortBucket(refs []ref, rank []int) {
	if len(refs) > smallBucket {
		slices.SortFunc(refs, func(x, y ref) int { return compareRefs(rank, &x, &y) })
		return
	}
	for i := 1; i < len(refs); i++ {
		for j := i; j > 0 && compareRefs(rank, &refs[j-1], &refs[j]) > 0; j-- {
			refs[j-1], refs[j] = refs[j], refs[j-1]
		}
	}
}

// compareRefs orders refs by source name (rank: a string number's place in
// name order), record key and add order.
func compareRefs(rank []int, x, y *ref) int {
	if x.src != y.src {
		return cmp.Compare(rank[x.src], rank[y.src])
	}
	if c := compareKeys(&x.key, &y.key); c != 0 {
		return c
	}
	return cmp.Compare(x.seq, y.seq)
}

// compareKeys is bytes.Compare for record keys, eight bytes at a time.
func compareKeys(a, b *[16]byte) int {
	if x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); x != y {
		if x < y {
			return -1
		}
		return 1
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}

// fold sorts the in-memory entries and drops each version that a later one
// replaces, where the later one was numbered below guard and is not held
// (it can no longer be discarded) and is not dead itself.
func (b *Batch) fold(guard uint64) {
	b.sortRefs()
	out := b.refs[:0]
	for i := 0; i < len(b.refs); {
		j := i + 1
		for j < len(b.refs) && b.refs[j].src == b.refs[i].src && b.refs[j].key == b.refs[i].key {
			j++
		}
		// b.refs[i:j] is one participation's versions, oldest first: keep
		// from the newest committed live one on.
		from := i
		for k := j - 1; k >= i && !b.keepAll; k-- {
			if s := b.refs[k].seq; s < guard && !b.isDead(s) && !b.isHeld(s) {
				from = k
				break
			}
		}
		for k := from; k < j; k++ {
			if !b.isDead(b.refs[k].seq) {
				out = append(out, b.refs[k])
			}
		}
		i = j
	}
	b.refs = out
}

// spillRun is one sorted run file: its entries by source name, record key
// and add order, each source's in one section.
type spillRun struct {
	path     string
	sections map[string][2]int64 // source -> [start, end) byte offsets
}

// spill writes the in-memory entries out as a sorted run, and returns when
// it and any run written behind are on disk.
func (b *Batch) spill(guard uint64) error {
	if err := b.waitSpill(); err != nil {
		return err
	}
	if len(b.refs) == 0 {
		return nil
	}
	run, err := b.writeRun(guard, b.runPath())
	if err != nil {
		return err
	}
	if run != nil {
		b.runs = append(b.runs, run)
	}
	b.arena, b.refs = b.arena[:0], b.refs[:0]
	return nil
}

// spillBehind hands the in-memory entries to a goroutine that writes them
// out as a sorted run, and goes on with a second pair of buffers; it waits
// only for the run before it. The readers and converters of a night wait for
// the batch while it spills: sorting and writing 16 MiB on the goroutine
// that adds left one core idle for about a tenth of the reading
// (benchmarks/RESULTS.md).
//
// The goroutine folds with what the batch knew when it was handed the
// entries: the guard, the held and the dead ranges, copied. That is what a
// spill there and then would have used; entries discarded afterwards are
// dropped when the runs are read back (isDead), as for any spilled entry.
func (b *Batch) spillBehind(guard uint64) error {
	if err := b.waitSpill(); err != nil {
		return err
	}
	if len(b.refs) == 0 {
		return nil
	}
	// The goroutine reads the string table's strings as they are now: append
	// only ever writes past them.
	snap := &Batch{tab: &strtab{strs: slices.Clip(b.tab.strs)}, dir: b.dir,
		arena: b.arena, refs: b.refs, dead: slices.Clone(b.dead), held: slices.Clone(b.held), keepAll: b.keepAll}
	p := &pendingSpill{done: make(chan struct{})}
	path := b.runPath()
	go func() {
		defer close(p.done)
		p.run, p.err = snap.writeRun(guard, path)
		p.arena, p.refs = snap.arena[:0], snap.refs[:0]
	}()
	b.pending = p
	// The buffers of the run before, or none yet: add makes them.
	b.arena, b.refs = b.spare.arena, b.spare.refs
	b.spare.arena, b.spare.refs = nil, nil
	return nil
}

// waitSpill waits for the run being written behind, if any, and takes it.
func (b *Batch) waitSpill() error {
	p := b.pending
	if p == nil {
		return nil
	}
	<-p.done
	b.pending = nil
	if p.err != nil {
		return p.err
	}
	if p.run != nil {
		b.runs = append(b.runs, p.run)
	}
	b.spare.arena, b.spare.refs = p.arena, p.refs
	return nil
}

// runPath names the next run file.
func (b *Batch) runPath() string {
	b.nruns++
	return filepath.Join(b.dir, "run-"+strconv.Itoa(b.nruns-1)+".bin")
}

// writeRun sorts and folds the in-memory entries and writes them to a new run
// file at path. It touches only b's buffers and string table, the held and
// dead ranges, and the spill directory.
func (b *Batch) writeRun(guard uint64, path string) (*spillRun, error) {
	b.fold(guard)
	if len(b.refs) == 0 { // all folded away: nothing left to write
		return nil, nil
	}
	if err := os.MkdirAll(b.dir, 0o750); err != nil {
		return nil, fmt.Errorf("merge: spill directory: %w", err)
	}
	run := &spillRun{path: path, sections: map[string][2]int64{}}
	f, err := os.OpenFile(run.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("merge: spill: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var off, secStart int64
	var lenBuf [binary.MaxVarintLen64]byte
	for i, r := range b.refs {
		if i > 0 && r.src != b.refs[i-1].src {
			run.sections[b.tab.strs[b.refs[i-1].src]] = [2]int64{secStart, off}
			secStart = off
		}
		n := binary.PutUvarint(lenBuf[:], uint64(r.n))
		w.Write(lenBuf[:n])
		w.Write(b.arena[r.off : r.off+r.n])
		off += int64(n) + int64(r.n)
	}
	run.sections[b.tab.strs[b.refs[len(b.refs)-1].src]] = [2]int64{secStart, off}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("merge: spill: %w", err)
	}
	return run, nil
}

// entryIter yields one source's incoming entries, one per record key (the
// latest version), in record key order.
type entryIter interface {
	next() (Entry, bool, error)
	close()
}

// prepare gets the batch ready to be read by source: everything in memory,
// sorted and folded, or everything in runs.
func (b *Batch) prepare() error {
	if err := b.waitSpill(); err != nil {
		return err
	}
	if len(b.runs) == 0 {
		b.fold(math.MaxUint64)
		return nil
	}
	if err := b.spill(math.MaxUint64); err != nil {
		return err
	}
	// Everything is in runs now: the memory the entries were collected in
	// (the whole budget) is not needed while the runs are merged into the
	// lake, where the writer's buffers are the largest part of the peak.
	b.arena, b.refs = nil, nil
	b.spare.arena, b.spare.refs = nil, nil
	return nil
}

// sources returns the sources with incoming entries, by name.
func (b *Batch) sources() []string {
	return slices.Sorted(maps.Keys(b.years))
}

// partitions returns the partitions of src's incoming entries.
func (b *Batch) partitions(src string) []lake.Partition {
	var ps []lake.Partition
	for _, y := range b.years[src].list() {
		ps = append(ps, lake.Partition{Source: src, StartYear: y})
	}
	return ps
}

// yearSet is a set of years. Add is called for every entry, so the years
// a partition can have (four digits) are bits, not map keys.
type yearSet struct {
	bits  [(10000 + 63) / 64]uint64
	other map[int]bool // years outside 0..9999, which the lake rejects
}

func (s *yearSet) add(y int) {
	if y < 0 || y >= len(s.bits)*64 {
		if s.other == nil {
			s.other = map[int]bool{}
		}
		s.other[y] = true
		return
	}
	s.bits[y/64] |= 1 << (y % 64)
}

// list returns the years in s, in ascending order.
func (s *yearSet) list() []int {
	ys := slices.Collect(maps.Keys(s.other))
	for i, w := range s.bits {
		for ; w != 0; w &= w - 1 {
			ys = append(ys, i*64+bits.TrailingZeros64(w))
		}
	}
	slices.Sort(ys)
	return ys
}

// iter returns the incoming entries of src. It may be called again for the
// same source (a second pass).
func (b *Batch) iter(src string) (entryIter, error) {
	if len(b.runs) == 0 {
		id, ok := b.tab.ids[src]
		if !ok {
			return &memIter{b: b}, nil
		}
		i, _ := slices.BinarySearchFunc(b.refs, src, func(r ref, s string) int { return cmp.Compare(b.tab.strs[r.src], s) })
		j := i
		for j < len(b.refs) && b.refs[j].src == id {
			j++
		}
		return &memIter{b: b, refs: b.refs[i:j]}, nil
	}
	m := &runMerge{b: b}
	size := runReadBuffer(len(b.runs))
	for _, r := range b.runs {
		sec, ok := r.sections[src]
		if !ok {
			continue
		}
		f, err := os.Open(r.path)
		if err != nil {
			m.close()
			return nil, fmt.Errorf("merge: spill: %w", err)
		}
		rr := &runReader{f: f, r: bufio.NewReaderSize(io.NewSectionReader(f, sec[0], sec[1]-sec[0]), size)}
		if err := rr.advance(); err != nil {
			f.Close()
			m.close()
			return nil, err
		}
		if rr.ok {
			m.h = append(m.h, rr)
		} else {
			f.Close()
		}
	}
	m.h.init()
	return m, nil
}

// mergeReadMemory is what the read buffers of a merge of spilled runs take
// together: a night of 100M rows spills ~600 runs of half the budget each,
// and 64 KiB each (19 MiB when they were ~300) made the run's peak memory
// grow with the night's size.
const mergeReadMemory = 8 << 20

// runReadBuffer is the read buffer of each of n runs merged at once: the
// share of mergeReadMemory, between 4 and 64 KiB.
func runReadBuffer(n int) int {
	return min(max(mergeReadMemory/max(n, 1), 4<<10), 64<<10)
}

type memIter struct {
	b    *Batch
	refs []ref
	e    Entry // decoded into, so that it is not allocated per entry
}

func (it *memIter) next() (Entry, bool, error) {
	if len(it.refs) == 0 {
		return Entry{}, false, nil
	}
	r := it.refs[0]
	it.refs = it.refs[1:]
	_, err := it.b.tab.decodeInto(it.b.arena[r.off:r.off+r.n], &it.e)
	return it.e, true, err
}

func (it *memIter) close() {}

// runReader reads one source's section of a run.
type runReader struct {
	f *os.File
	r *bufio.Reader
	// rec is the current record, valid until the next advance: in r's
	// buffer (peeked bytes still to be discarded), or in own when it is
	// larger than the buffer. The merge copies the record it keeps.
	rec    []byte
	peeked int
	own    []byte
	h      recHead
	ok     bool
}

func (rr *runReader) advance() error {
	if rr.peeked > 0 {
		rr.r.Discard(rr.peeked) // buffered: it cannot fail
		rr.peeked = 0
	}
	n, err := binary.ReadUvarint(rr.r)
	if err == io.EOF {
		rr.ok = false
		return nil
	}
	if err != nil {
		return fmt.Errorf("merge: reading spill: %w", err)
	}
	if n > 1<<20 {
		return errCorrupt
	}
	if int(n) <= rr.r.Size() {
		// Looked at where it is rather than copied out: each record is
		// looked at once, and only the latest version is copied.
		if rr.rec, err = rr.r.Peek(int(n)); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("merge: reading spill: %w", err)
		}
		rr.peeked = int(n)
	} else {
		rr.own = slices.Grow(rr.own[:0], int(n))[:n]
		if _, err := io.ReadFull(rr.r, rr.own); err != nil {
			return fmt.Errorf("merge: reading spill: %w", err)
		}
		rr.rec = rr.own
	}
	rr.h, err = head(rr.rec)
	rr.ok = err == nil
	return err
}

// runHeap is a binary min-heap of run readers by (record key, entry
// number): container/heap's algorithm without its interface calls, which
// were a third of the k-way merge's cost.
type runHeap []*runReader

func (h runHeap) less(i, j int) bool {
	if c := compareKeys(&h[i].h.key, &h[j].h.key); c != 0 {
		return c < 0
	}
	return h[i].h.seq < h[j].h.seq
}

// down moves h[i] down to its place.
func (h runHeap) down(i int) {
	for {
		j := 2*i + 1
		if j >= len(h) {
			return
		}
		if r := j + 1; r < len(h) && h.less(r, j) {
			j = r
		}
		if !h.less(j, i) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

func (h runHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// advanceTop moves the least reader on and puts it in its place, or drops
// it (and closes its file) at the end of its section.
func (h *runHeap) advanceTop() error {
	rr := (*h)[0]
	if err := rr.advance(); err != nil {
		return err
	}
	if !rr.ok {
		rr.f.Close()
		last := len(*h) - 1
		(*h)[0], (*h)[last] = (*h)[last], nil
		*h = (*h)[:last]
	}
	h.down(0)
	return nil
}

// runMerge is a k-way merge of the runs' sections of one source: of each
// record key's versions, the latest live one wins.
type runMerge struct {
	b    *Batch
	h    runHeap
	best []byte
	e    Entry // decoded into, so that it is not allocated per entry
}

func (m *runMerge) next() (Entry, bool, error) {
	if m.b.keepAll {
		return m.nextAny()
	}
	for len(m.h) > 0 {
		key := m.h[0].h.key
		found := false
		for len(m.h) > 0 && m.h[0].h.key == key {
			rr := m.h[0]
			if !m.b.isDead(rr.h.seq) {
				m.best = append(m.best[:0], rr.rec...)
				found = true
			}
			if err := m.h.advanceTop(); err != nil {
				return Entry{}, false, err
			}
		}
		if found {
			_, err := m.b.tab.decodeInto(m.best, &m.e)
			return m.e, true, err
		}
	}
	return Entry{}, false, nil
}

// nextAny yields every live version, in record key and add order.
func (m *runMerge) nextAny() (Entry, bool, error) {
	for len(m.h) > 0 {
		rr := m.h[0]
		live := !m.b.isDead(rr.h.seq)
		if live {
			m.best = append(m.best[:0], rr.rec...)
		}
		if err := m.h.advanceTop(); err != nil {
			return Entry{}, false, err
		}
		if live {
			_, err := m.b.tab.decodeInto(m.best, &m.e)
			return m.e, true, err
		}
	}
	return Entry{}, false, nil
}

func (m *runMerge) close() {
	for _, rr := range m.h {
		rr.f.Close()
	}
	m.h = nil
}

var errUnsorted = errors.New("merge: stored file is not in record key order")

package merge

import (
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/gallra/gallra/pipeline/lake"
)

// rowIter yields stored rows.
type rowIter interface {
	next() (lake.Row, bool, error)
	close()
}

// fileIter streams one lake file's rows, decoded by a goroutine of its own
// (so that decoding runs beside the merge on a second core), in batches.
type fileIter struct {
	path string
	ch   chan []lake.Row
	done chan struct{}
	err  error // set before ch is closed
	buf  []lake.Row
}

const fileBatch = 512

func openFile(path string) *fileIter {
	it := &fileIter{path: path, ch: make(chan []lake.Row, 4), done: make(chan struct{})}
	go func() {
		defer close(it.ch)
		batch := make([]lake.Row, 0, fileBatch)
		err := lake.ReadFile(path, func(r lake.Row) error {
			batch = append(batch, r)
			if len(batch) == fileBatch {
				select {
				case it.ch <- batch:
				case <-it.done:
					return lake.ErrStop
				}
				batch = make([]lake.Row, 0, fileBatch)
			}
			return nil
		})
		if err == nil && len(batch) > 0 {
			select {
			case it.ch <- batch:
			case <-it.done:
			}
		}
		if err != nil && !errors.Is(err, lake.ErrStop) {
			it.err = err
		}
	}()
	return it
}

func (it *fileIter) next() (lake.Row, bool, error) {
	for len(it.buf) == 0 {
		b, ok := <-it.ch
		if !ok {
			return lake.Row{}, false, it.err
		}
		it.buf = b
	}
	r := it.buf[0]
	it.buf = it.buf[1:]
	return r, true, nil
}

// close stops the reader and waits until it has closed the file.
func (it *fileIter) close() {
	select {
	case <-it.done:
		return
	default:
	}
	close(it.done)
	for range it.ch {
	}
}

// entryRows adapts the entries of a sorter batch to a rowIter.
type entryRows struct{ it entryIter }

func (e entryRows) next() (lake.Row, bool, error) {
	en, ok, err := e.it.next()
	return en.Row, ok, err
}
func (e entryRows) close() { e.it.close() }

// sortedStored holds stored files that were found out of record key order,
// sorted once per Apply through a sorter batch.
type sortedStored struct {
	dir     string // spill directory of the sorters; "" = in memory
	budget  int64
	sorters map[string]*Batch // file path -> its rows, sorted
}

func (s *sortedStored) close() error {
	var errs []error
	for _, b := range s.sorters {
		errs = append(errs, b.Close())
	}
	return errors.Join(errs...)
}

// sort reads a stored file into a sorter batch that keeps every row.
func (s *sortedStored) sort(path string, p lake.Partition) error {
	var b *Batch
	if s.dir == "" {
		b = NewBatch()
	} else {
		b = NewSpillingBatch(filepath.Join(s.dir, "sorted-"+strconv.Itoa(len(s.sorters))), s.budget)
	}
	b.keepAll = true
	if s.sorters == nil {
		s.sorters = map[string]*Batch{}
	}
	s.sorters[path] = b
	err := lake.ReadFile(path, func(r lake.Row) error {
		return b.Add(Entry{Source: p.Source, Row: r})
	})
	if err == nil {
		err = b.prepare()
	}
	return err
}

// cursor is one stored file's rows in a join, with the partition they lie in.
type cursor struct {
	it      rowIter
	part    lake.Partition
	file    string
	idx     int
	row     lake.Row
	ok      bool
	started bool
}

// advance moves to the next row, checking that the file is in record key
// order.
func (c *cursor) advance() error {
	prev := c.row.RecordKey
	r, ok, err := c.it.next()
	if err != nil {
		return err
	}
	c.row, c.ok = r, ok
	if ok && c.started && bytes.Compare(r.RecordKey[:], prev[:]) < 0 {
		return &unsortedError{file: c.file}
	}
	c.started = true
	return nil
}

type unsortedError struct{ file string }

func (e *unsortedError) Error() string { return errUnsorted.Error() + ": " + e.file }
func (e *unsortedError) Unwrap() error { return errUnsorted }

type cursorHeap []*cursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].row.RecordKey[:], h[j].row.RecordKey[:]); c != 0 {
		return c < 0
	}
	return h[i].idx < h[j].idx
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// stored is one stored version of a participation found by a join.
type stored struct {
	part lake.Partition
	row  lake.Row
}

// join walks the incoming entries of one source and the stored rows of the
// given partitions together, in record key order, and calls fn once per
// record key with the incoming entry (nil if none) and every stored version
// (in partition and file order).
func (m *applier) join(in entryIter, parts []lake.Partition, fn func(e *Entry, vs []stored) error) (err error) {
	var h cursorHeap
	defer func() {
		for _, c := range h {
			c.it.close()
		}
	}()
	for _, p := range parts {
		for _, f := range m.base.PartitionFiles(p) {
			path := filepath.Join(m.lakeDir, filepath.FromSlash(f.Path))
			var it rowIter
			if sb := m.sorted.sorters[path]; sb != nil {
				ei, err := sb.iter(p.Source)
				if err != nil {
					return err
				}
				it = entryRows{ei}
			} else {
				it = openFile(path)
			}
			c := &cursor{it: it, part: p, file: path, idx: len(h)}
			h = append(h, c)
			if err := c.advance(); err != nil {
				return m.storedErr(f.Path, err)
			}
		}
	}
	live := h[:0]
	for _, c := range h {
		if c.ok {
			live = append(live, c)
		} else {
			c.it.close()
		}
	}
	h = live
	heap.Init(&h)

	e, eok, err := in.next()
	if err != nil {
		return err
	}
	var vs []stored
	for eok || len(h) > 0 {
		var k [16]byte
		if eok && (len(h) == 0 || bytes.Compare(e.Row.RecordKey[:], h[0].row.RecordKey[:]) <= 0) {
			k = e.Row.RecordKey
		} else {
			k = h[0].row.RecordKey
		}
		vs = vs[:0]
		for len(h) > 0 && h[0].row.RecordKey == k {
			c := h[0]
			vs = append(vs, stored{c.part, c.row})
			if err := c.advance(); err != nil {
				return m.storedErr(c.file, err)
			}
			if c.ok {
				heap.Fix(&h, 0)
			} else {
				c.it.close()
				heap.Pop(&h)
			}
		}
		var ep *Entry
		if eok && e.Row.RecordKey == k {
			ep = &e
		}
		if err := fn(ep, vs); err != nil {
			return err
		}
		if ep != nil {
			if e, eok, err = in.next(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *applier) storedErr(file string, err error) error {
	var ue *unsortedError
	if errors.As(err, &ue) {
		return err
	}
	return fmt.Errorf("merge: reading %s: %w", file, err)
}

package merge

import (
	"fmt"
	"sync/atomic"

	"github.com/gallra/gallra/pipeline/lake"
)

// asyncWriter hands the rows Apply writes to a goroutine that passes them,
// in the same order, to the lake's Writer: finding and decoding the rows
// (the k-way merge) and encoding them as Parquet (the Writer) run on two
// cores. The lake's files are the same as with direct writes.
type asyncWriter struct {
	w      *lake.Writer
	ch     chan []partRow
	free   chan []partRow // written buffers, for reuse
	buf    []partRow
	done   chan struct{}
	err    error // set by the goroutine before done closes
	failed atomic.Bool
	closed bool
}

type partRow struct {
	p      lake.Partition
	row    lake.Row
	finish bool // not a row: finish p's file (lake.Writer.Finish)
}

// asyncBatch is how many rows are handed over at a time.
const asyncBatch = 1024

func newAsyncWriter(w *lake.Writer) *asyncWriter {
	a := &asyncWriter{w: w, ch: make(chan []partRow, 4), free: make(chan []partRow, 6),
		buf: make([]partRow, 0, asyncBatch), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for rows := range a.ch {
			if a.err == nil { // else drain
				for i := range rows {
					var err error
					if rows[i].finish {
						err = w.Finish(rows[i].p)
					} else {
						err = w.Write(rows[i].p, rows[i].row)
					}
					if err != nil {
						a.err = fmt.Errorf("merge: %s: %w", rows[i].p, err)
						a.failed.Store(true)
						break
					}
				}
			}
			select {
			case a.free <- rows[:0]:
			default:
			}
		}
	}()
	return a
}

// Write queues a row. An error is that of an earlier row: the writes stop.
func (a *asyncWriter) Write(p lake.Partition, row lake.Row) error {
	return a.queue(partRow{p: p, row: row})
}

// Finish queues the finishing of p's file, after the rows queued before it.
func (a *asyncWriter) Finish(p lake.Partition) error {
	return a.queue(partRow{p: p, finish: true})
}

func (a *asyncWriter) queue(r partRow) error {
	if a.failed.Load() {
		return a.close()
	}
	a.buf = append(a.buf, r)
	if len(a.buf) == asyncBatch {
		a.ch <- a.buf
		select {
		case a.buf = <-a.free:
		default:
			a.buf = make([]partRow, 0, asyncBatch)
		}
	}
	return nil
}

// close writes what is queued, ends the goroutine and returns the first
// error. It may be called more than once.
func (a *asyncWriter) close() error {
	if !a.closed {
		a.closed = true
		if len(a.buf) > 0 {
			a.ch <- a.buf
			a.buf = nil
		}
		close(a.ch)
	}
	<-a.done
	return a.err
}

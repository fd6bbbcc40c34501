package lake

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/parquet-go/parquet-go"
)

// encoder runs a Writer's Parquet encoding on goroutines of its own. Write
// decides in its caller's goroutine everything that shapes the files: which
// file a row goes to, when a batch of rows is handed on, when a row group
// ends and when a file is finished. It hands the work that follows from
// each decision (parquet-go's encoding and compression, the writes, the
// footer, fsync) to the encoder, in the same order, so the files are byte
// for byte those of encoding in line. The merge of a night (merge.Apply)
// finds and decodes rows on one core while the lake's writer encodes them:
// encoding in line left the writer's goroutine the slower of the two.
//
// The encoder has a worker per core (at most maxEncoders); all of a file's
// jobs go to one worker, chosen by the file's number, so each file is still
// encoded in order by one goroutine. A single worker was the slowest stage
// of a night's merge, most of all when a source's files are finished
// together (Writer.Finish).
type encoder struct {
	jobs []chan encJob // by worker; a file's jobs go to jobs[pf.n%len(jobs)]
	free chan *valBuf  // encoded batches, for reuse
	wg   sync.WaitGroup

	mu     sync.Mutex
	err    error // the first error; later jobs only close their files
	closed bool  // jobs are closed
}

// maxEncoders bounds an encoder's workers.
const maxEncoders = 4

// encOp is what a job does after handing its rows (if any) to parquet-go.
type encOp uint8

const (
	opRows     encOp = iota // nothing more
	opRowGroup              // end the file's row group
	opClose                 // finish the file: footer, fsync, close
)

type encJob struct {
	pf  *partFile
	buf *valBuf // rows to encode, or nil
	op  encOp
}

// valBuf is a batch of up to batchRows rows as Parquet values, column by
// column: vals[col*batchRows+i] is row i's (see partFile.add).
type valBuf struct {
	vals  []parquet.Value
	bytes []byte // copies of the rows' UUIDs, which vals point into (strings are not copied: see partFile.setString)
	n     int    // rows
}

// encQueue is how many jobs may wait for each of the encoder's workers.
const encQueue = 16

func newEncoder() *encoder {
	n := min(runtime.GOMAXPROCS(0), maxEncoders)
	e := &encoder{free: make(chan *valBuf, n*encQueue+1)}
	for range n {
		jobs := make(chan encJob, encQueue)
		e.jobs = append(e.jobs, jobs)
		e.wg.Add(1)
		go e.run(jobs)
	}
	return e
}

func (e *encoder) run(jobs <-chan encJob) {
	defer e.wg.Done()
	for j := range jobs {
		if e.failed() == nil {
			if err := j.do(); err != nil {
				e.mu.Lock()
				if e.err == nil {
					e.err = err
				}
				e.mu.Unlock()
			}
		}
		if j.op == opClose && j.pf.f != nil {
			j.pf.f.Close() // after an error: the file is removed with the staging directory
			j.pf.f = nil
		}
		if j.buf != nil {
			j.buf.n, j.buf.bytes = 0, j.buf.bytes[:0]
			select {
			case e.free <- j.buf:
			default:
			}
		}
	}
}

// failed returns the encoder's first error.
func (e *encoder) failed() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// buffer returns an empty batch, an encoded one if there is one.
func (e *encoder) buffer() *valBuf {
	select {
	case b := <-e.free:
		return b
	default:
		return &valBuf{vals: make([]parquet.Value, batchRows*numColumns)}
	}
}

func (e *encoder) send(j encJob) { e.jobs[j.pf.n%len(e.jobs)] <- j }

// stop waits for the jobs sent so far and ends the workers; it returns the
// first error. It may be called more than once.
func (e *encoder) stop() error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		for _, jobs := range e.jobs {
			close(jobs)
		}
	}
	e.mu.Unlock()
	e.wg.Wait()
	return e.failed()
}

// do is one job, on the worker of its file.
func (j encJob) do() error {
	pf := j.pf
	if j.buf != nil && j.buf.n > 0 {
		if err := pf.encode(j.buf); err != nil {
			return err
		}
	}
	switch j.op {
	case opRowGroup:
		if err := pf.pw.Flush(); err != nil {
			return fmt.Errorf("lake: write %s: %w", pf.part.Dir(), err)
		}
	case opClose:
		err := pf.pw.Close()
		if err != nil {
			err = fmt.Errorf("lake: finish %s: %w", pf.part.Dir(), err)
		}
		if err == nil {
			if err = pf.f.Sync(); err != nil {
				err = fmt.Errorf("lake: fsync staged file: %w", err)
			}
		}
		if cerr := pf.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("lake: close staged file: %w", cerr)
		}
		pf.f, pf.pw = nil, nil
		return err
	}
	return nil
}

// writeChunk is how many rows encode hands each column at a time: what
// parquet-go's own WriteRows does (pages end only between such chunks), so
// the files are byte for byte those WriteRows would write.
const writeChunk = 64

// encode hands a batch's rows to parquet-go, column by column, straight
// into its column writers (the rows were already split into columns by add).
// The row group's row count is kept by the Writer (endRowGroup), not by
// parquet-go, which counts the first column's values when it writes one.
func (pf *partFile) encode(b *valBuf) error {
	cws := pf.pw.ColumnWriters()
	for i := 0; i < b.n; i += writeChunk {
		j := min(i+writeChunk, b.n)
		for col, cw := range cws {
			if _, err := cw.WriteRowValues(b.vals[col*batchRows+i : col*batchRows+j]); err != nil {
				return fmt.Errorf("lake: write %s: %w", pf.part.Dir(), err)
			}
		}
	}
	return nil
}

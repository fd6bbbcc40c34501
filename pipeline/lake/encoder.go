package lake

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

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
// The encoder has a worker per core (at most maxEncoders). A file's jobs
// wait in the file's own queue (partFile.jobs), and the file in ready
// while no worker has it: any free worker takes it and runs its jobs in
// order, so each file is still encoded in order by one goroutine at a time.
// Files used to be bound to a worker by their number; a worker held up by
// a write or an fsync then held up the Writer, with the jobs of the files
// bound to it, while the other worker had nothing to do (traces of a 10M
// night's merge: most of the 0.8-1.2 core-seconds the cores stood idle).
type encoder struct {
	ready chan *partFile // files with jobs and no worker
	slots chan struct{}  // one taken per job sent and not yet run: bounds the jobs waiting
	free  chan *valBuf   // encoded batches, for reuse
	wg    sync.WaitGroup

	// syncs are the finished files, for the syncer to fsync and close,
	// off the workers.
	syncs    chan syncJob
	syncDone chan struct{}

	mu     sync.Mutex  // guards err, closed, and each partFile's jobs and queued
	err    error       // the first error; later jobs only close their files
	bad    atomic.Bool // err is set: Writer.Write asks for every row, without the lock
	closed bool        // ready is closed
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

// encQueue is how many jobs may wait, for each of the encoder's workers.
const encQueue = 16

// syncJob is a finished file: written, footer and all, not yet fsynced.
type syncJob struct {
	f   *os.File
	dir string // the partition's directory, for errors
}

// syncQueue is how many finished files may wait for the syncer. A night
// finishes a source's files together: one per start year.
const syncQueue = 64

func newEncoder() *encoder {
	n := min(runtime.GOMAXPROCS(0), maxEncoders)
	e := &encoder{
		// Every file in ready has a job waiting, so ready never fills up.
		ready: make(chan *partFile, n*encQueue),
		slots: make(chan struct{}, n*encQueue),
		free:  make(chan *valBuf, n*encQueue+1),
		syncs: make(chan syncJob, syncQueue), syncDone: make(chan struct{})}
	go e.syncer()
	for range n {
		e.wg.Add(1)
		go e.run()
	}
	return e
}

// run takes files from ready and runs their jobs, until stop.
func (e *encoder) run() {
	defer e.wg.Done()
	for pf := range e.ready {
		for {
			e.mu.Lock()
			jobs := pf.jobs
			pf.jobs = nil
			if len(jobs) == 0 {
				pf.queued = false // the next send puts it in ready again
				e.mu.Unlock()
				break
			}
			e.mu.Unlock()
			for _, j := range jobs {
				e.runJob(j)
				<-e.slots
			}
		}
	}
}

func (e *encoder) runJob(j encJob) {
	if e.failed() == nil {
		if err := j.do(e.syncs); err != nil {
			e.fail(err)
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

// fail records err unless an error came first.
func (e *encoder) fail(err error) {
	e.mu.Lock()
	if e.err == nil {
		e.err = err
		e.bad.Store(true)
	}
	e.mu.Unlock()
}

// syncer fsyncs and closes the finished files, in the order they were
// finished, until stop.
func (e *encoder) syncer() {
	defer close(e.syncDone)
	for j := range e.syncs {
		err := j.f.Sync()
		if err != nil {
			err = fmt.Errorf("lake: fsync staged file of %s: %w", j.dir, err)
		}
		if cerr := j.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("lake: close staged file of %s: %w", j.dir, cerr)
		}
		if err != nil {
			e.fail(err)
		}
	}
}

// failed returns the encoder's first error.
func (e *encoder) failed() error {
	if !e.bad.Load() {
		return nil
	}
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

// send queues j after the jobs sent before it for the same file. It waits
// while encQueue jobs per worker wait.
func (e *encoder) send(j encJob) {
	e.slots <- struct{}{}
	pf := j.pf
	e.mu.Lock()
	pf.jobs = append(pf.jobs, j)
	wake := !pf.queued
	pf.queued = true
	e.mu.Unlock()
	if wake {
		e.ready <- pf
	}
}

// stop waits for the jobs sent so far and ends the workers; it returns the
// first error. It may be called more than once.
func (e *encoder) stop() error {
	e.mu.Lock()
	first := !e.closed
	if first {
		e.closed = true
		close(e.ready) // Write, the only sender, has stopped
	}
	e.mu.Unlock()
	e.wg.Wait()
	if first {
		close(e.syncs) // the workers, its only senders, have ended
	}
	<-e.syncDone
	return e.failed()
}

// do is one job, on the worker that has its file. A finished file goes to
// syncs.
func (j encJob) do(syncs chan<- syncJob) error {
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
		if err := pf.pw.Close(); err != nil {
			return fmt.Errorf("lake: finish %s: %w", pf.part.Dir(), err)
		}
		syncs <- syncJob{f: pf.f, dir: pf.part.Dir()}
		pf.f, pf.pw = nil, nil
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

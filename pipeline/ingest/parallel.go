package ingest

import (
	"errors"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/merge"
	"github.com/gallra/gallra/pipeline/source"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// A run reads its exports on every core while it stays deterministic:
//
//   - a reader goroutine per export (at most filesAhead+1 at a time, in
//     inbox order) hashes the file, opens it, binds its header and reads it
//     into chunks of chunkRows rows, which it hands both to the run's
//     converter workers and, in read order, to the file's own queue;
//   - workers (one per core) turn each chunk's rows into batch entries or
//     quarantine reasons (fileRun.convert: validation, pseudonyms,
//     minimisation), each with its own Pseudonymizer;
//   - the run's goroutine takes the files in inbox order and each file's
//     chunks in read order, waits for each chunk's conversion and only then
//     adds its entries to the batch, counts and quarantines, exactly as a
//     single goroutine reading row by row would.
//
// So the batch sees the same entries in the same order ("later file, later
// line wins" is the order of Add), the quarantine file and the report get
// the same lines in the same order, and the lake is byte for byte the one a
// serial run writes, whatever the number of workers. Every decision about a
// file (settle, duplicate, rejected) is still taken on the run's goroutine,
// in order; a reader only ever reads ahead, and a file decided against is
// abandoned. Memory stays bounded: each file holds at most chunksAhead
// chunks ahead of the run's goroutine.
const (
	chunkRows   = 512
	chunksAhead = 8
	filesAhead  = 2
)

// workers is the number of converter goroutines; a variable so that tests
// can compare runs with 1 and N workers (SetWorkers).
var workers = runtime.GOMAXPROCS(0)

// chunk is up to chunkRows consecutive records of one file.
type chunk struct {
	fr    *fileRun
	items []item
	// marks are the (records read, bytes read) points at which the file's
	// progress tracker is updated (every ProgressEvery records).
	marks []progressMark
	end   int64 // bytes read at the end of the chunk
	eof   bool  // the file ends with this chunk
	err   error // a whole-file error ended reading after the items
	done  chan struct{}
}

type progressMark struct {
	rows  int
	bytes int64
}

// item is one record: as read, then as converted.
type item struct {
	row    source.Row
	line   int
	entry  merge.Entry
	field  string // with reason: the record is quarantined
	reason string
}

// prepared is one export as its reader goroutine found it. Fields before
// ready is closed belong to the reader; after, they are read-only.
type prepared struct {
	src      *config.Source
	path     string
	rel      string
	ready    chan struct{} // stat, open and bind are done
	hashed   chan struct{} // sha256, bytes and hashErr are set
	stop     chan struct{} // closed by the run: the file is not wanted (any more)
	stopOnce sync.Once
	chunks   chan *chunk // in read order; closed after the last

	st      os.FileInfo
	statErr error
	sha256  string
	bytes   int64
	hashErr error
	openErr error
	enc     string
	delim   rune
	bindErr error
	fr      *fileRun
}

// abandon tells the file's reader to stop.
func (p *prepared) abandon() { p.stopOnce.Do(func() { close(p.stop) }) }

// readers runs the reader goroutines and the converter workers of one run.
type readers struct {
	r     *run
	files []*prepared
	next  int // files[:next] have been started
	work  chan *chunk
	quit  chan struct{}
	wg    sync.WaitGroup
	free  sync.Pool
	once  sync.Once
}

func (r *run) startReaders(files []*prepared) *readers {
	n := max(workers, 1)
	rd := &readers{r: r, files: files, work: make(chan *chunk, 2*n), quit: make(chan struct{})}
	for range n {
		pz := r.pz.Clone()
		rd.wg.Add(1)
		go func() {
			defer rd.wg.Done()
			for {
				select {
				case c := <-rd.work:
					c.convert(pz)
					close(c.done)
				case <-rd.quit:
					return
				}
			}
		}()
	}
	return rd
}

// get returns file i, starting its reader and those of the files after it up
// to filesAhead.
func (rd *readers) get(i int) *prepared {
	for rd.next < len(rd.files) && rd.next <= i+filesAhead {
		p := rd.files[rd.next]
		rd.next++
		rd.wg.Add(1)
		go func() {
			defer rd.wg.Done()
			rd.read(p)
		}()
	}
	return rd.files[i]
}

// stop abandons every file and waits for the goroutines to end. Safe to
// call more than once.
func (rd *readers) stop() {
	rd.once.Do(func() {
		for _, p := range rd.files[:rd.next] {
			p.abandon()
		}
		close(rd.quit)
		rd.wg.Wait()
	})
}

// read is one file's reader goroutine.
func (rd *readers) read(p *prepared) {
	defer close(p.chunks)
	p.st, p.statErr = os.Stat(p.path)
	if p.statErr != nil {
		close(p.hashed)
		close(p.ready)
		return
	}
	rd.wg.Add(1) // counted while this goroutine is: Add cannot race Wait
	go func() {
		defer rd.wg.Done()
		p.sha256, p.bytes, p.hashErr = hashFile(p.path)
		close(p.hashed)
	}()
	in, err := source.Open(p.path, source.Options{})
	if err != nil {
		p.openErr = err
		close(p.ready)
		return
	}
	defer in.Close()
	p.enc, p.delim = in.Encoding(), in.Delimiter()
	b, err := p.src.Schema.Bind(in.Header())
	if err != nil {
		p.bindErr = err
		close(p.ready)
		return
	}
	in.Select(b.Select)
	p.fr = newFileRun(rd.r, p.src, b, p.rel)
	close(p.ready)

	read := 0
	for {
		c, _ := rd.free.Get().(*chunk)
		if c == nil {
			c = &chunk{items: make([]item, 0, chunkRows)}
		}
		c.fr, c.done = p.fr, make(chan struct{})
		for len(c.items) < chunkRows {
			row, err := in.Next()
			if err == io.EOF {
				c.eof = true
				break
			}
			read++
			if read%ProgressEvery == 0 {
				c.marks = append(c.marks, progressMark{read, in.Offset()})
			}
			if err != nil {
				var re *source.RowError
				if errors.As(err, &re) {
					reason := re.Reason
					if reason == "" {
						reason = ReasonMalformed
					}
					c.items = append(c.items, item{line: re.Line, reason: reason})
					continue
				}
				c.err = err
				break
			}
			c.items = append(c.items, item{row: row, line: row.Line})
		}
		c.end = in.Offset()
		last := c.eof || c.err != nil // c is not ours once handed on
		select {
		case p.chunks <- c:
		case <-p.stop:
			return
		}
		select {
		case rd.work <- c:
		case <-rd.quit:
			return
		}
		if last {
			return
		}
	}
}

// recycle gives a consumed chunk back for reuse.
func (rd *readers) recycle(c *chunk) {
	clear(c.items)
	*c = chunk{items: c.items[:0], marks: c.marks[:0]}
	rd.free.Put(c)
}

// convert converts the chunk's records that were read.
func (c *chunk) convert(pz *pseudonym.Pseudonymizer) {
	for i := range c.items {
		it := &c.items[i]
		if it.reason != "" {
			continue
		}
		e, rej := c.fr.convert(pz, it.row)
		if rej != nil {
			it.field, it.reason = rej.field, rej.reason
		} else {
			it.entry = e
		}
		it.row = source.Row{} // the raw fields go no further
	}
}

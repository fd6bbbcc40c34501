package ingest

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/merge"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/slab"
	"github.com/gallra/gallra/pipeline/source"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// A run reads its exports on every core while it stays deterministic:
//
//   - a reader goroutine per export (at most filesAhead+1 files unfinished at
//     a time, started in inbox order) hashes the file, opens it, binds its
//     header and reads it into chunks of chunkRows rows, which it hands both
//     to the run's converter workers and, in read order, to the file's own
//     queue;
//   - workers (one per core) turn each chunk's rows into batch entries or
//     quarantine reasons (fileRun.convert: validation, pseudonyms,
//     minimisation), each with its own Pseudonymizer;
//   - the run's goroutine decides about each file in inbox order (settle,
//     duplicate, unreadable) and then takes every converted chunk of every
//     file being read as soon as it is ready, each file's chunks in read
//     order, and adds its entries to the batch, counts and holds its
//     quarantine entries. A file does not wait for the files before it: a
//     slow export (a large XLSX worksheet is one deflate stream, read by
//     one goroutine) no longer stops the others.
//
// The batch numbers every entry by its file's place in the night and its
// place in the file (entrySeq) and lets the highest number win
// (merge.Batch.AddAt), so "later file, later line wins" does not depend on
// the order entries arrive in; a file's entries are held (merge.Batch.Hold)
// until the file is settled, and dropped if it is rejected. Everything a
// run writes or says about the files (the quarantine file, the report, the
// log lines, progress, crash points) happens in inbox order as each file is
// settled (run.ingestFile), exactly as a single goroutine reading file by
// file and row by row would have done. So the lake is byte for byte the one
// a serial run writes, whatever the number of workers. Memory stays
// bounded: each file holds at most chunksAhead chunks ahead of the run's
// goroutine, and a file read ahead of its turn keeps only its counts and
// held quarantine entries.
const (
	chunkRows   = 512
	chunksAhead = 8
	filesAhead  = 2
)

// seqShift splits an entry's number: the file's place in the night above,
// the entry's place in the file below.
const seqShift = 40

// entrySeq is the batch number of the n-th entry of the night's i-th file.
func entrySeq(i int, n uint64) uint64 { return uint64(i)<<seqShift | n }

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
	hashed   chan struct{} // sha256, bytes and hashErr are set (for a streamed file, before its last chunk is handed on)
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
	// streamed: the file is hashed as it is read, so whether it is a
	// duplicate is decided when it has been read (run.ingestFile), not
	// before reading it.
	streamed bool
	readErr  error // a streamed file's file error, settled at its turn

	// The run's goroutine's view of the file (see readers.step).
	idx       int               // place in the night
	decided   bool              // admitted to the batch or settled without reading
	reading   bool              // admitted: its entries are being added
	finished  bool              // nothing more to read or decide: settled when its turn comes
	frep      *report.InputFile // the file's report
	outcome   func()            // logs a rejection or duplicate, in inbox order
	progress  bool              // the file gets a progress tracker
	events    []progressMark    // progress updates, handed on in inbox order
	head      *chunk            // the next chunk to take, maybe not converted yet
	n         uint64            // entries numbered so far
	finalised bool              // its turn has come (run.ingestFile)
}

// seqRange is the range of batch numbers of the file's entries.
func (p *prepared) seqRange() (from, to uint64) { return entrySeq(p.idx, 0), entrySeq(p.idx+1, 0) }

// update records a progress update of the file.
func (p *prepared) update(bytes int64, rows int) {
	p.events = append(p.events, progressMark{rows: rows, bytes: bytes})
}

// abandon tells the file's reader to stop.
func (p *prepared) abandon() { p.stopOnce.Do(func() { close(p.stop) }) }

// release drops what the run's goroutine kept of p until its turn: its held
// quarantine entries (written by then, or dropped with the file) and its
// progress updates. The run keeps every file's prepared to the end, so
// without this a night's held entries would all stay in memory: about 50 MB
// at 100M rows (benchmarks/RESULTS.md).
func (p *prepared) release() {
	if p.decided && p.fr != nil { // decided: the reader has set fr
		p.fr.held, p.fr.strs = nil, nil
	}
	p.events = nil
}

// settledHook, if set, is called with the night's files each time one has
// had its turn (for tests).
var settledHook func(files []*prepared)

// readers runs the reader goroutines and the converter workers of one run.
type readers struct {
	r       *run
	files   []*prepared
	next    int // files[:next] have been started
	active  int // started files not finished
	decided int // files[:decided] are decided
	first   int // files[:first] are finished
	work    chan *chunk
	notify  chan struct{} // something the run's goroutine waits for happened
	quit    chan struct{}
	wg      sync.WaitGroup
	free    sync.Pool
	once    sync.Once
}

// poke wakes the run's goroutine if it waits.
func (rd *readers) poke() {
	select {
	case rd.notify <- struct{}{}:
	default:
	}
}

func (r *run) startReaders(files []*prepared) *readers {
	n := max(workers, 1)
	rd := &readers{r: r, files: files, work: make(chan *chunk, 2*n), notify: make(chan struct{}, 1), quit: make(chan struct{})}
	for i, p := range files {
		p.idx = i
	}
	for range n {
		pz := r.pz.Clone()
		rd.wg.Add(1)
		go func() {
			defer rd.wg.Done()
			var sl slabs
			for {
				select {
				case c := <-rd.work:
					c.convert(pz, &sl)
					close(c.done)
					rd.poke()
				case <-rd.quit:
					return
				}
			}
		}()
	}
	return rd
}

// startMore starts the readers of the next files while fewer than
// filesAhead+1 are unfinished.
func (rd *readers) startMore() {
	for rd.next < len(rd.files) && rd.active <= filesAhead {
		p := rd.files[rd.next]
		rd.next++
		rd.active++
		rd.wg.Add(1)
		go func() {
			defer rd.wg.Done()
			rd.read(p)
		}()
	}
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
	defer rd.poke()
	defer close(p.chunks)
	p.st, p.statErr = os.Stat(p.path)
	if p.statErr != nil {
		close(p.hashed)
		close(p.ready)
		return
	}
	// Delimited text is hashed as it is read; the rest (XLSX, a file that
	// does not open) is hashed on a goroutine of its own.
	in, err := source.Open(p.path, source.Options{Digest: true})
	dg, _ := in.(source.Digester)
	if dg == nil {
		rd.wg.Add(1) // counted while this goroutine is: Add cannot race Wait
		go func() {
			defer rd.wg.Done()
			p.sha256, p.bytes, p.hashErr = hashFile(p.path)
			close(p.hashed)
			rd.poke()
		}()
	}
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
		if dg != nil {
			p.digest(dg) // not read: decide now, with the hash
		}
		close(p.ready)
		return
	}
	in.Select(b.Select)
	p.fr = newFileRun(rd.r, p.src, b, p.rel)
	p.streamed = dg != nil
	close(p.ready)
	rd.poke()

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
		if last && dg != nil {
			p.digest(dg) // before the last chunk: whoever takes it can read the hash
		}
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

// digest sets the hash of a file hashed as it was read.
func (p *prepared) digest(dg source.Digester) {
	sum, n, err := dg.Digest()
	p.sha256, p.bytes, p.hashErr = hex.EncodeToString(sum[:]), n, err
	close(p.hashed)
}

// recycle gives a consumed chunk back for reuse.
func (rd *readers) recycle(c *chunk) {
	clear(c.items)
	*c = chunk{items: c.items[:0], marks: c.marks[:0]}
	rd.free.Put(c)
}

// convert converts the chunk's records that were read.
func (c *chunk) convert(pz *pseudonym.Pseudonymizer, sl *slabs) {
	for i := range c.items {
		it := &c.items[i]
		if it.reason != "" {
			continue
		}
		e, rej := c.fr.convert(pz, sl, it.row)
		if rej != nil {
			it.field, it.reason = rej.field, rej.reason
		} else {
			it.entry = e
		}
		it.row = source.Row{} // the raw fields go no further
	}
}

// closed reports whether ch is closed, without waiting.
func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// step does on the run's goroutine what can be done now without waiting:
// start readers, decide about files in inbox order, and take the converted
// chunks of the files being read. It reports whether it did anything; the
// error is the run's (the batch could not spill).
func (rd *readers) step(batch *merge.Batch) (bool, error) {
	did := false
	rd.startMore()
	for rd.decided < rd.next && rd.decide(rd.files[rd.decided], batch) {
		rd.decided++
		did = true
	}
	for rd.first < rd.decided && rd.files[rd.first].finished {
		rd.first++
	}
	for _, p := range rd.files[rd.first:rd.decided] {
		if p.reading && !p.finished {
			d, err := rd.consume(p, batch)
			if err != nil {
				return true, err
			}
			did = did || d
		}
	}
	if did {
		rd.startMore()
	}
	return did, nil
}

// finish marks p as having nothing more to read.
func (rd *readers) finish(p *prepared) {
	if !p.finished {
		p.finished = true
		rd.active--
	}
}

// reject settles p as rejected: it stays in the inbox and none of its rows
// count.
func (rd *readers) reject(p *prepared, batch *merge.Batch, reason string, err error) {
	if p.reading {
		batch.DiscardRange(p.seqRange())
		p.reading = false
	}
	frep := p.frep
	frep.Status, frep.Reason, frep.Error = report.FileRejected, reason, err.Error()
	frep.Counts = report.Counts{Files: 1, RejectedFiles: 1, Quarantined: map[string]int{}}
	src, rel := p.src.Name, p.rel
	p.outcome = func() {
		rd.r.log.Error("file rejected; it stays in the inbox", "source", src, "file", rel, "reason", reason, "error", err.Error())
	}
	p.abandon()
	rd.finish(p)
}

// settleDuplicate records p's hash in its report and settles p as a
// duplicate if an export with the same content was ingested, by an earlier
// run or earlier in this one; it reports whether it did.
func (rd *readers) settleDuplicate(p *prepared, batch *merge.Batch) bool {
	frep := p.frep
	frep.SHA256, frep.Bytes = p.sha256, p.bytes
	if in, ok := rd.r.base.Input(frep.SHA256); ok {
		rd.duplicate(p, batch, "already ingested by run "+in.RunID+" as "+in.Name, "export already in the lake; skipped", "ingested_by", in.RunID)
		return true
	}
	if other, ok := rd.r.seen[frep.SHA256]; ok {
		rd.duplicate(p, batch, "same content as "+other+" in this run", "export delivered twice in this run; skipped", "same_as", other)
		return true
	}
	return false
}

// duplicate settles p as an export already ingested; what was read of it
// does not count.
func (rd *readers) duplicate(p *prepared, batch *merge.Batch, reason string, logMsg string, args ...any) {
	if p.reading {
		batch.DiscardRange(p.seqRange())
		p.reading = false
	}
	p.frep.Status, p.frep.Reason = report.FileDuplicate, reason
	p.frep.Counts = report.Counts{Files: 1, DuplicateFiles: 1, Quarantined: map[string]int{}}
	args = append([]any{"source", p.src.Name, "file", p.rel}, args...)
	p.outcome = func() { rd.r.log.Info(logMsg, args...) }
	p.abandon()
	rd.finish(p)
}

// decide takes the decisions about p that come before reading it, in the
// order a serial run takes them, and reports false if it cannot yet: p is not
// open and hashed, or an export before it with the same content (or whose
// content is not known yet) is not yet settled (p is a duplicate of it only
// if it was ingested). A streamed file is decided without its hash: whether
// it is a duplicate is settled at its turn (run.ingestFile).
func (rd *readers) decide(p *prepared, batch *merge.Batch) bool {
	if !closed(p.ready) || !p.streamed && !closed(p.hashed) {
		return false
	}
	if !p.streamed && p.statErr == nil && p.hashErr == nil {
		for _, q := range rd.files[:p.idx] {
			if q.finalised || q.statErr != nil {
				continue
			}
			if q.streamed && !closed(q.hashed) {
				return false // q's content is known once it is read
			}
			if q.hashErr == nil && q.sha256 == p.sha256 {
				return false
			}
		}
	}
	r := rd.r
	p.decided = true
	p.frep = &report.InputFile{Path: p.rel, Status: report.FileOK, Counts: report.Counts{Files: 1, Quarantined: map[string]int{}}}
	if p.statErr != nil {
		rd.reject(p, batch, "unreadable", p.statErr)
		return true
	}
	if age := r.now().Sub(p.st.ModTime()); age < r.job.Settle {
		rd.reject(p, batch, "still_being_written", fmt.Errorf("%s was modified %s ago, less than settle = %s: it may still be being written; the next run reads it", p.rel, age.Round(time.Second), r.job.Settle))
		return true
	}
	if !p.streamed && p.hashErr != nil {
		rd.reject(p, batch, "unreadable", p.hashErr)
		return true
	}
	frep := p.frep
	if p.streamed {
		frep.Bytes = p.st.Size() // for the progress display; the hash comes at the end
	} else if rd.settleDuplicate(p, batch) {
		return true
	}
	if p.openErr != nil {
		rd.reject(p, batch, fileReason(p.openErr, "unreadable"), p.openErr)
		return true
	}
	p.progress = true
	frep.Encoding, frep.Delimiter = p.enc, string(p.delim)
	if p.bindErr != nil {
		rd.reject(p, batch, "schema_drift", p.bindErr)
		return true
	}
	p.reading = true
	batch.Hold(p.seqRange())
	return true
}

// consume takes p's converted chunks, in read order, as far as they are
// converted.
func (rd *readers) consume(p *prepared, batch *merge.Batch) (bool, error) {
	did := false
	fr := p.fr
	for {
		c := p.head
		if c == nil {
			select {
			case next, ok := <-p.chunks:
				if !ok {
					rd.finish(p)
					return true, nil
				}
				c, p.head = next, next
			default:
				return did, nil
			}
		}
		select {
		case <-c.done:
		default:
			return did, nil
		}
		p.head, did = nil, true
		for j := range c.items {
			it := &c.items[j]
			fr.counts.Read++
			if it.reason != "" {
				fr.quarantine(it.line, it.field, it.reason)
				continue
			}
			if err := batch.AddAt(entrySeq(p.idx, p.n), it.entry); err != nil {
				return true, err
			}
			p.n++
			fr.counts.Accepted++
			if it.entry.Row.Pseudonym == nil {
				fr.counts.Unlinked++
			}
		}
		for _, m := range c.marks {
			p.update(m.bytes, m.rows)
		}
		if c.err != nil {
			if p.streamed {
				// Settled at its turn (run.ingestFile): an export already
				// ingested is reported as that first, as when it is hashed
				// before reading.
				p.readErr = c.err
				rd.finish(p)
				return true, nil
			}
			rd.reject(p, batch, fileReason(c.err, "unreadable"), c.err)
			return true, nil
		}
		eof := c.eof
		if eof {
			p.update(c.end, fr.counts.Read)
		}
		rd.recycle(c)
		if eof {
			rd.finish(p)
			return true, nil
		}
	}
}

// slabs hand out the pseudonyms and dates a converted row points to from
// shared allocations instead of one allocation each. A worker has its own;
// the values never change once set.
type slabs struct {
	pseud slab.Slab[[16]byte]
	dates slab.Slab[int32]
}

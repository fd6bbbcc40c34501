package lake

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/gallra/gallra/pipeline/atomicfile"
)

// StagingDir is the directory under the lake root where writers stage their
// files before Commit. Staged files end in ".parquet.tmp", so the reader glob
// '**/*.parquet' never matches them.
const StagingDir = "_staging"

// stagedSuffix ends every staged file name.
const stagedSuffix = ".parquet.tmp"

// Default writer limits; see [MaxRowsPerRowGroup], [MaxBufferedRows] and
// [MaxOpenFiles].
const (
	DefaultMaxRowsPerRowGroup = 1 << 20
	DefaultMaxBufferedRows    = 2 << 20
	DefaultMaxOpenFiles       = 128
)

// batchRows is how many rows a partition buffers before handing them to
// parquet-go in one call.
const batchRows = 256

// pageBufferSize is parquet-go's uncompressed page buffer per column. Smaller
// than its default (256 KiB) because a writer may hold many partitions open.
const pageBufferSize = 64 << 10

// zstdFastest compresses the lake's pages. Most of a file's bytes are
// random 16-byte pseudonyms and record keys, which no level compresses, so
// the fastest level costs 0.16% in size (a generated 1M-row night: 35.85 ->
// 35.91 MB) and saves about 5% of the Writer's CPU against parquet-go's
// default level (SpeedDefault, zstd level 3).
var zstdFastest = zstd.Codec{Level: zstd.SpeedFastest}

// FileInfo describes one file that Commit placed in the lake.
type FileInfo struct {
	Partition Partition
	Path      string // relative to the lake root, slash-separated
	Rows      int64
	Bytes     int64
	SHA256    string // lowercase hex of the final file's content
}

// An Option configures a Writer.
type Option func(*config)

type config struct {
	maxRowsPerRowGroup int64
	maxBufferedRows    int64
	maxOpenFiles       int
}

// MaxRowsPerRowGroup caps the rows in one Parquet row group (default
// DefaultMaxRowsPerRowGroup, 1Mi rows). A writer keeps the current row group
// of each open file in memory, compressed, until it is full.
func MaxRowsPerRowGroup(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxRowsPerRowGroup = n
		}
	}
}

// MaxBufferedRows bounds the rows a Writer holds in unfinished row groups
// over all open files (default DefaultMaxBufferedRows, 2Mi rows, roughly
// 100 MB). When the bound is passed, the largest unfinished row group is
// written out early, so row groups are smaller when many partitions fill at
// once.
func MaxBufferedRows(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBufferedRows = n
		}
	}
}

// MaxOpenFiles caps how many partition files a Writer keeps open at once
// (default DefaultMaxOpenFiles, 128). Each open file holds page buffers of up
// to about 1 MB besides its unfinished row group. When a row arrives for
// another partition, the least recently written file is finished and the
// partition gets a new file if more rows arrive for it later: input that
// alternates between more partitions than this limit makes many small files,
// so group such input by partition.
func MaxOpenFiles(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxOpenFiles = n
		}
	}
}

// A Writer writes rows into new Parquet files of one run, one or more files per
// partition, staged until Commit. A Writer is not safe for concurrent use.
type Writer struct {
	root     string // lake root
	runID    string
	stageDir string
	cfg      config

	open map[Partition]*partFile
	enc  *encoder  // encodes and writes the files; started with the first
	last *partFile // the open file written last, or nil
	// recent are open files by the low bits of their year: the merge
	// writes a source's rows in record key order, so the partition (the
	// start year) changes from row to row, and hashing it for the map of
	// open files was a quarter of Write's own cost.
	recent [16]*partFile
	staged []*partFile // finished files, waiting for Commit
	seq    int         // number of the next file
	inRG   int64       // rows in unfinished row groups of open files
	tick   uint64      // logical clock for least-recently-used eviction
	state  writerState
}

type writerState int

const (
	writing writerState = iota
	staged
	committed
	aborted
	failed
)

// partFile is one staged Parquet file of one partition.
type partFile struct {
	part    Partition
	n       int
	stage   string // staged file path
	f       *os.File
	out     *hashWriter
	pw      *parquet.Writer // used by the encoder only, once the file is open
	buf     *valBuf         // rows not yet handed to the encoder (1 to batchRows), or nil
	rows    int64           // rows in the file
	rgRows  int64           // rows in the current, unfinished row group
	lastUse uint64

	// The encoder's queue of the file (guarded by encoder.mu): jobs sent and
	// not yet taken by a worker, and whether the file is in the encoder's
	// ready channel or on a worker.
	jobs   []encJob
	queued bool

	yearFirst, yearNext int32 // the days of the partition's year: [yearFirst, yearNext)
}

// hashWriter counts and hashes what parquet-go writes to the file.
type hashWriter struct {
	f *os.File
	h hash.Hash
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// NewWriter returns a Writer for run runID into the lake at lakeDir, creating
// lakeDir if needed. It stages files under <lakeDir>/_staging/<runID>/, which
// must not exist yet: two writers of the same run ID never share a lake.
// runID must match [A-Za-z0-9][A-Za-z0-9._-]* (at most 128 bytes), because it
// becomes part of file names.
func NewWriter(lakeDir, runID string, opts ...Option) (*Writer, error) {
	if err := validRunID(runID); err != nil {
		return nil, err
	}
	cfg := config{
		maxRowsPerRowGroup: DefaultMaxRowsPerRowGroup,
		maxBufferedRows:    DefaultMaxBufferedRows,
		maxOpenFiles:       DefaultMaxOpenFiles,
	}
	for _, o := range opts {
		o(&cfg)
	}
	root := filepath.Clean(lakeDir)
	if err := os.MkdirAll(filepath.Join(root, StagingDir), 0o750); err != nil {
		return nil, fmt.Errorf("lake: create staging directory: %w", err)
	}
	stage := filepath.Join(root, StagingDir, runID)
	if err := os.Mkdir(stage, 0o750); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lake: run %s is already staged in %s (another writer, or a crashed run: see CleanStaging)", runID, stage)
		}
		return nil, fmt.Errorf("lake: create staging directory: %w", err)
	}
	return &Writer{
		root:     root,
		runID:    runID,
		stageDir: stage,
		cfg:      cfg,
		open:     make(map[Partition]*partFile),
	}, nil
}

func validRunID(id string) error {
	if id == "" || len(id) > 128 {
		return errors.New("lake: run ID must be 1 to 128 bytes")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return fmt.Errorf("lake: run ID %q: must match [A-Za-z0-9][A-Za-z0-9._-]*", id)
		}
	}
	return nil
}

// RunID returns the writer's run ID.
func (w *Writer) RunID() string { return w.runID }

// Write adds r to partition p. Rows are buffered per partition and written
// out as row groups fill; nothing is visible to readers before Commit.
// Write rejects an invalid partition or row with an error naming the field
// and the reason, never the value; the Writer stays usable after such an error.
// Any other error (I/O) leaves the Writer failed: only Abort remains.
func (w *Writer) Write(p Partition, r Row) error {
	if w.state != writing {
		return w.stateErr()
	}
	if w.enc != nil {
		if err := w.enc.failed(); err != nil {
			w.state = failed
			return err
		}
	}
	// Rows come in runs of one partition: the last file written is checked
	// first, before validating p and looking it up.
	pf := w.last
	if pf == nil || pf.part != p {
		if r := w.recent[p.StartYear&(len(w.recent)-1)]; r != nil && r.part == p {
			pf = r // open, so p was validated when it was opened
		} else {
			if err := p.Validate(); err != nil {
				return err
			}
			if p.Table != TablePseudonymised {
				return fmt.Errorf("lake: partition %s: a Writer writes rows of the pseudonymised table only (see StageFile)", p.Dir())
			}
			pf = w.open[p]
		}
	}
	var first, next int32 // days of the partition's year: [first, next)
	if pf != nil {
		first, next = pf.yearFirst, pf.yearNext
	} else {
		first, next = yearDays(p.StartYear)
	}
	if err := checkRow(first, next, &r); err != nil {
		return err
	}
	if pf == nil {
		var err error
		if pf, err = w.openFile(p); err != nil {
			w.state = failed
			return err
		}
	}
	w.last = pf
	w.recent[p.StartYear&(len(w.recent)-1)] = pf
	w.tick++
	pf.lastUse = w.tick

	if pf.buf == nil {
		pf.buf = w.enc.buffer()
	}
	pf.add(&r, w.runID)
	pf.rows++
	pf.rgRows++
	w.inRG++
	var err error
	switch {
	case pf.rgRows >= w.cfg.maxRowsPerRowGroup:
		err = w.endRowGroup(pf)
	case pf.buf.n == batchRows:
		w.enc.send(encJob{pf: pf, buf: pf.takeRows()})
	}
	if err == nil && w.inRG > w.cfg.maxBufferedRows {
		err = w.endRowGroup(w.largestRowGroup())
	}
	if err != nil {
		w.state = failed
		return err
	}
	return nil
}

// endRowGroup has pf's current row group written to its file. An error is
// the encoder's, from an earlier job.
func (w *Writer) endRowGroup(pf *partFile) error {
	w.enc.send(encJob{pf: pf, buf: pf.takeRows(), op: opRowGroup})
	w.inRG -= pf.rgRows
	pf.rgRows = 0
	return w.enc.failed()
}

// takeRows returns pf's buffered rows for an encoder job (nil if there are
// none); pf gets a buffer again with its next row.
func (pf *partFile) takeRows() *valBuf {
	b := pf.buf
	pf.buf = nil
	return b
}

// largestRowGroup returns the open file with the most unfinished rows, of
// several such the one started first: the choice must not depend on the
// map's order, or the same rows would make other row groups from run to run.
func (w *Writer) largestRowGroup() *partFile {
	var max *partFile
	for _, pf := range w.open {
		if max == nil || pf.rgRows > max.rgRows || pf.rgRows == max.rgRows && pf.n < max.n {
			max = pf
		}
	}
	return max
}

// RowError reports a row that the lake refuses. It names the column and a
// reason code, never the value.
type RowError struct {
	Field  string // column name
	Reason string // reason code, e.g. "missing", "zero", "not_in_partition_year"
}

func (e *RowError) Error() string {
	return "lake: invalid row: " + e.Field + ": " + e.Reason
}

// yearDays returns the first day of year y and of the year after, in days
// since 1970-01-01.
func yearDays(y int) (first, next int32) {
	return Date(time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC)), Date(time.Date(y+1, time.January, 1, 0, 0, 0, 0, time.UTC))
}

// checkRow checks r for a partition whose year's days are [first, next).
func checkRow(first, next int32, r *Row) error {
	if r.Pseudonym != nil {
		if *r.Pseudonym == ([16]byte{}) {
			return &RowError{"pseudonym", "zero"}
		}
		if r.KeyID == "" {
			return &RowError{"key_id", "missing"}
		}
	}
	switch r.IDKind {
	case IDPersonnummer, IDSamordningsnummer, IDReserve, IDBirthdate:
	case "":
		return &RowError{"id_kind", "missing"}
	default:
		return &RowError{"id_kind", "unknown"}
	}
	if r.Measure == "" {
		return &RowError{"measure", "missing"}
	}
	if r.PeriodStart < first || r.PeriodStart >= next {
		return &RowError{"period_start", "not_in_partition_year"}
	}
	if r.PeriodEnd != nil && *r.PeriodEnd < r.PeriodStart {
		return &RowError{"period_end", "before_start"}
	}
	if r.Sex != nil && *r.Sex != "K" && *r.Sex != "M" {
		return &RowError{"sex", "not_K_or_M"}
	}
	if r.AgeBand != nil && *r.AgeBand == "" {
		return &RowError{"age_band", "empty"}
	}
	if r.Municipality != nil && !fourDigits(*r.Municipality) {
		return &RowError{"municipality", "not_4_digits"}
	}
	if r.RecordKey == ([16]byte{}) {
		return &RowError{"record_key", "zero"}
	}
	return nil
}

func fourDigits(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// openFile starts a new staged file for p, first finishing the least recently
// written open file if the limit is reached.
func (w *Writer) openFile(p Partition) (*partFile, error) {
	if len(w.open) >= w.cfg.maxOpenFiles {
		var lru *partFile
		for _, pf := range w.open {
			if lru == nil || pf.lastUse < lru.lastUse {
				lru = pf
			}
		}
		if err := w.finish(lru); err != nil {
			return nil, err
		}
	}
	if w.enc == nil {
		w.enc = newEncoder()
	}
	n := w.seq
	w.seq++
	stage := filepath.Join(w.stageDir, strconv.Itoa(n)+stagedSuffix)
	f, err := os.OpenFile(stage, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lake: create staged file: %w", err)
	}
	out := &hashWriter{f: f, h: sha256.New()}
	pf := &partFile{
		part:  p,
		n:     n,
		stage: stage,
		f:     f,
		out:   out,
		pw: parquet.NewWriter(out,
			fileSchema,
			parquet.Compression(&zstdFastest),
			parquet.MaxRowsPerRowGroup(w.cfg.maxRowsPerRowGroup),
			parquet.PageBufferSize(pageBufferSize),
			// Statistics go into the column chunks and the column index,
			// not into every data page header as well: parquet-go computes
			// a page's bounds once for each, and readers (DuckDB's row
			// group pruning, the page index) use the other two.
			parquet.DataPageStatistics(false),
			parquet.CreatedBy("gallra", "lake", "v1"),
			parquet.KeyValueMetadata("gallra.partition", p.Dir()),
			parquet.KeyValueMetadata("gallra.run_id", w.runID),
		),
	}
	pf.yearFirst, pf.yearNext = yearDays(p.StartYear)
	w.open[p] = pf
	return pf, nil
}

// add appends r to the buffer as Parquet values, copying its byte arrays
// and keeping its strings (immutable, see setString), so that a caller may
// reuse whatever r points to as soon as Write returns.
func (pf *partFile) add(r *Row, runID string) {
	if r.Pseudonym != nil {
		pf.setBytes(colPseudonym, r.Pseudonym[:], 1)
	} else {
		pf.setNull(colPseudonym)
	}
	if r.KeyID != "" {
		pf.setString(colKeyID, r.KeyID, 1)
	} else {
		pf.setNull(colKeyID)
	}
	pf.setString(colIDKind, r.IDKind, 0)
	pf.setString(colMeasure, r.Measure, 0)
	pf.setInt32(colPeriodStart, r.PeriodStart, 0)
	pf.setOptInt32(colPeriodEnd, r.PeriodEnd)
	pf.setOptString(colSex, r.Sex)
	pf.setOptString(colAgeBand, r.AgeBand)
	pf.setOptString(colMunicipality, r.Municipality)
	pf.setBytes(colRecordKey, r.RecordKey[:], 0)
	id := r.RunID
	if id == "" {
		id = runID
	}
	pf.setString(colRunID, id, 0)
	pf.setOptInt32(colLinkableUntil, r.LinkableUntil)
	pf.buf.n++
}

// val returns the value of column col in the row being added. Values are
// kept column by column: pf.buf.vals[col*batchRows+i] is row i's.
func (pf *partFile) val(col int) *parquet.Value {
	return &pf.buf.vals[col*batchRows+pf.buf.n]
}

// setNull sets column col to null. Optional columns have definition level 1
// when present and 0 when null; required columns always 0.
func (pf *partFile) setNull(col int) {
	v := pf.val(col)
	*v = parquet.NullValue()
	v.SetColumnIndex(col)
}

func (pf *partFile) setInt32(col int, x int32, def int) {
	v := pf.val(col)
	*v = parquet.Int32Value(x)
	v.SetDefinitionLevel(def)
	v.SetColumnIndex(col)
}

func (pf *partFile) setOptInt32(col int, x *int32) {
	if x == nil {
		pf.setNull(col)
		return
	}
	pf.setInt32(col, *x, 1)
}

// setString sets a BYTE_ARRAY column to s without copying it: a string is
// immutable, and v's pointer keeps it reachable until the encoder has
// written it (parquet-go only reads a value's bytes, copying what it keeps).
// The strings of a row are few and mostly repeated (key ID, run ID, codes),
// so the copy was a third of what setting them cost.
func (pf *partFile) setString(col int, s string, def int) {
	v := pf.val(col)
	*v = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
	v.SetDefinitionLevel(def)
	v.SetColumnIndex(col)
}

func (pf *partFile) setOptString(col int, s *string) {
	if s == nil {
		pf.setNull(col)
		return
	}
	pf.setString(col, *s, 1)
}

// setBytes sets a FIXED_LEN_BYTE_ARRAY column.
func (pf *partFile) setBytes(col int, b []byte, def int) {
	buf := pf.buf
	start := len(buf.bytes)
	buf.bytes = append(buf.bytes, b...)
	v := pf.val(col)
	*v = parquet.FixedLenByteArrayValue(buf.bytes[start:len(buf.bytes):len(buf.bytes)])
	v.SetDefinitionLevel(def)
	v.SetColumnIndex(col)
}

// Finish completes partition p's open file now, as Stage would (its last
// row group, the footer, fsync, close); a later Write to p starts another
// file. A partition with no open file is left alone. A caller that writes
// partitions one after another (merge: one source at a time) finishes each
// when it is done with it, so that the encoding of the files' last rows and
// their fsyncs overlap the next partitions' rows instead of all waiting for
// Stage, with the cores idle. An error leaves the Writer failed.
func (w *Writer) Finish(p Partition) error {
	if w.state != writing {
		return w.stateErr()
	}
	pf := w.open[p]
	if pf == nil {
		return nil
	}
	if err := w.finish(pf); err != nil {
		w.state = failed
		return err
	}
	return nil
}

// finish has pf's file completed on disk (footer, fsync, close) and moves it
// from the open set to the staged list. An error is the encoder's, from an
// earlier job; Stage waits for the file and reports its own.
func (w *Writer) finish(pf *partFile) error {
	delete(w.open, pf.part)
	if w.last == pf {
		w.last = nil
	}
	if r := &w.recent[pf.part.StartYear&(len(w.recent)-1)]; *r == pf {
		*r = nil
	}
	w.inRG -= pf.rgRows
	pf.rgRows = 0
	w.enc.send(encJob{pf: pf, buf: pf.takeRows(), op: opClose})
	w.staged = append(w.staged, pf)
	return w.enc.failed()
}

// StagedFile is a finished, fsynced file waiting in the staging area, and
// where it belongs in the lake.
type StagedFile struct {
	FileInfo        // Path is the file's place in the lake (relative, slash-separated)
	Staged   string // where it waits, relative to the lake root, slash-separated
}

// Stage finishes every file (footer, fsync, close) and leaves it in the
// staging area, where no reader looks. It returns the files in the order they
// were started, each with its final place in the lake, for the caller to
// publish: with Commit directly, or through the manifest (see Publish). After
// Stage, only Abort remains (which removes the staged files).
func (w *Writer) Stage() ([]StagedFile, error) {
	if w.state != writing {
		return nil, w.stateErr()
	}
	w.state = failed // until proven otherwise
	for _, pf := range w.openInOrder() {
		if err := w.finish(pf); err != nil {
			return nil, err
		}
	}
	if w.enc != nil {
		if err := w.enc.stop(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(w.staged, func(a, b *partFile) int { return a.n - b.n })
	out := make([]StagedFile, 0, len(w.staged))
	for _, pf := range w.staged {
		staged, err := filepath.Rel(w.root, pf.stage)
		if err != nil {
			return nil, err
		}
		out = append(out, StagedFile{
			FileInfo: FileInfo{
				Partition: pf.part,
				Path:      path.Join(pf.part.Dir(), "part-"+w.runID+"-"+strconv.Itoa(pf.n)+".parquet"),
				Rows:      pf.rows,
				Bytes:     pf.out.n,
				SHA256:    hex.EncodeToString(pf.out.h.Sum(nil)),
			},
			Staged: filepath.ToSlash(staged),
		})
	}
	w.state = staged
	return out, nil
}

// StageFile stages one file that is not made of Rows — an anonymised or a
// frozen-aggregates file, for example — in the writer's staging area, for
// publishing together with the writer's own files (lakeop's Tx.AddStaged).
// write writes the whole file and returns its row count; StageFile hashes
// and counts the bytes, fsyncs the file and returns where it belongs:
// <p.Dir()>/<name>. name must look like "part-<something>.parquet" (letters,
// digits, '.', '_', '-') and be new in this run; p must be valid. The file
// is not among those Stage and Commit return, and Abort removes it with the
// rest. The caller makes sure that no two files of the run get the same
// place.
func (w *Writer) StageFile(p Partition, name string, write func(io.Writer) (rows int64, err error)) (StagedFile, error) {
	if w.state != writing {
		return StagedFile{}, w.stateErr()
	}
	if err := p.Validate(); err != nil {
		return StagedFile{}, err
	}
	if err := validFileName(name); err != nil {
		return StagedFile{}, err
	}
	n := w.seq // numbered like the writer's files, so names of several partitions never meet
	w.seq++
	stage := filepath.Join(w.stageDir, strconv.Itoa(n)+"-"+name+".tmp")
	f, err := os.OpenFile(stage, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return StagedFile{}, fmt.Errorf("lake: create staged file: %w", err)
	}
	out := &hashWriter{f: f, h: sha256.New()}
	rows, err := write(out)
	if err == nil {
		if err = f.Sync(); err != nil {
			err = fmt.Errorf("lake: fsync staged file: %w", err)
		}
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("lake: close staged file: %w", cerr)
	}
	if err != nil {
		os.Remove(stage)
		return StagedFile{}, err
	}
	staged, err := filepath.Rel(w.root, stage)
	if err != nil {
		return StagedFile{}, err
	}
	return StagedFile{
		FileInfo: FileInfo{Partition: p, Path: path.Join(p.Dir(), name), Rows: rows, Bytes: out.n,
			SHA256: hex.EncodeToString(out.h.Sum(nil))},
		Staged: filepath.ToSlash(staged),
	}, nil
}

// validFileName checks a StageFile name: part-<[A-Za-z0-9._-]+>.parquet.
func validFileName(name string) error {
	mid, ok := strings.CutPrefix(name, "part-")
	if ok {
		mid, ok = strings.CutSuffix(mid, ".parquet")
	}
	if !ok || mid == "" || len(name) > 200 {
		return fmt.Errorf("lake: staged file name %q: want part-<name>.parquet", name)
	}
	for i := 0; i < len(mid); i++ {
		c := mid[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("lake: staged file name %q: want part-<name>.parquet", name)
		}
	}
	return nil
}

// Commit stages every file and renames each into its partition directory as
// part-<runID>-<n>.parquet, fsyncs the directories it touched, and removes the
// run's staging directory. It returns the committed files in the order they
// were started. Commit does not record the files in a manifest: the ingest job
// uses Stage and Publish, which make a whole run appear at once.
//
// Each file appears in the lake atomically and complete; a run's files are
// renamed one after another, so a crash during Commit can leave some of them
// committed and the rest staged. On error, Commit returns the files it did
// commit together with the error; call Abort to remove the rest.
func (w *Writer) Commit() ([]FileInfo, error) {
	files, err := w.Stage()
	if err != nil {
		return nil, err
	}
	w.state = failed
	infos := make([]FileInfo, 0, len(files))
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(w.root, filepath.FromSlash(f.Path))); err == nil {
			return infos, fmt.Errorf("lake: %s already exists: files in the lake are never replaced", f.Path)
		}
		if err := moveIntoLake(w.root, f.Staged, f.Path); err != nil {
			return infos, err
		}
		infos = append(infos, f.FileInfo)
	}
	w.staged = nil
	if err := os.Remove(w.stageDir); err != nil {
		return infos, fmt.Errorf("lake: remove staging directory: %w", err)
	}
	w.state = committed
	return infos, nil
}

// moveIntoLake renames a staged file (relative to root) to its place in the
// lake, creating the partition directories, and fsyncs every directory whose
// entries changed, so the rename survives a crash.
func moveIntoLake(root, from, to string) error {
	dst := filepath.Join(root, filepath.FromSlash(to))
	dirs := make(map[string]bool)
	if err := mkdirs(root, filepath.Dir(dst), dirs); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(root, filepath.FromSlash(from)), dst); err != nil {
		return fmt.Errorf("lake: commit %s: %w", to, err)
	}
	dirs[filepath.Dir(dst)] = true
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		if err := atomicfile.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// mkdirs creates dir and any missing parents below the lake root, recording
// in changed each directory that gained an entry.
func mkdirs(root, dir string, changed map[string]bool) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != root {
		if err := mkdirs(root, parent, changed); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("lake: create partition directory: %w", err)
	}
	changed[parent] = true
	return nil
}

// openInOrder returns the open files ordered by file number, so that Commit
// is deterministic.
func (w *Writer) openInOrder() []*partFile {
	pfs := make([]*partFile, 0, len(w.open))
	for _, pf := range w.open {
		pfs = append(pfs, pf)
	}
	slices.SortFunc(pfs, func(a, b *partFile) int { return a.n - b.n })
	return pfs
}

// Abort discards everything the Writer staged. Files that a failed Commit
// already moved into the lake stay there. Abort after a successful Commit
// does nothing, so it can be deferred.
func (w *Writer) Abort() error {
	if w.state == committed || w.state == aborted {
		return nil
	}
	// After Stage the files belong to whoever publishes them; a staged
	// writer's directory is removed like any other.
	w.state = aborted
	if w.enc != nil {
		w.enc.stop() // its error does not matter: the files are removed below
	}
	for _, pf := range w.open {
		pf.f.Close() // the file is removed below; its error does not matter
	}
	w.open, w.staged = nil, nil
	if err := os.RemoveAll(w.stageDir); err != nil {
		return fmt.Errorf("lake: remove staging directory: %w", err)
	}
	return nil
}

func (w *Writer) stateErr() error {
	switch w.state {
	case committed:
		return errors.New("lake: writer already committed")
	case aborted:
		return errors.New("lake: writer aborted")
	case staged:
		return errors.New("lake: writer already staged its files")
	default:
		return errors.New("lake: writer failed; call Abort")
	}
}

// CleanStaging removes what crashed runs left under <lakeDir>/_staging. It
// must not run while a Writer on the same lake is active, whose staged files
// it would delete too.
func CleanStaging(lakeDir string) error {
	if err := os.RemoveAll(filepath.Join(filepath.Clean(lakeDir), StagingDir)); err != nil {
		return fmt.Errorf("lake: clean staging: %w", err)
	}
	return nil
}

package main

// The crash test: the real gallra binary, built with the gallra_crashtest
// tag so that GALLRA_CRASH_AT can stop it at a named point, is killed with
// SIGKILL at many moments of a night's run, then run again normally; the
// lake must then hold exactly what an uninterrupted night gives, with no
// duplicate, no temporary file and no file outside the manifest.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/source"
	"github.com/gallra/gallra/pipeline/synth"
	"github.com/gallra/gallra/schemas"
	"github.com/gallra/gallra/transforms/identity"
)

// crashDir holds the crash-test binary and the shared nights; TestMain
// removes it.
var crashDir struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if crashDir.dir != "" {
		os.RemoveAll(crashDir.dir)
	}
	os.Exit(code)
}

// crashBinary builds gallra with the gallra_crashtest tag, once per test
// binary. It skips the test under -short.
func crashBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and kills the real gallra binary; skipped with -short")
	}
	crashDir.once.Do(func() {
		crashDir.dir, crashDir.err = os.MkdirTemp("", "gallra-crashtest-")
		if crashDir.err != nil {
			return
		}
		bin := filepath.Join(crashDir.dir, "gallra")
		cmd := exec.Command("go", "build", "-tags", "gallra_crashtest", "-o", bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			crashDir.err = fmt.Errorf("go build -tags gallra_crashtest: %v\n%s", err, out)
			return
		}
		crashDir.bin = bin
	})
	if crashDir.err != nil {
		t.Fatal(crashDir.err)
	}
	return crashDir.bin
}

// crashJob is the head of the job file of every night, followed by
// synth.Sources (all seven sources): the default after_ingest (delete), no
// settle time. %q is the key file.
const crashJob = `reference_date = "2026-11-23"
settle = "0s"
[key]
file = %q
`

// proc is a started gallra process.
type proc struct {
	cmd     *exec.Cmd
	stderr  bytes.Buffer
	started time.Time
}

// exit is how a gallra process ended.
type exit struct {
	pid     int
	code    int            // exit status; -1 when a signal ended it
	signal  syscall.Signal // the signal that ended it, or 0
	err     error          // from Wait
	stderr  string
	elapsed time.Duration
}

func (e exit) String() string {
	if e.signal != 0 {
		return fmt.Sprintf("%v (%v)", e.signal, e.err)
	}
	return fmt.Sprintf("exit %d", e.code)
}

// startRun starts `gallra run` on the job folder dir; env adds to (and
// GALLRA_CRASH_AT is otherwise removed from) the test's environment.
func startRun(t *testing.T, bin, dir string, env ...string) *proc {
	t.Helper()
	// --no-retain: these tests kill the night's own commit; retain_test.go
	// kills retention's.
	p := &proc{cmd: exec.Command(bin, "--log-format", "json", "run", "--quiet", "--no-retain", "--config", filepath.Join(dir, "gallra.toml"))}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GALLRA_CRASH_AT=") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stderr = &p.stderr
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *proc) wait() exit {
	err := p.cmd.Wait()
	e := exit{pid: p.cmd.Process.Pid, code: p.cmd.ProcessState.ExitCode(), err: err, stderr: p.stderr.String(), elapsed: time.Since(p.started)}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.signal = ws.Signal()
	}
	return e
}

func runGallra(t *testing.T, bin, dir string, env ...string) exit {
	t.Helper()
	return startRun(t, bin, dir, env...).wait()
}

// committedExit reports whether code is one of a run that committed.
func committedExit(code int) bool {
	return code == report.ExitOK || code == report.ExitQuarantined || code == report.ExitRejected
}

// mustBeKilled fails unless the process was ended by SIGKILL (and did not
// exit by itself).
func mustBeKilled(t *testing.T, e exit) {
	t.Helper()
	if e.signal != syscall.SIGKILL || e.err == nil || e.err.Error() != "signal: killed" {
		t.Fatalf("the run was not killed by SIGKILL: %v\n%s", e, tail(e.stderr))
	}
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

// nights is the shared scenario: a lake after night 1, the inbox of night 2,
// and the lake after an uninterrupted night 2.
type nights struct {
	bin    string
	key    string
	base   string // job folder after night 1 (lake, inbox leftovers)
	night2 string // night 2's inbox
	ref    *lakeState
	refRep *report.Run
	gen1   string        // night 1's exports
	base1  *lakeState    // the lake after night 1
	d      time.Duration // wall time of an uninterrupted night 2
}

var shared struct {
	mu sync.Mutex
	n  *nights
}

// theNights builds the scenario once per test binary.
func theNights(t *testing.T) *nights {
	t.Helper()
	bin := crashBinary(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.n != nil {
		return shared.n
	}
	root, err := os.MkdirTemp(crashDir.dir, "nights-")
	if err != nil {
		t.Fatal(err)
	}
	n := &nights{bin: bin, key: filepath.Join(root, "gallra.key"), base: filepath.Join(root, "base"), night2: filepath.Join(root, "night2")}
	cli := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("gallra %v: %v\n%s", args, err, out)
		}
	}
	cli("key", "new", "--out", n.key)
	gen1, gen2 := filepath.Join(root, "gen1"), filepath.Join(root, "gen2")
	cli("generate", "--out", gen1, "--rows", "3000", "--seed", "11")
	cli("generate", "--out", gen2, "--rows", "3000", "--seed", "12")

	// Night 1: a clean run builds the base lake.
	copySources(t, gen1, filepath.Join(n.base, "inbox"), "")
	writeJob(t, n.base, n.key)
	if e := runGallra(t, bin, n.base); !committedExit(e.code) {
		t.Fatalf("night 1: %v\n%s", e, tail(e.stderr))
	}
	n.gen1 = gen1
	n.base1 = readLake(t, filepath.Join(n.base, "lake"))

	// Night 2's inbox: what night 1 left (its rejected files), a second
	// register snapshot, and deltas that end and correct participations
	// night 1 stored.
	copySources(t, filepath.Join(n.base, "inbox"), n.night2, "")
	copySources(t, gen2, n.night2, "night2-")
	writeDeltas(t, gen1, n.night2)

	// The reference: night 2 without interruption.
	dir := n.scenario(t, filepath.Join(root, "reference"))
	e := runGallra(t, bin, dir)
	if !committedExit(e.code) {
		t.Fatalf("clean night 2: %v\n%s", e, tail(e.stderr))
	}
	n.d = e.elapsed
	n.ref = readLake(t, filepath.Join(dir, "lake"))
	n.refRep = newReport(t, dir, nil)
	// Two more clean nights: the result does not depend on the run, and the
	// quickest gives the duration the time-based kills spread over.
	for i := range 2 {
		dir := n.scenario(t, filepath.Join(root, fmt.Sprintf("clean-%d", i)))
		e := runGallra(t, bin, dir)
		if !committedExit(e.code) {
			t.Fatalf("clean night 2: %v\n%s", e, tail(e.stderr))
		}
		checkLake(t, dir, n.ref)
		n.d = min(n.d, e.elapsed)
	}
	shared.n = n
	return n
}

// scenario makes a job folder at dir holding a copy of the lake after night 1
// and of night 2's inbox.
func (n *nights) scenario(t *testing.T, dir string) string {
	t.Helper()
	copyTree(t, filepath.Join(n.base, "lake"), filepath.Join(dir, "lake"))
	copyTree(t, n.night2, filepath.Join(dir, "inbox"))
	writeJob(t, dir, n.key)
	return dir
}

func writeJob(t *testing.T, dir, key string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gallra.toml"), []byte(fmt.Sprintf(crashJob, key)+synth.Sources), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copySources copies the exports in src/<source>/ to dst/<source>/prefix<name>.
func copySources(t *testing.T, src, dst, prefix string) {
	t.Helper()
	dirs, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(src, d.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			copyFile(t, filepath.Join(src, d.Name(), f.Name()), filepath.Join(dst, d.Name(), prefix+f.Name()))
		}
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o750)
		}
		copyFile(t, p, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, st.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

var crashRef = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// writeDeltas writes night 2's delta exports from night 1's: af_program rows
// under their own Ärende-ID with an end date filled in, a corrected
// programme, or a start date a year earlier (another partition); amea rows
// with an end date filled in.
func writeDeltas(t *testing.T, gen1, inbox string) {
	t.Helper()
	af, err := schemas.Lookup("af_program")
	if err != nil {
		t.Fatal(err)
	}
	n := [3]int{}
	delta(t, filepath.Join(gen1, "af_program", "af_program-export-20261123.csv"),
		filepath.Join(inbox, "af_program", "af_program-delta-20261124.csv"), ',',
		map[string]string{"id": "Personnummer", "rid": "Ärende-ID", "measure": "Program", "start": "Startdatum", "end": "Slutdatum"},
		func(f map[string]*string, start time.Time) bool {
			if _, ok := af.MapMeasure(*f["measure"]); !ok || *f["rid"] == "" {
				return false
			}
			switch {
			case n[0] < 10 && *f["end"] == "" && start.AddDate(0, 0, 30).Before(crashRef):
				*f["end"] = start.AddDate(0, 0, 30).Format("2006-01-02")
				n[0]++
			case n[1] < 10 && n[1] <= n[2]:
				if *f["measure"] == "Lönebidrag" {
					*f["measure"] = "Nystartsjobb"
				} else {
					*f["measure"] = "Lönebidrag"
				}
				n[1]++
			case n[2] < 10 && start.Year() >= 2018:
				*f["start"] = start.AddDate(-1, 0, 0).Format("2006-01-02")
				n[2]++
			default:
				return false
			}
			return true
		})
	if n != [3]int{10, 10, 10} {
		t.Fatalf("af_program delta: %v rows of each kind, want 10", n)
	}
	m := 0
	delta(t, filepath.Join(gen1, "amea", "amea-export-20261123.csv"),
		filepath.Join(inbox, "amea", "amea-delta-20261124.csv"), ';',
		map[string]string{"id": "Personnummer", "measure": "Åtgärd", "start": "Startdatum", "end": "Slutdatum"},
		func(f map[string]*string, start time.Time) bool {
			if m < 10 && *f["end"] == "" && start.AddDate(0, 0, 30).Before(crashRef) {
				*f["end"] = start.AddDate(0, 0, 30).Format("2006-01-02")
				m++
				return true
			}
			return false
		})
	if m != 10 {
		t.Fatalf("amea delta: %d rows, want 10", m)
	}
}

// delta copies the rows of src that edit accepts (after editing them) to a
// UTF-8 export dst with the same header. Only rows with a valid personnummer
// or samordningsnummer and ISO dates are offered.
func delta(t *testing.T, src, dst string, comma rune, cols map[string]string, edit func(map[string]*string, time.Time) bool) {
	t.Helper()
	in, err := source.Open(src, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	header := in.Header()
	pos := map[string]int{}
	for k, name := range cols {
		pos[k] = slices.Index(header, name)
		if pos[k] < 0 {
			t.Fatalf("%s has no column %s", src, name)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Comma = comma
	_ = w.Write(header)
	for {
		row, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil || row.NumFields != len(header) {
			continue
		}
		fields := map[string]*string{}
		for k, i := range pos {
			fields[k] = &row.Fields[i]
		}
		id, err := identity.Parse(*fields["id"], crashRef)
		if err != nil || (id.Kind != identity.Personnummer && id.Kind != identity.Samordningsnummer) {
			continue
		}
		start, err := time.Parse("2006-01-02", *fields["start"])
		if err != nil {
			continue
		}
		if e := *fields["end"]; e != "" {
			if _, err := time.Parse("2006-01-02", e); err != nil {
				continue
			}
		}
		if edit(fields, start) {
			_ = w.Write(row.Fields)
		}
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

// lakeState is what a test compares of a lake.
type lakeState struct {
	view     [][]string // SELECT * EXCLUDE (run_id) FROM lake (the manifest's files)
	glob     [][]string // the same over every *.parquet under the lake
	dups     string     // rows minus distinct record keys, over the glob
	manifest *lake.Manifest
	inbox    []string // exports left in the inbox, relative
}

const contentQuery = "SELECT * EXCLUDE (run_id) FROM %s ORDER BY record_key"

func readLake(t *testing.T, lakeDir string) *lakeState {
	t.Helper()
	ctx := context.Background()
	db, err := duck.Open(ctx, duck.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, lakeDir); err != nil {
		t.Fatal(err)
	}
	s := &lakeState{}
	q := func(sql string) [][]string {
		t.Helper()
		_, rows, err := duck.Query(ctx, db, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return rows
	}
	glob := "read_parquet(" + duck.LakeGlob(lakeDir) + ", hive_partitioning = true, union_by_name = true, hive_types = {'source': VARCHAR, 'start_year': INTEGER})"
	s.view = q(fmt.Sprintf(contentQuery, "lake"))
	s.glob = q(fmt.Sprintf(contentQuery, glob))
	s.dups = q("SELECT count(*) - count(DISTINCT record_key) FROM " + glob)[0][0]
	if s.manifest, err = lake.ReadManifest(lakeDir); err != nil {
		t.Fatal(err)
	}
	inbox := filepath.Join(filepath.Dir(lakeDir), "inbox")
	_ = filepath.WalkDir(inbox, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(inbox, p)
			s.inbox = append(s.inbox, filepath.ToSlash(rel))
		}
		return nil
	})
	return s
}

func sameRows(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("%s: row %d differs:\n got %v\nwant %v", what, i, got[i], want[i])
			return
		}
	}
}

// checkLake asserts that the job folder's lake is the reference lake: the
// same content through the manifest and through a raw glob, no duplicate
// record key, no leftovers, a finished manifest that lists exactly the data
// files on disk, each ingested export once, and the same exports left in the
// inbox.
func checkLake(t *testing.T, dir string, want *lakeState) {
	t.Helper()
	lakeDir := filepath.Join(dir, "lake")
	got := readLake(t, lakeDir)
	sameRows(t, "lake view (manifest)", got.view, want.view)
	sameRows(t, "raw glob over the lake", got.glob, want.view)
	if got.dups != "0" {
		t.Errorf("%s rows share a record key with another", got.dups)
	}
	checkLeftovers(t, lakeDir)
	m := got.manifest
	if m.Pending != nil {
		t.Errorf("manifest generation %d still has pending operations: %d renames, %d deletes", m.Generation, len(m.Pending.Renames), len(m.Pending.Deletes))
	}
	if m.Generation != want.manifest.Generation || len(m.Runs) != len(want.manifest.Runs) {
		t.Errorf("manifest generation %d with %d runs, want %d with %d", m.Generation, len(m.Runs), want.manifest.Generation, len(want.manifest.Runs))
	}
	var listed []string
	for _, f := range m.Files {
		listed = append(listed, f.Path)
	}
	onDisk := parquetFiles(t, lakeDir)
	if !slices.Equal(listed, onDisk) {
		t.Errorf("manifest lists %d files, the lake holds %d Parquet files; only listed: %v; only on disk: %v",
			len(listed), len(onDisk), few(without(listed, onDisk)), few(without(onDisk, listed)))
	}
	var hashes, wantHashes []string
	for i, in := range m.Inputs {
		hashes = append(hashes, in.SHA256)
		if i > 0 && m.Inputs[i-1].SHA256 == in.SHA256 {
			t.Errorf("export %s (%s) is in the manifest twice", in.Name, in.SHA256[:12])
		}
	}
	for _, in := range want.manifest.Inputs {
		wantHashes = append(wantHashes, in.SHA256)
	}
	sort.Strings(hashes)
	sort.Strings(wantHashes)
	if !slices.Equal(hashes, wantHashes) {
		t.Errorf("manifest inputs %d, want %d (the same exports as a clean night)", len(hashes), len(wantHashes))
	}
	if !slices.Equal(got.inbox, want.inbox) {
		t.Errorf("inbox holds %v, after a clean night %v", got.inbox, want.inbox)
	}
}

// checkLeftovers fails on anything a crashed run may leave behind: entries in
// _staging, *.tmp files anywhere, orphans moved aside.
func checkLeftovers(t *testing.T, lakeDir string) {
	t.Helper()
	if entries, err := os.ReadDir(filepath.Join(lakeDir, lake.StagingDir)); err == nil && len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %v", lake.StagingDir, names)
	}
	_ = filepath.WalkDir(lakeDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(d.Name(), ".tmp") {
			t.Errorf("temporary file left in the lake: %s", p)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(lakeDir, lake.MetaDir, "orphans")); err == nil {
		t.Errorf("%s/orphans exists: a data file was outside the manifest", lake.MetaDir)
	}
}

// parquetFiles lists every *.parquet file under the lake, sorted, relative.
func parquetFiles(t *testing.T, lakeDir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(lakeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
			rel, _ := filepath.Rel(lakeDir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// reports lists the run reports in the job folder's reports directory.
func reports(t *testing.T, dir string) map[string]bool {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "reports", "run-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, p := range paths {
		out[p] = true
	}
	return out
}

// newReport reads the one run report that is not in before.
func newReport(t *testing.T, dir string, before map[string]bool) *report.Run {
	t.Helper()
	var fresh []string
	for p := range reports(t, dir) {
		if !before[p] {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) != 1 {
		t.Fatalf("want one new run report, found %v", fresh)
	}
	r, err := report.ReadJSON(fresh[0])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// lockHolder reads the holder record a run left in the lake's lock file;
// nil when none (released normally, or never taken).
func lockHolder(t *testing.T, lakeDir string) *lake.LockHolder {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lakeDir, lake.MetaDir, lake.LockFile))
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var h lake.LockHolder
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("lock file: %v", err)
	}
	return &h
}

// few shows at most three items of a list.
func few(s []string) string {
	if len(s) > 3 {
		return fmt.Sprintf("%v … (%d in all)", s[:3], len(s))
	}
	return fmt.Sprint(s)
}

// without returns the items of a that are not in b.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func recString(r lake.Recovery) string {
	return fmt.Sprintf("{rolled forward %d, discarded %v, %d orphans}", r.RolledForward, r.DiscardedRuns, len(r.Orphans))
}

// killPoint is one moment at which night 2 is killed.
type killPoint struct {
	name  string
	crash string        // GALLRA_CRASH_AT, or ""
	after time.Duration // else: SIGKILL this long after the start
	// for crash points: is it past the commit point, and has the run staged
	// files by then?
	committed, staged bool
}

func TestCrashAnywhereThenRerunGivesTheCleanLake(t *testing.T) {
	n := theNights(t)
	rep := n.refRep

	// The reference itself: night 2 inserts, updates, moves participations
	// to another start year, and so renames and deletes files at its commit.
	var ins, upd, moved int
	for _, p := range rep.Partitions {
		ins, upd, moved = ins+p.Inserted, upd+p.Updated, moved+p.MovedOut
	}
	if ins == 0 || upd < 30 || moved < 10 || len(rep.LakeFiles) < 2 || len(rep.Superseded) < 2 {
		t.Fatalf("night 2 must insert, update and move: inserted %d, updated %d, moved out %d, %d files written, %d superseded",
			ins, upd, moved, len(rep.LakeFiles), len(rep.Superseded))
	}
	if n.ref.manifest.Generation != 2 || len(n.ref.manifest.Runs) != 2 {
		t.Fatalf("reference manifest generation %d, runs %v", n.ref.manifest.Generation, n.ref.manifest.Runs)
	}
	t.Run("reference", func(t *testing.T) {
		sameRows(t, "reference: glob against manifest", n.ref.glob, n.ref.view)
		if n.ref.dups != "0" {
			t.Errorf("reference: %s duplicate record keys", n.ref.dups)
		}
		checkLeftovers(t, filepath.Join(filepath.Dir(filepath.Dir(rep.Quarantine)), "lake"))
		if rep.Recovery != nil {
			t.Errorf("a night after a clean night reports a recovery: %s", recString(*rep.Recovery))
		}
	})

	files := 0
	for _, s := range rep.Sources {
		files += len(s.Files)
	}
	points := []killPoint{
		{name: "file-read#1", crash: "file-read#1"},
		{name: "file-read#3", crash: "file-read#3"},
		{name: "file-read#6", crash: "file-read#6"},
		{name: "file-read-last", crash: fmt.Sprintf("file-read#%d", files)},
		{name: "merged", crash: "merged", staged: true},
		{name: "publish-before-manifest", crash: "publish-before-manifest", staged: true},
		{name: "commit-point", crash: "manifest-before-rename#1", staged: true},
		{name: "publish-after-manifest", crash: "publish-after-manifest", committed: true, staged: true},
		{name: "publish-rename#1", crash: "publish-rename#1", committed: true, staged: true},
		{name: "publish-rename#2", crash: "publish-rename#2", committed: true, staged: true},
		{name: "publish-rename-last", crash: fmt.Sprintf("publish-rename#%d", len(rep.LakeFiles)), committed: true, staged: true},
		{name: "publish-delete#1", crash: "publish-delete#1", committed: true, staged: true},
		{name: "publish-delete-last", crash: fmt.Sprintf("publish-delete#%d", len(rep.Superseded)), committed: true, staged: true},
		{name: "publish-before-clear", crash: "publish-before-clear", committed: true, staged: true},
		{name: "clear-manifest", crash: "manifest-before-rename#2", committed: true, staged: true},
	}
	for k := 1; k <= 9; k++ {
		points = append(points, killPoint{name: fmt.Sprintf("time-%d0pct", k), after: n.d * time.Duration(k) / 10})
	}
	t.Logf("an uninterrupted night 2 takes %v; %d kill points", n.d.Round(time.Millisecond), len(points))

	for _, kp := range points {
		t.Run(kp.name, func(t *testing.T) {
			dir := n.scenario(t, t.TempDir())
			lakeDir := filepath.Join(dir, "lake")
			var e exit
			if kp.crash != "" {
				e = runGallra(t, n.bin, dir, "GALLRA_CRASH_AT="+kp.crash)
				mustBeKilled(t, e)
			} else {
				p := startRun(t, n.bin, dir)
				timer := time.AfterFunc(kp.after, func() { _ = p.cmd.Process.Signal(syscall.SIGKILL) })
				e = p.wait()
				timer.Stop()
				switch {
				case e.signal != 0:
					mustBeKilled(t, e)
				case committedExit(e.code):
					t.Logf("the run had finished (%v) before the kill at %v: a valid point, nothing to recover", e, kp.after.Round(time.Millisecond))
				default:
					t.Fatalf("uninterrupted run: %v\n%s", e, tail(e.stderr))
				}
			}
			dead := ""
			if h := lockHolder(t, lakeDir); h != nil {
				if e.signal != 0 && h.PID != e.pid {
					t.Errorf("the lock names pid %d, the killed run was %d", h.PID, e.pid)
				}
				dead = h.RunID
			}
			if kp.crash != "" && dead == "" {
				t.Fatal("a run killed inside its work left no holder record in the lock")
			}
			if kp.crash != "" && !kp.committed {
				// Before the commit point the lake is still night 1's.
				sameRows(t, "lake after a kill before the commit point", readLake(t, lakeDir).view, n.base1.view)
			}

			before := reports(t, dir)
			again := runGallra(t, n.bin, dir)
			if !committedExit(again.code) {
				t.Fatalf("re-run: %v\n%s", again, tail(again.stderr))
			}
			checkLake(t, dir, n.ref)

			rr := newReport(t, dir, before)
			m, err := lake.ReadManifest(lakeDir)
			if err != nil {
				t.Fatal(err)
			}
			rec := lake.Recovery{}
			if rr.Recovery != nil {
				rec = *rr.Recovery
			}
			for _, d := range rec.DiscardedRuns {
				if slices.Contains(m.Runs, d) {
					t.Errorf("the re-run reports discarding the staging of run %s, which committed", d)
				}
			}
			if len(rec.Orphans) > 0 {
				t.Errorf("the re-run found %d orphans: %v", len(rec.Orphans), few(rec.Orphans))
			}
			if dead != "" && !strings.Contains(rr.StaleLock, dead) {
				t.Errorf("re-run stale_lock = %q, want the killed run %s", rr.StaleLock, dead)
			}
			committed := dead != "" && slices.Contains(m.Runs, dead)
			switch {
			case kp.crash != "" && kp.committed:
				if !committed {
					t.Errorf("killed past its commit point, run %s is not among the committed runs %v", dead, m.Runs)
				}
				if rec.RolledForward != n.ref.manifest.Generation {
					t.Errorf("re-run recovery %s: want rolled forward generation %d", recString(rec), n.ref.manifest.Generation)
				}
			case kp.crash != "":
				if committed {
					t.Errorf("killed before its commit point, run %s committed", dead)
				}
				if rec.RolledForward != 0 {
					t.Errorf("re-run rolled forward %d after a kill before the commit point", rec.RolledForward)
				}
				if kp.staged && !slices.Contains(rec.DiscardedRuns, dead) {
					t.Errorf("re-run recovery %s: want the killed run %s's staging discarded", recString(rec), dead)
				}
			default:
				if !committed && rec.RolledForward != 0 {
					t.Errorf("rolled forward %d, but the killed run %q never committed", rec.RolledForward, dead)
				}
				t.Logf("killed at %v: %v; killed run committed: %v; recovery %s", kp.after.Round(time.Millisecond), e, committed, recString(rec))
			}
		})
	}
}

// readHolder is lockHolder without failing: a holder record being written
// reads as none.
func readHolder(lakeDir string) *lake.LockHolder {
	b, err := os.ReadFile(filepath.Join(lakeDir, lake.MetaDir, lake.LockFile))
	if err != nil {
		return nil
	}
	var h lake.LockHolder
	if json.Unmarshal(b, &h) != nil || h.RunID == "" {
		return nil
	}
	return &h
}

// digest maps every file under the folders to a hash of its content.
func digest(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				out[p] = "dir"
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[p] = fmt.Sprintf("%x", sha256.Sum256(b))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sameDigest(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for p, h := range want {
		if got[p] != h {
			t.Errorf("%s: %s changed (%q -> %q)", what, p, h, got[p])
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: %s appeared", what, p)
		}
	}
}

// waitStopped waits until the process is in the stopped state: a SIGSTOP is
// delivered asynchronously, and the process may go on for a moment after
// kill(2) returns. Without /proc it waits a generous while instead.
func waitStopped(pid int) bool {
	stat := fmt.Sprintf("/proc/%d/stat", pid)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			time.Sleep(500 * time.Millisecond)
			return true
		}
		// "pid (comm) S ...": the state follows the last ')'.
		if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't') {
			return true
		}
	}
	return false
}

func TestConcurrentRuns(t *testing.T) {
	n := theNights(t)

	t.Run("lock held", func(t *testing.T) {
		dir := n.scenario(t, t.TempDir())
		lakeDir := filepath.Join(dir, "lake")
		const holder = "20261123T040000Z-0c0c0c"
		l, err := lake.AcquireLock(lakeDir, holder)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		before := digest(t, lakeDir, filepath.Join(dir, "inbox"))
		e := runGallra(t, n.bin, dir)
		if e.code != report.ExitLocked {
			t.Fatalf("a run on a locked lake: %v, want exit %d\n%s", e, report.ExitLocked, tail(e.stderr))
		}
		if !strings.Contains(e.stderr, "run "+holder) {
			t.Errorf("the refusal does not name the holder run %s:\n%s", holder, tail(e.stderr))
		}
		sameDigest(t, "lake and inbox after a locked-out run", digest(t, lakeDir, filepath.Join(dir, "inbox")), before)
		if rep := newReport(t, dir, nil); rep.Outcome != report.OutcomeLocked || !rep.Locked {
			t.Errorf("locked-out run's report: outcome %q, locked %v", rep.Outcome, rep.Locked)
		}
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		if e := runGallra(t, n.bin, dir); !committedExit(e.code) {
			t.Fatalf("after the lock was released: %v\n%s", e, tail(e.stderr))
		}
		checkLake(t, dir, n.ref)
	})

	t.Run("while another run works", func(t *testing.T) {
		// Run A is stopped (SIGSTOP) while it holds the lock, so that run B
		// certainly meets it; then A goes on.
		for attempt := 1; ; attempt++ {
			dir := n.scenario(t, t.TempDir())
			lakeDir := filepath.Join(dir, "lake")
			a := startRun(t, n.bin, dir)
			aDone := make(chan exit, 1)
			go func() { aDone <- a.wait() }()
			var h *lake.LockHolder
		poll:
			for {
				select {
				case e := <-aDone:
					aDone <- e
					break poll
				default:
				}
				if h = readHolder(lakeDir); h != nil && h.PID == a.cmd.Process.Pid {
					break
				}
				time.Sleep(200 * time.Microsecond)
			}
			stopped := false
			if h != nil && a.cmd.Process.Signal(syscall.SIGSTOP) == nil {
				stopped = waitStopped(a.cmd.Process.Pid)
				if h2 := readHolder(lakeDir); !stopped || h2 == nil || h2.PID != a.cmd.Process.Pid {
					stopped = false // it released the lock before it stopped
					_ = a.cmd.Process.Signal(syscall.SIGCONT)
				}
			}
			if !stopped {
				<-aDone
				if attempt == 5 {
					t.Fatal("five runs finished before the test saw them holding the lock")
				}
				continue
			}
			before := digest(t, lakeDir)
			reps := reports(t, dir)
			b := runGallra(t, n.bin, dir)
			if b.code != report.ExitLocked {
				t.Errorf("run B while A holds the lake: %v, want exit %d\n%s", b, report.ExitLocked, tail(b.stderr))
			}
			if !strings.Contains(b.stderr, "run "+h.RunID) {
				t.Errorf("run B's refusal does not name run A (%s):\n%s", h.RunID, tail(b.stderr))
			}
			if rb := newReport(t, dir, reps); rb.Outcome != report.OutcomeLocked {
				t.Errorf("run B's report: outcome %q", rb.Outcome)
			}
			sameDigest(t, "lake after run B was refused", digest(t, lakeDir), before)
			_ = a.cmd.Process.Signal(syscall.SIGCONT)
			ea := <-aDone
			if !committedExit(ea.code) {
				t.Fatalf("run A after it was continued: %v\n%s", ea, tail(ea.stderr))
			}
			checkLake(t, dir, n.ref)
			return
		}
	})

	t.Run("same moment", func(t *testing.T) {
		for attempt := 1; ; attempt++ {
			dir := n.scenario(t, t.TempDir())
			a, b := startRun(t, n.bin, dir), startRun(t, n.bin, dir)
			var ea, eb exit
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); ea = a.wait() }()
			go func() { defer wg.Done(); eb = b.wait() }()
			wg.Wait()
			checkLake(t, dir, n.ref)
			switch {
			case ea.code == report.ExitLocked && committedExit(eb.code), eb.code == report.ExitLocked && committedExit(ea.code):
				return
			case committedExit(ea.code) && committedExit(eb.code):
				t.Logf("attempt %d: the two runs did not overlap (%v, %v)", attempt, ea, eb)
				if attempt == 3 {
					t.Fatal("three pairs of runs started together never met at the lock")
				}
			default:
				t.Fatalf("two runs at once: %v and %v; want one committed and one exit %d\nA:\n%s\nB:\n%s",
					ea, eb, report.ExitLocked, tail(ea.stderr), tail(eb.stderr))
			}
		}
	})
}

func TestStaleLock(t *testing.T) {
	n := theNights(t)
	dir := n.scenario(t, t.TempDir())
	lakeDir := filepath.Join(dir, "lake")
	e := runGallra(t, n.bin, dir, "GALLRA_CRASH_AT=merged")
	mustBeKilled(t, e)
	h := lockHolder(t, lakeDir)
	if h == nil || h.PID != e.pid || h.RunID == "" {
		t.Fatalf("the killed run's holder record: %+v (pid %d)", h, e.pid)
	}

	reps := reports(t, dir)
	if again := runGallra(t, n.bin, dir); !committedExit(again.code) {
		t.Fatalf("the run after a dead one: %v\n%s", again, tail(again.stderr))
	}
	rep := newReport(t, dir, reps)
	if !strings.Contains(rep.StaleLock, "run "+h.RunID) || !strings.Contains(rep.StaleLock, fmt.Sprintf("pid %d", h.PID)) {
		t.Errorf("stale_lock = %q, want the dead run %s (pid %d)", rep.StaleLock, h.RunID, h.PID)
	}
	if rep.Recovery == nil || !slices.Contains(rep.Recovery.DiscardedRuns, h.RunID) {
		t.Errorf("recovery %v: want the dead run's staging discarded", rep.Recovery)
	}
	checkLake(t, dir, n.ref)
	if h := lockHolder(t, lakeDir); h != nil {
		t.Errorf("a finished run left a holder record: %+v", h)
	}

	// A lock released normally is not stale, and a clean night leaves
	// nothing to recover.
	reps = reports(t, dir)
	if e := runGallra(t, n.bin, dir); !committedExit(e.code) {
		t.Fatalf("third night: %v\n%s", e, tail(e.stderr))
	}
	if rep := newReport(t, dir, reps); rep.StaleLock != "" || rep.Recovery != nil {
		t.Errorf("after a clean run: stale_lock %q, recovery %+v", rep.StaleLock, rep.Recovery)
	}
}

// TestInterruptedWritesLeaveNoTempFiles plants what a kill inside a file
// write leaves (no crash point reaches inside one): a manifest and a run log
// written but not yet renamed, a half-staged data file. The next run must
// clean them all up.
func TestInterruptedWritesLeaveNoTempFiles(t *testing.T) {
	n := theNights(t)
	dir := n.scenario(t, t.TempDir())
	lakeDir := filepath.Join(dir, "lake")
	for _, p := range []string{
		filepath.Join(lake.MetaDir, lake.ManifestFile+".123456.tmp"),
		filepath.Join(lake.MetaDir, "runs", ".report-123456.tmp"),
		filepath.Join(lake.StagingDir, "20261123T050000Z-dead00", "0.parquet.tmp"),
	} {
		p = filepath.Join(lakeDir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(`{"half": `), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if e := runGallra(t, n.bin, dir); !committedExit(e.code) {
		t.Fatalf("run: %v\n%s", e, tail(e.stderr))
	}
	checkLake(t, dir, n.ref)
}

// TestCrashTwice kills night 2, then kills the run that recovers from it,
// then lets a third run finish: still the clean night's lake.
func TestCrashTwice(t *testing.T) {
	n := theNights(t)
	for _, c := range []struct {
		first, second string
		committed     bool // the first kill is past the commit point
	}{
		{"merged", "file-read#2", false},
		{"manifest-before-rename#1", "merged", false},
		{"publish-rename#2", "publish-rename#3", true},             // the second inside the roll-forward
		{"publish-delete#1", "publish-delete#2", true},             // the same
		{"manifest-before-rename#2", "publish-before-clear", true}, // the roll-forward's own clear
	} {
		t.Run(c.first+"+"+c.second, func(t *testing.T) {
			dir := n.scenario(t, t.TempDir())
			lakeDir := filepath.Join(dir, "lake")
			var dead []string
			for _, at := range []string{c.first, c.second} {
				mustBeKilled(t, runGallra(t, n.bin, dir, "GALLRA_CRASH_AT="+at))
				h := lockHolder(t, lakeDir)
				if h == nil {
					t.Fatalf("no holder record after the kill at %s", at)
				}
				dead = append(dead, h.RunID)
			}
			reps := reports(t, dir)
			if e := runGallra(t, n.bin, dir); !committedExit(e.code) {
				t.Fatalf("third run: %v\n%s", e, tail(e.stderr))
			}
			checkLake(t, dir, n.ref)
			rep := newReport(t, dir, reps)
			if !strings.Contains(rep.StaleLock, "run "+dead[1]) {
				t.Errorf("stale_lock %q, want the second dead run %s", rep.StaleLock, dead[1])
			}
			m, err := lake.ReadManifest(lakeDir)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(m.Runs, dead[0]); got != c.committed {
				t.Errorf("first killed run committed: %v, want %v", got, c.committed)
			}
			rec := lake.Recovery{}
			if rep.Recovery != nil {
				rec = *rep.Recovery
			}
			if c.committed && rec.RolledForward != n.ref.manifest.Generation {
				t.Errorf("third run's recovery %s: want generation %d rolled forward", recString(rec), n.ref.manifest.Generation)
			}
		})
	}
}

// TestCrashOnTheFirstNight kills the very first run of a new lake, before and
// after its first commit point: the re-run gives the lake a clean first night
// gives.
func TestCrashOnTheFirstNight(t *testing.T) {
	n := theNights(t)
	for _, at := range []string{"file-read#2", "manifest-before-rename#1", "publish-rename#2", "publish-before-clear"} {
		t.Run(at, func(t *testing.T) {
			dir := t.TempDir()
			copySources(t, n.gen1, filepath.Join(dir, "inbox"), "")
			writeJob(t, dir, n.key)
			mustBeKilled(t, runGallra(t, n.bin, dir, "GALLRA_CRASH_AT="+at))
			if e := runGallra(t, n.bin, dir); !committedExit(e.code) {
				t.Fatalf("re-run: %v\n%s", e, tail(e.stderr))
			}
			checkLake(t, dir, n.base1)
		})
	}
}

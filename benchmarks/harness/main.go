// Command harness times, side by side on the same synthetic inbox, a whole
// `gallra run` and the baselines it is measured against, each as its own
// child process so that its peak RSS is its own:
//
//   - gallra run: the whole job (validation, pseudonyms, minimisation,
//     Parquet, quarantine, merge, report), CSV and XLSX exports. With
//     --no-retain: the retention policies that gallra run applies after a
//     night by default are a maintenance step of their own (gallra retain),
//     not ingest, and none of the baselines has them.
//   - bare Go stream (package benchmarks/barestream): encoding/csv, reused
//     HMAC-SHA-256, parquet-go; no validation. CSV exports only.
//   - DuckDB SQL: COPY (SELECT sha256(concat('salt', id)), measure, start,
//     end FROM read_csv(...)) TO parquet, one statement per CSV export,
//     through go-duckdb; windows-1252 exports read with encoding='latin-1'
//     (a superset for the letters the exports use), messy rows padded or
//     skipped (null_padding, ignore_errors), as a user would have to.
//     CSV exports only.
//   - read only: every export (CSV and XLSX) through gallra's reader, rows
//     discarded: the floor of any ingest that reads all the exports.
//   - gallra run on one core (CSV only, GOMAXPROCS=1): its work without the
//     cost of running on several cores, against the bare stream's (which
//     runs on one core anyway): what a ratio to the bare stream can be at
//     best on this machine.
//   - the same, two at once (gallra-1core-pair, bare-pair): two independent
//     one-core processes side by side, each with a lake of its own. What a
//     process's CPU grows by when the machine's other core is busy too is
//     the machine's cost of two busy cores (shared caches, memory, the
//     hypervisor), which no program can avoid; what gallra on two cores
//     uses beyond the pair is gallra's own cost of spreading one night over
//     two cores.
//
// Each method's rows/s is over the rows it itself processed. The baselines
// skip the XLSX export (gallra and the read-only floor do not), so the
// ratios flatter the baselines by the share of XLSX work.
//
//	go run ./benchmarks/harness -gallra bin/gallra -rows 200000 -runs 3
//
// The harness re-executes itself with the hidden flag -mode (bare-stream,
// duckdb-sql or read) to run a baseline as a child process; the child prints
// the number of rows it processed on standard output.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gallra/gallra/benchmarks/barestream"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/source"
	"github.com/gallra/gallra/pipeline/synth"
	"github.com/gallra/gallra/schemas"
)

// measurement is one timed child process.
type measurement struct {
	rows   int
	wall   time.Duration
	cpu    time.Duration // user + system time of the process and its children
	maxRSS int64         // bytes
}

func main() {
	bin := flag.String("gallra", "bin/gallra", "gallra binary to measure")
	rows := flag.Int("rows", 200000, "synthetic rows")
	runs := flag.Int("runs", 3, "repetitions (the median is reported)")
	seed := flag.Int("seed", 1, "generator seed")
	big := flag.Int("big", 0, "also build a lake of this many rows (e.g. 100000000) with pipeline/lake's Writer, merge a delta into it and run the statistics suite over it")
	deltaPct := flag.Float64("delta", 1, "with -big: the nightly delta, in percent of the lake's rows")
	keep := flag.String("keep", "", "with -big: build the big lake in this directory and keep it (reused if it exists)")
	skipIngest := flag.Bool("skip-ingest", false, "with -big: skip the ingest comparison")
	reuse := flag.String("reuse", "", "keep the generated inbox in this directory and use it again in later runs with the same -rows and -seed")
	parts := flag.Int("parts", 1, "generate the inbox as this many parts of -rows/parts rows, with seeds -seed, -seed+1, …, joined into one night (every source then sends that many exports): how an inbox larger than the generator's memory or an XLSX sheet (1,048,576 rows) is built, e.g. -rows 100000000 -parts 10")
	only := flag.String("methods", "", "comma-separated methods to run, of gallra, gallra-csv, bare, duckdb, read, gallra-1core, gallra-1core-pair, bare-pair (default all; the ratios need gallra, gallra-csv, bare and duckdb; the work per row, bare and gallra-1core; the cost of two busy cores, gallra-csv, gallra-1core and gallra-1core-pair, or bare and bare-pair)")
	mode := flag.String("mode", "", "internal: run one method in this process (bare-stream, duckdb-sql, read, ingest, biglake, delta, stats)")
	inboxFlag := flag.String("inbox", "", "internal: inbox for -mode")
	outFlag := flag.String("out", "", "internal: output directory for -mode")
	cpuProfile := flag.String("cpuprofile", "", "with -mode: write a CPU profile of the mode's work to this file")
	traceFile := flag.String("trace", "", "with -mode: write an execution trace of the mode's work to this file (go tool trace; -pprof=sync shows where goroutines waited on each other)")
	memProfile := flag.String("memprofile", "", "with -mode: write a heap profile (in use at the peak of the Go heap, sampled every 100 ms) to this file")
	flag.BoolVar(&statsBySQL, "stats-sql", false, "with -mode stats: compute every shared input of the suite in DuckDB SQL (prepare.sql), not the person-keyed ones with pipeline/stats/sweep: the way before the sweep, to compare")
	flag.Parse()

	if *mode != "" {
		stop := startProfiles(*cpuProfile, *memProfile, *traceFile)
		defer stop()
		n, err := child(*mode, *inboxFlag, *outFlag, *rows, *deltaPct)
		if err != nil {
			log.Fatal(err)
		}
		stop()
		fmt.Println(n)
		return
	}

	self, err := os.Executable()
	must(err)
	work, err := os.MkdirTemp("", "gallra-bench-")
	must(err)
	defer os.RemoveAll(work)
	if *big > 0 {
		bigLake(self, work, *keep, *big, *deltaPct)
		if *skipIngest {
			return
		}
	}
	if *parts < 1 || *rows%*parts != 0 {
		log.Fatalf("-parts %d must divide -rows %d", *parts, *rows)
	}
	partInboxes := make([]string, *parts)
	for p := range partInboxes {
		partInboxes[p] = generate(*bin, work, *reuse, *rows / *parts, *seed+p)
	}
	inbox := partInboxes[0]
	if *parts > 1 {
		inbox = filepath.Join(work, "inbox")
		must(linkExports(partInboxes, inbox, "*.*"))
	}
	// The same exports without the XLSX one, for a like-for-like comparison
	// with the baselines, which skip it.
	csvInbox := filepath.Join(work, "inbox-csv")
	must(linkExports([]string{inbox}, csvInbox, "*.csv"))
	keyPath := filepath.Join(work, "bench.key")
	k, err := keyfile.Generate(rand.Reader)
	must(err)
	must(keyfile.Write(keyPath, k, nil))

	methods := []struct {
		name string
		run  func(i int) (measurement, error)
	}{
		{"gallra run (whole job, CSV+XLSX)", func(i int) (measurement, error) {
			m, err := runGallra(*bin, work, fmt.Sprintf("run%d", i), inbox, keyPath, 0)
			m.rows = *rows
			return m, err
		}},
		{"gallra run (whole job, CSV only)", func(i int) (measurement, error) {
			return runCSV(*bin, work, fmt.Sprintf("runcsv%d", i), csvInbox, keyPath, 0)
		}},
		{"bare Go stream (CSV only)", func(i int) (measurement, error) {
			return measureChild(self, "bare-stream", inbox, filepath.Join(work, fmt.Sprintf("bare%d", i)))
		}},
		{"DuckDB SQL COPY (CSV only)", func(i int) (measurement, error) {
			return measureChild(self, "duckdb-sql", inbox, filepath.Join(work, fmt.Sprintf("duck%d", i)))
		}},
		{"read only (gallra reader, CSV+XLSX)", func(i int) (measurement, error) {
			return measureChild(self, "read", inbox, "")
		}},
		{"gallra run on one core (CSV only)", func(i int) (measurement, error) {
			return runCSV(*bin, work, fmt.Sprintf("runcsv1core%d", i), csvInbox, keyPath, 1)
		}},
		{"2 x gallra on one core at once (CSV)", func(i int) (measurement, error) {
			return pair(func(k int) (measurement, error) {
				return runCSV(*bin, work, fmt.Sprintf("runcsv1corepair%d-%d", i, k), csvInbox, keyPath, 1)
			})
		}},
		{"2 x bare Go stream at once (CSV)", func(i int) (measurement, error) {
			return pair(func(k int) (measurement, error) {
				return measureChild(self, "bare-stream", inbox, filepath.Join(work, fmt.Sprintf("barepair%d-%d", i, k)))
			})
		}},
	}

	methodKeys := []string{"gallra", "gallra-csv", "bare", "duckdb", "read", "gallra-1core", "gallra-1core-pair", "bare-pair"}
	selected := map[string]bool{}
	for _, k := range strings.Split(*only, ",") {
		if k = strings.TrimSpace(k); k != "" {
			if !slices.Contains(methodKeys, k) {
				log.Fatalf("-methods: unknown method %q (have %s)", k, strings.Join(methodKeys, ", "))
			}
			selected[k] = true
		}
	}
	run := func(j int) bool { return len(selected) == 0 || selected[methodKeys[j]] }

	results := make([][]measurement, len(methods))
	for i := 0; i < *runs; i++ {
		for j, m := range methods {
			if !run(j) {
				continue
			}
			r, err := m.run(i)
			if err != nil {
				log.Fatalf("%s: %v", m.name, err)
			}
			results[j] = append(results[j], r)
		}
	}

	fmt.Printf("rows generated: %d, runs: %d (the run with the median wall time and its CPU time, user + system; cores = CPU s / seconds, how many of the machine's %d vCPUs the method kept busy; peak RSS is the largest over the runs)\n", *rows, *runs, runtime.NumCPU())
	fmt.Printf("%-38s %10s %10s %12s %10s %6s %12s\n", "method", "rows", "seconds", "rows/s", "CPU s", "cores", "peak RSS MiB")
	rate := make([]float64, len(methods))
	for j, m := range methods {
		if !run(j) {
			continue
		}
		med, peak := summarise(results[j])
		rate[j] = float64(med.rows) / med.wall.Seconds()
		fmt.Printf("%-38s %10d %10.3f %12.0f %10.1f %6.2f %12.1f\n", m.name, med.rows, med.wall.Seconds(), rate[j], med.cpu.Seconds(), med.cpu.Seconds()/med.wall.Seconds(), float64(peak)/(1<<20))
	}
	if run(0) && run(1) && run(3) {
		fmt.Printf("ratio rows/s gallra / DuckDB SQL:  %.2f whole job, %.2f CSV only (target >= 1.5)\n", rate[0]/rate[3], rate[1]/rate[3])
	}
	if run(0) && run(1) && run(2) {
		fmt.Printf("ratio rows/s gallra / bare stream: %.2f whole job, %.2f CSV only (target >= 0.8)\n", rate[0]/rate[2], rate[1]/rate[2])
	}
	if run(0) && run(4) {
		fmt.Printf("ratio rows/s gallra / read only:   %.2f\n", rate[0]/rate[4])
	}
	if run(2) && run(5) {
		// CPU per row of each, on one core: how much more work gallra does.
		mb, _ := summarise(results[2])
		mo, _ := summarise(results[5])
		work := cpuPerRow(mo) / cpuPerRow(mb)
		fmt.Printf("work per row gallra / bare stream, one core each: %.2f; with no loss from running on %d cores, gallra / bare stream could be %.2f at best\n",
			work, runtime.NumCPU(), float64(runtime.NumCPU())/work)
	}
	// The cost of two busy cores: a pair's CPU per process against one
	// process alone, and gallra on two cores against the pair. The
	// machine's speed drifts from minute to minute, so each is a ratio of
	// the two methods' runs in the same round (run i of each, minutes
	// apart), and the median and range of those ratios are printed.
	if run(2) && run(7) {
		fmt.Printf("CPU per row of a bare stream beside another / alone: %s (the machine's cost of two busy cores)\n", roundRatios(results[7], results[2]))
	}
	if run(5) && run(6) {
		fmt.Printf("CPU per row of gallra on one core beside another / alone: %s (the machine's cost of two busy cores)\n", roundRatios(results[6], results[5]))
		if run(1) {
			fmt.Printf("CPU per row of gallra on two cores / on one core beside another: %s (gallra's own cost of working on two cores)\n", roundRatios(results[1], results[6]))
		}
	}
}

// roundRatios compares the CPU per row of a and b round by round (a[i]
// against b[i]) and returns the median ratio, with the range when there is
// more than one round.
func roundRatios(a, b []measurement) string {
	n := min(len(a), len(b))
	if n == 0 {
		return "no runs"
	}
	rs := make([]float64, n)
	for i := range rs {
		rs[i] = cpuPerRow(a[i]) / cpuPerRow(b[i])
	}
	slices.Sort(rs)
	if n == 1 {
		return fmt.Sprintf("%.3f", rs[0])
	}
	return fmt.Sprintf("%.3f (rounds %.3f to %.3f)", rs[n/2], rs[0], rs[n-1])
}

func cpuPerRow(m measurement) float64 { return m.cpu.Seconds() / float64(m.rows) }

// pair runs two measurements at once, run(0) and run(1), and returns them
// as one: the rows and CPU time of the two together, the longer wall time
// and the larger peak RSS. CPU per row is then each process's, averaged.
func pair(run func(k int) (measurement, error)) (measurement, error) {
	var ms [2]measurement
	var errs [2]error
	done := make(chan struct{})
	go func() {
		ms[1], errs[1] = run(1)
		close(done)
	}()
	ms[0], errs[0] = run(0)
	<-done
	if err := errors.Join(errs[:]...); err != nil {
		return measurement{}, err
	}
	return measurement{
		rows:   ms[0].rows + ms[1].rows,
		wall:   max(ms[0].wall, ms[1].wall),
		cpu:    ms[0].cpu + ms[1].cpu,
		maxRSS: max(ms[0].maxRSS, ms[1].maxRSS),
	}, nil
}

// runGallra runs `gallra run --no-retain` over inbox into a new lake named
// name under work; procs > 0 sets GOMAXPROCS. The measurement's rows are
// left to the caller.
func runGallra(bin, work, name, inbox, keyPath string, procs int) (measurement, error) {
	cfg := filepath.Join(work, name+".toml")
	if err := os.WriteFile(cfg, []byte(config(inbox, filepath.Join(work, name), keyPath)), 0o644); err != nil {
		return measurement{}, err
	}
	cmd := exec.Command(bin, "run", "--quiet", "--no-retain", "--config", cfg)
	if procs > 0 {
		cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", procs))
	}
	m, _, err := measure(cmd)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() != 1 && ee.ExitCode() != 2 {
		err = nil // 3 and up: rows quarantined or files held back, as planned
	}
	return m, err
}

// runCSV is runGallra over the CSV exports, counting the rows its run
// report says were read.
func runCSV(bin, work, name, inbox, keyPath string, procs int) (measurement, error) {
	m, err := runGallra(bin, work, name, inbox, keyPath, procs)
	if err == nil {
		m.rows, err = reportRows(filepath.Join(work, name) + "-reports")
	}
	return m, err
}

// generate writes an inbox of rows rows with seed under work, or, with
// reuse, under reuse, where an inbox generated before with the same rows
// and seed is used again (gallra generate is deterministic; 10M rows take
// minutes).
func generate(bin, work, reuse string, rows, seed int) string {
	dir := filepath.Join(work, fmt.Sprintf("inbox-%d-seed%d", rows, seed))
	if reuse != "" {
		dir = filepath.Join(reuse, fmt.Sprintf("inbox-%d-seed%d", rows, seed))
		if _, err := os.Stat(filepath.Join(dir, "GENERATED.json")); err == nil {
			return dir
		}
		must(os.RemoveAll(dir))
	}
	must(exec.Command(bin, "generate", "--out", dir, "--rows", fmt.Sprint(rows), "--seed", fmt.Sprint(seed)).Run())
	return dir
}

// linkExports hard-links the exports of the inboxes ins whose names match
// pattern (per source folder) into one inbox, out. From several inboxes,
// each export is renamed with its inbox's number before the extension
// (amea-export-20261123.csv of the second becomes
// amea-export-20261123-p02.csv), so that one night reads them all.
func linkExports(ins []string, out, pattern string) error {
	for p, in := range ins {
		files, err := filepath.Glob(filepath.Join(in, "*", pattern))
		if err != nil {
			return err
		}
		for _, f := range files {
			name := filepath.Base(f)
			if len(ins) > 1 {
				ext := filepath.Ext(name)
				name = fmt.Sprintf("%s-p%02d%s", strings.TrimSuffix(name, ext), p+1, ext)
			}
			dst := filepath.Join(out, filepath.Base(filepath.Dir(f)), name)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Link(f, dst); err != nil {
				return err
			}
		}
	}
	return nil
}

// measureChild runs the harness itself in one baseline mode.
func measureChild(self, mode, inbox, out string) (measurement, error) {
	m, stdout, err := measure(exec.Command(self, "-mode", mode, "-inbox", inbox, "-out", out))
	if err != nil {
		return m, err
	}
	m.rows, err = strconv.Atoi(strings.TrimSpace(stdout))
	return m, err
}

// measure runs cmd and returns its wall time, peak RSS and standard output.
func measure(cmd *exec.Cmd) (measurement, string, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	m := measurement{wall: time.Since(t0)}
	if cmd.ProcessState != nil {
		m.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.maxRSS = int64(ru.Maxrss) * 1024 // kilobytes on Linux
		}
	}
	if err != nil {
		tail := stderr.Bytes()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		err = fmt.Errorf("%w: %s", err, tail)
	}
	return m, stdout.String(), err
}

// summarise returns the run with the median wall time and the largest peak RSS.
func summarise(ms []measurement) (measurement, int64) {
	s := append([]measurement(nil), ms...)
	sort.Slice(s, func(i, j int) bool { return s[i].wall < s[j].wall })
	var peak int64
	for _, m := range ms {
		peak = max(peak, m.maxRSS)
	}
	return s[len(s)/2], peak
}

// child runs one method in this process and returns the rows it processed.
func child(mode, inbox, out string, rows int, pct float64) (int, error) {
	switch mode {
	case "bare-stream":
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return 0, err
		}
		res, err := barestream.Run(inbox, out, key)
		return res.Rows, err
	case "duckdb-sql":
		return duckSQL(inbox, out)
	case "biglake":
		return buildBigLake(out, rows)
	case "delta":
		r, err := mergeDelta(out, pct)
		if err != nil {
			return 0, err
		}
		fmt.Printf("delta rows %d (%d later versions, %d new) into %d rows: merge %.2f s, stage %.2f s, publish %.2f s, total %.2f s\n",
			r.rows, r.updated, r.inserted, r.lakeRows, r.merge.Seconds(), r.stage.Seconds(), r.publish.Seconds(), r.all.Seconds())
		fmt.Printf("rewritten %d of %d files, %.1f of %.1f MiB (%.1f%%)\n", r.rewrittenFiles, r.lakeFiles,
			float64(r.rewrittenBytes)/(1<<20), float64(r.lakeBytes)/(1<<20), 100*float64(r.rewrittenBytes)/float64(r.lakeBytes))
		return r.rows, nil
	case "stats":
		d, err := statsSuite(out)
		fmt.Printf("statistics suite total %.2f s\n", d.Seconds())
		return 0, err
	case "ingest":
		// gallra run in this process (for profiles): the lake goes to out.
		return ingestInProcess(inbox, out)
	case "read":
		files, err := filepath.Glob(filepath.Join(inbox, "*", "*"))
		if err != nil {
			return 0, err
		}
		return readAll(files), nil
	}
	return 0, fmt.Errorf("unknown mode %q", mode)
}

// duckSQL is the DuckDB-only baseline: one COPY per CSV export.
func duckSQL(inbox, out string) (int, error) {
	ctx := context.Background()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, err
	}
	db, err := duck.Open(ctx, duck.Options{TempDir: filepath.Join(out, "tmp")})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	files, err := filepath.Glob(filepath.Join(inbox, "*", "*.csv"))
	if err != nil {
		return 0, err
	}
	total := 0
	for i, f := range files {
		s, err := schemas.Lookup(filepath.Base(filepath.Dir(f)))
		if err != nil {
			continue
		}
		var cols []string
		for _, holds := range []string{schemas.HoldsIdentifier, schemas.HoldsMeasure, schemas.HoldsPeriodStart, schemas.HoldsPeriodEnd} {
			c, _ := s.Column(holds)
			cols = append(cols, `"`+strings.ReplaceAll(c.Name, `"`, `""`)+`"`)
		}
		enc := ""
		if s.Encoding == "windows-1252" {
			enc = ", encoding='latin-1'"
		}
		q := fmt.Sprintf(`COPY (SELECT sha256(concat('salt', %s)) AS pseudonym, %s AS measure, %s AS start, %s AS "end"
FROM read_csv(%s, all_varchar=true, delim=%s, header=true, quote='"', escape='"',
  strict_mode=false, null_padding=true, ignore_errors=true%s))
TO %s (FORMAT parquet, COMPRESSION zstd)`,
			cols[0], cols[1], cols[2], cols[3], duck.Literal(f), duck.Literal(s.Delimiter), enc,
			duck.Literal(filepath.Join(out, fmt.Sprintf("%03d.parquet", i))))
		res, err := db.ExecContext(ctx, q)
		if err != nil {
			// A drifted export lacks a column: the SQL baseline has no
			// answer for it but to skip the file.
			// DuckDB's message may quote a row of the export, so only the
			// file name is printed.
			fmt.Fprintf(os.Stderr, "duckdb-sql: skipping %s: the COPY failed\n", filepath.Base(f))
			continue
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += int(n)
	}
	return total, nil
}

func config(inbox, lake, key string) string {
	return fmt.Sprintf(`lake = %q
reports = %q
inbox = %q
reference_date = "2026-11-23"
settle = "0s"
after_ingest = "keep"
[key]
file = %q
`+synth.Sources, lake, lake+"-reports", inbox, key)
}

// readAll is the read-only floor: every row of every export through the reader.
func readAll(files []string) int {
	n := 0
	for _, f := range files {
		r, err := source.Open(f, source.Options{})
		if err != nil {
			continue // GENERATED.json and the like
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			}
			n++
		}
		r.Close()
	}
	return n
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// reportRows reads the rows a run read from its report.
func reportRows(reports string) (int, error) {
	files, err := filepath.Glob(filepath.Join(reports, "run-*.json"))
	if err != nil || len(files) != 1 {
		return 0, fmt.Errorf("run report in %s: %d files, %v", reports, len(files), err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		return 0, err
	}
	var rep struct {
		Totals struct {
			Read int `json:"rows_read"`
		} `json:"totals"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return 0, err
	}
	return rep.Totals.Read, nil
}

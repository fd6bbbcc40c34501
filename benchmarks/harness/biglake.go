package main

// The 10-year lake benchmarks: a lake of -rows synthetic participations is
// built by writing Parquet through pipeline/lake's Writer directly (not by
// ingesting raw exports, which at 100M rows would take most of an hour), then
// a nightly delta is merged into it through pipeline/merge as a run does, and
// the standard statistics suite is run over it with DuckDB.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/merge"
	"github.com/gallra/gallra/pipeline/stats"
)

// bigSources are the lake's sources with the share of rows each has and the
// attributes its policy keeps (as in synth.Sources).
var bigSources = []struct {
	name              string
	share             float64
	sex, age, muni    bool
	municipalityFixed string
}{
	{"af_program", 0.40, true, true, true, ""},
	{"amea", 0.15, true, true, true, "0680"},
	{"aksel", 0.12, true, true, true, "2580"},
	{"jobbtorg", 0.12, false, false, true, "0180"},
	{"skills", 0.09, true, true, false, ""},
	{"uka", 0.06, true, true, false, ""},
	{"feriejobb", 0.06, false, true, false, ""},
}

var (
	bigMeasures = []string{"ARBETSTRANING", "PRAKTIK", "SFI", "LONEBIDRAG", "NYSTARTSJOBB", "KARTLAGGNING",
		"STUDIEMOTIVERANDE", "YRKESUTBILDNING", "FERIEJOBB", "JOBBCOACHNING", "EXTRATJANST", "INTRODUKTIONSJOBB"}
	bigAgeBands = []string{"16-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54", "55-59", "60-64", "65+"}
	bigMunis    = []string{"0180", "0680", "2580", "1480", "1280", "0380", "0580", "1880", "2480", "0880"}
	bigSexes    = []string{"K", "M"}
	bigKinds    = []string{lake.IDPersonnummer, lake.IDPersonnummer, lake.IDPersonnummer, lake.IDPersonnummer, lake.IDSamordningsnummer}
)

// bigStatsMemory is DuckDB's memory limit for the statistics suite over
// the big lake.
const bigStatsMemory = "12GB"

const (
	bigFirstYear = 2016
	bigLastYear  = 2025
	bigKeyID     = "gk1-00000000bench000"
)

// bigRow makes one synthetic participation starting in year, for one of
// persons people.
func bigRow(rng *rand.Rand, src int, year int, people uint64, runID string) lake.Row {
	s := bigSources[src]
	var key, pseudo [16]byte
	fillRandom(rng, key[:])
	person := rng.Uint64N(people)
	pr := rand.New(rand.NewPCG(person, 0x9e3779b97f4a7c15))
	fillRandom(pr, pseudo[:])
	startDay := lake.Date(time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)) + int32(rng.IntN(365))
	r := lake.Row{
		Pseudonym: &pseudo, KeyID: bigKeyID, IDKind: bigKinds[rng.IntN(len(bigKinds))],
		Measure: bigMeasures[rng.IntN(len(bigMeasures))], PeriodStart: startDay,
		RecordKey: key, RunID: runID,
	}
	if year < bigLastYear || rng.IntN(3) > 0 {
		end := startDay + int32(14+rng.IntN(540))
		r.PeriodEnd = &end
	}
	if s.sex {
		r.Sex = &bigSexes[pr.IntN(2)]
	}
	if s.age {
		r.AgeBand = &bigAgeBands[pr.IntN(len(bigAgeBands))]
	}
	if s.muni {
		if s.municipalityFixed != "" && rng.IntN(4) > 0 {
			m := s.municipalityFixed
			r.Municipality = &m
		} else {
			r.Municipality = &bigMunis[pr.IntN(len(bigMunis))]
		}
	}
	return r
}

func fillRandom(rng *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64() | 1
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

// buildBigLake writes rows participations over ten years into a new lake at
// dir, each partition in record key order as merge writes them, and
// publishes them as one run. It returns the rows written.
func buildBigLake(dir string, rows int) (int, error) {
	if _, err := os.Stat(filepath.Join(dir, lake.MetaDir)); err == nil {
		return 0, fmt.Errorf("%s already holds a lake", dir)
	}
	base, err := lake.ReadManifest(dir)
	if err != nil {
		return 0, err
	}
	const runID = "bench-biglake"
	w, err := lake.NewWriter(dir, runID)
	if err != nil {
		return 0, err
	}
	defer w.Abort()
	rng := rand.New(rand.NewPCG(1, 2))
	people := uint64(rows/10 + 1) // about ten participations per person over the years
	total := 0
	years := bigLastYear - bigFirstYear + 1
	for si, s := range bigSources {
		for y := bigFirstYear; y <= bigLastYear; y++ {
			n := int(float64(rows) * s.share / float64(years))
			part := make([]lake.Row, n)
			for i := range part {
				part[i] = bigRow(rng, si, y, people, runID)
			}
			slices.SortFunc(part, func(a, b lake.Row) int { return bytes.Compare(a.RecordKey[:], b.RecordKey[:]) })
			p := lake.Partition{Source: s.name, StartYear: y}
			for i := range part {
				if err := w.Write(p, part[i]); err != nil {
					return total, err
				}
			}
			total += n
		}
	}
	staged, err := w.Stage()
	if err != nil {
		return total, err
	}
	_, err = lake.Publish(dir, base, lake.Change{RunID: runID, Add: staged})
	return total, err
}

// deltaResult is what merging one night's delta cost.
type deltaResult struct {
	rows, updated, inserted    int
	lakeRows                   int64
	lakeBytes, rewrittenBytes  int64
	rewrittenFiles, lakeFiles  int
	merge, stage, publish, all time.Duration
	peakRSS                    int64
}

// mergeDelta merges a delta of pct percent of the lake's rows as a night
// does: two thirds later versions of participations of the last two years
// (an end date filled in), one third new participations of the last year.
// It times merge.Apply, staging and the publish, as gallra run does them.
func mergeDelta(dir string, pct float64) (*deltaResult, error) {
	base, err := lake.ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	res := &deltaResult{lakeRows: base.Rows(), lakeFiles: len(base.Files)}
	for _, f := range base.Files {
		res.lakeBytes += f.Bytes
	}
	n := int(float64(res.lakeRows) * pct / 100)
	rng := rand.New(rand.NewPCG(3, 4))
	runID := "bench-delta-" + time.Now().UTC().Format("20060102T150405")
	b := merge.NewSpillingBatch(filepath.Join(dir, lake.StagingDir, runID+"-spill"), 0)
	defer b.Close()

	// Later versions: pick rows of the last two years' partitions evenly.
	updates := n * 2 / 3
	var recent []lake.FileInfo
	var recentRows int64
	for _, f := range base.Files {
		if f.Partition.StartYear >= bigLastYear-1 {
			recent = append(recent, f)
			recentRows += f.Rows
		}
	}
	every := max(1, int(recentRows)/max(1, updates))
	i := 0
	for _, f := range recent {
		err := lake.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)), func(r lake.Row) error {
			i++
			if i%every != 0 || res.updated >= updates {
				return nil
			}
			end := r.PeriodStart + int32(30+rng.IntN(300))
			if r.PeriodEnd != nil {
				end = *r.PeriodEnd + 7
			}
			r.PeriodEnd = &end
			r.RunID = runID
			res.updated++
			return b.Add(merge.Entry{Source: f.Partition.Source, Row: r})
		})
		if err != nil {
			return nil, err
		}
	}
	people := uint64(res.lakeRows/10 + 1)
	for res.updated+res.inserted < n {
		si := rng.IntN(len(bigSources))
		if err := b.Add(merge.Entry{Source: bigSources[si].name, Row: bigRow(rng, si, bigLastYear, people, runID)}); err != nil {
			return nil, err
		}
		res.inserted++
	}
	res.rows = res.updated + res.inserted

	t0 := time.Now()
	w, err := lake.NewWriter(dir, runID, lake.MaxBufferedRows(1<<20))
	if err != nil {
		return nil, err
	}
	mr, err := merge.Apply(dir, base, b, w)
	if err != nil {
		w.Abort()
		return nil, err
	}
	res.merge = time.Since(t0)
	if err := b.Close(); err != nil {
		return nil, err
	}
	t1 := time.Now()
	staged, err := w.Stage()
	if err != nil {
		w.Abort()
		return nil, err
	}
	res.stage = time.Since(t1)
	t2 := time.Now()
	if _, err := lake.Publish(dir, base, lake.Change{RunID: runID, Add: staged, Remove: mr.Superseded}); err != nil {
		return nil, err
	}
	res.publish = time.Since(t2)
	res.all = time.Since(t0)
	for _, s := range staged {
		res.rewrittenBytes += s.Bytes
	}
	res.rewrittenFiles = len(staged)
	return res, nil
}

// statsBySQL is -stats-sql: the suite's inputs all in DuckDB SQL.
var statsBySQL bool

// statsSuite runs every query of the standard suite over the lake for the
// ten years, printing each one's time, and returns the total.
func statsSuite(dir string) (time.Duration, error) {
	ctx := context.Background()
	// A thread per core, and memory for the per-person hash tables of a
	// 100M-row lake (at duck's default 2 GB they spill to disk).
	db, err := duck.Open(ctx, duck.Options{TempDir: filepath.Join(os.TempDir(), "gallra-bench-duck"),
		Threads: runtime.NumCPU(), MemoryLimit: bigStatsMemory})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, dir); err != nil {
		return 0, err
	}
	suite, err := stats.Suite()
	if err != nil {
		return 0, err
	}
	// One preparation for the suite (the shared per-person inputs, made
	// once), counted in the total.
	span := stats.Span{FromYear: bigFirstYear, ToYear: bigLastYear, AsOf: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	sweepDir := dir
	if statsBySQL {
		sweepDir = ""
	}
	prep, err := stats.Prepare(ctx, db, sweepDir, span, suite)
	if err != nil {
		return 0, fmt.Errorf("prepare: %w", err)
	}
	defer prep.Close()
	total := prep.Took
	fmt.Printf("  %-22s %8.2f s  (%s)\n", "prepare", prep.Took.Seconds(), strings.Join(prep.Inputs, ", "))
	if prep.SweepTook > 0 {
		fmt.Printf("    %-20s %8.2f s  (stats_firsts, stats_person_years and stats_ends; then each one's loading:)\n", "sweep", prep.SweepTook.Seconds())
	}
	for i, in := range prep.Inputs {
		fmt.Printf("    %-20s %8.2f s\n", in, prep.InputTook[i].Seconds())
	}
	for _, q := range suite {
		t0 := time.Now()
		_, rows, err := prep.Run(ctx, q)
		if err != nil {
			return total, fmt.Errorf("%s: %w", q.Name, err)
		}
		d := time.Since(t0)
		total += d
		// A digest of the result, so that two runs (with and without
		// -stats-sql) can be seen to agree.
		h := sha256.New()
		for _, r := range rows {
			fmt.Fprintln(h, strings.Join(r, "|"))
		}
		fmt.Printf("  %-22s %8.2f s  %6d result rows, digest %x\n", q.Name, d.Seconds(), len(rows), h.Sum(nil)[:6])
	}
	return total, nil
}

// bigLake runs the 10-year lake benchmarks as child processes: build, delta,
// statistics. The lake goes to keep if given (and is reused if it exists).
func bigLake(self, work, keep string, rows int, pct float64) {
	dir := keep
	if dir == "" {
		dir = filepath.Join(work, "biglake")
	}
	if _, err := os.Stat(filepath.Join(dir, lake.MetaDir)); err != nil {
		m, out, err := measure(exec.Command(self, "-mode", "biglake", "-out", dir, "-rows", strconv.Itoa(rows)))
		must(err)
		n, _ := strconv.Atoi(strings.TrimSpace(out))
		fmt.Printf("built a lake of %d rows with lake.Writer in %.1f s (%.0f rows/s), peak RSS %.0f MiB\n",
			n, m.wall.Seconds(), float64(n)/m.wall.Seconds(), float64(m.maxRSS)/(1<<20))
	} else {
		fmt.Printf("reusing the lake in %s\n", dir)
	}
	// The delta is merged into a copy, so that a kept lake stays the same
	// for the next run: hard links, as the lake's files are immutable.
	cp := filepath.Join(work, "biglake-delta")
	must(exec.Command("cp", "-al", dir, cp).Run())
	m, out, err := measure(exec.Command(self, "-mode", "delta", "-out", cp, "-delta", strconv.FormatFloat(pct, 'f', -1, 64)))
	must(err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	fmt.Println(strings.Join(lines[:len(lines)-1], "\n"))
	fmt.Printf("delta process: %.1f s wall (including choosing the delta's rows), peak RSS %.0f MiB\n", m.wall.Seconds(), float64(m.maxRSS)/(1<<20))
	must(os.RemoveAll(cp))
	// The suite as gallra stats runs it, and side by side its baseline:
	// every shared input in DuckDB SQL (-stats-sql).
	var walls [2]time.Duration
	var digests [2][]string
	for i, args := range [][]string{{"-stats-sql"}, nil} {
		name := []string{"SQL only (baseline)", "with the sweep (gallra stats)"}[i]
		m, out, err = measure(exec.Command(self, append([]string{"-mode", "stats", "-out", dir}, args...)...))
		must(err)
		lines = strings.Split(strings.TrimSpace(out), "\n")
		fmt.Printf("statistics suite, %s:\n%s\n", name, strings.Join(lines[:len(lines)-1], "\n"))
		fmt.Printf("statistics process, %s: %.1f s wall, %.1f CPU-s, peak RSS %.0f MiB\n", name, m.wall.Seconds(), m.cpu.Seconds(), float64(m.maxRSS)/(1<<20))
		walls[i] = m.wall
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 0 && strings.Contains(l, ", digest ") {
				digests[i] = append(digests[i], f[0]+" "+f[len(f)-1])
			}
		}
	}
	if !slices.Equal(digests[0], digests[1]) || len(digests[0]) == 0 {
		must(fmt.Errorf("the statistics differ with and without the sweep:\n  SQL only %v\n  sweep    %v", digests[0], digests[1]))
	}
	fmt.Printf("statistics suite: the sweep %.2fx as fast as SQL only, the same rows for each of the %d statistics\n", walls[0].Seconds()/walls[1].Seconds(), len(digests[0]))
}

// Command harness measures a whole `gallra run` against a baseline run side by
// side on the same synthetic inbox, and reports the ratio.
//
// The baseline is the floor any ingest must pay: reading every export with
// gallra's own reader (decoding, CSV/XLSX parsing) and doing nothing with the
// rows. The ratio says what validation, pseudonymisation, minimisation and
// Parquet writing cost on top of that. Absolute rows/s are printed too, but
// only the ratio is comparable between machines.
//
//	go run ./benchmarks/harness -gallra bin/gallra -rows 200000 -runs 3
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/source"
	"github.com/gallra/gallra/pipeline/synth"
)

func main() {
	bin := flag.String("gallra", "bin/gallra", "gallra binary to measure")
	rows := flag.Int("rows", 200000, "synthetic rows")
	runs := flag.Int("runs", 3, "repetitions (the median is reported)")
	seed := flag.Int("seed", 1, "generator seed")
	flag.Parse()

	work, err := os.MkdirTemp("", "gallra-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	inbox := filepath.Join(work, "inbox")
	must(exec.Command(*bin, "generate", "--out", inbox, "--rows", fmt.Sprint(*rows), "--seed", fmt.Sprint(*seed)).Run())
	keyPath := filepath.Join(work, "bench.key")
	k, err := keyfile.Generate(rand.Reader)
	must(err)
	must(keyfile.Write(keyPath, k, nil))
	files, err := filepath.Glob(filepath.Join(inbox, "*", "*"))
	must(err)

	var base, full []time.Duration
	var read int
	for i := 0; i < *runs; i++ {
		t0 := time.Now()
		read = readAll(files)
		base = append(base, time.Since(t0))

		lake := filepath.Join(work, fmt.Sprintf("run%d", i))
		cfg := filepath.Join(work, fmt.Sprintf("run%d.toml", i))
		must(os.WriteFile(cfg, []byte(config(inbox, lake, keyPath)), 0o644))
		t0 = time.Now()
		cmd := exec.Command(*bin, "run", "--quiet", "--config", cfg)
		cmd.Stderr = io.Discard
		err := cmd.Run()
		full = append(full, time.Since(t0))
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() == 1 || ee.ExitCode() == 2) {
			log.Fatalf("gallra run failed: %v", err)
		}
	}
	b, f := median(base), median(full)
	fmt.Printf("rows in inbox: %d (read by the baseline: %d), runs: %d, median of each\n", *rows, read, *runs)
	fmt.Printf("%-40s %10s %12s\n", "", "seconds", "rows/s")
	fmt.Printf("%-40s %10.3f %12.0f\n", "baseline: read every export, no work", b.Seconds(), float64(read)/b.Seconds())
	fmt.Printf("%-40s %10.3f %12.0f\n", "gallra run (whole job, process start incl.)", f.Seconds(), float64(read)/f.Seconds())
	fmt.Printf("ratio gallra run / baseline: %.2f\n", f.Seconds()/b.Seconds())
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

// readAll is the baseline: every row of every export through the reader.
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

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

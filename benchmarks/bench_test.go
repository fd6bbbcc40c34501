// Package benchmarks measures gallra as a whole. Each benchmark here comes
// with its baseline, run side by side on the same synthetic inbox, so that the
// figure to report is a ratio (machine-independent), not a time:
//
//	go test -run '^$' -bench . -benchmem ./benchmarks/
//
// BenchmarkBaselineRead reads every export with the same reader and does
// nothing with the rows: the floor of any ingest. BenchmarkIngest is the
// whole job (validation, pseudonyms, minimisation, Parquet, quarantine,
// report). The ratio of their ns/op is the cost of gallra's work per row.
package benchmarks

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/source"
	"github.com/gallra/gallra/pipeline/synth"
)

const benchRows = 50000

var (
	inboxOnce sync.Once
	inboxDir  string
	inboxErr  error
)

// inbox generates the shared synthetic inbox once per test binary.
func inbox(b *testing.B) string {
	inboxOnce.Do(func() {
		inboxDir, inboxErr = os.MkdirTemp("", "gallra-bench-inbox-")
		if inboxErr != nil {
			return
		}
		_, inboxErr = synth.Generate(filepath.Join(inboxDir, "inbox"), synth.Options{
			Rows: benchRows, Seed: 1, Reference: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	})
	if inboxErr != nil {
		b.Fatal(inboxErr)
	}
	return filepath.Join(inboxDir, "inbox")
}

func BenchmarkBaselineRead(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(inbox(b), "*", "*"))
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		rows = 0
		for _, f := range files {
			r, err := source.Open(f, source.Options{})
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := r.Next(); err == io.EOF {
					break
				}
				rows++
			}
			r.Close()
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkIngest(b *testing.B) {
	in := inbox(b)
	k, err := keyfile.Generate(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	rows := 0
	i := 0
	for b.Loop() {
		b.StopTimer()
		dir := filepath.Join(work, fmt.Sprint(i))
		i++
		cfg := filepath.Join(dir, "gallra.toml")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		body := fmt.Sprintf("inbox = %q\nreference_date = \"2026-11-23\"\nsettle = \"0s\"\nafter_ingest = \"keep\"\n", in) + synth.Sources
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
		job, err := config.Load(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := ingest.Run(context.Background(), job, k, ingest.Options{Logger: discard})
		if err != nil {
			b.Fatal(err)
		}
		rows = rep.Totals.Read
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

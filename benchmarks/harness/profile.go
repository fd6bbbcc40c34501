package main

import (
	"context"
	"crypto/rand"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"time"

	gconfig "github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/keyfile"
)

// startProfiles starts a CPU profile, a heap watcher and an execution trace
// as asked; the returned function stops them and writes the files (once).
func startProfiles(cpu, mem, tr string) func() {
	var stops []func()
	if tr != "" {
		f, err := os.Create(tr)
		must(err)
		must(trace.Start(f))
		stops = append(stops, func() { trace.Stop(); f.Close() })
	}
	if cpu != "" {
		f, err := os.Create(cpu)
		must(err)
		must(pprof.StartCPUProfile(f))
		stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
	}
	if mem != "" {
		// Keep the heap profile taken when the live heap was largest.
		runtime.MemProfileRate = 64 << 10
		done := make(chan struct{})
		var wg sync.WaitGroup
		var best []byte
		var peak uint64
		snap := func() {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak {
				peak = ms.HeapInuse
				var buf bytesBuffer
				if err := pprof.Lookup("heap").WriteTo(&buf, 0); err == nil {
					best = buf.b
				}
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					snap()
				case <-done:
					return
				}
			}
		}()
		stops = append(stops, func() {
			close(done)
			wg.Wait()
			must(os.WriteFile(mem, best, 0o644))
			log.Printf("heap profile at the peak of the Go heap in use, %.1f MiB: %s", float64(peak)/(1<<20), mem)
		})
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, s := range stops {
				s()
			}
		})
	}
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// ingestInProcess runs the whole job, as gallra run does, with a fresh key,
// the lake and reports under out; it returns the rows read.
func ingestInProcess(inbox, out string) (int, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, err
	}
	k, err := keyfile.Generate(rand.Reader)
	if err != nil {
		return 0, err
	}
	keyPath := filepath.Join(out, "bench.key")
	if err := keyfile.Write(keyPath, k, nil); err != nil {
		return 0, err
	}
	cfg := filepath.Join(out, "job.toml")
	if err := os.WriteFile(cfg, []byte(config(inbox, filepath.Join(out, "lake"), keyPath)), 0o644); err != nil {
		return 0, err
	}
	job, err := gconfig.Load(cfg)
	if err != nil {
		return 0, err
	}
	rep, err := ingest.Run(context.Background(), job, k, ingest.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if rep == nil {
		return 0, err
	}
	return rep.Totals.Read, err
}

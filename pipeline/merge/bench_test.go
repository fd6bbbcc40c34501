package merge

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/gallra/gallra/pipeline/lake"
)

// BenchmarkBatchAdd is the cost of one entry through a spilling batch: the
// record encoding, and the sort and write of its run.
func BenchmarkBatchAdd(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	entries := night(rng, 1<<16, 1<<30)
	dir := b.TempDir()
	bt := NewSpillingBatch(filepath.Join(dir, "spill"), 8<<20)
	defer bt.Close()
	i := 0
	for b.Loop() {
		e := entries[i%len(entries)]
		e.Row.RecordKey[15] = byte(i)
		e.Row.RecordKey[14] = byte(i >> 8)
		e.Row.RecordKey[13] = byte(i >> 16)
		if err := bt.Add(e); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkApplyInsert merges 100,000 new entries, spilled in runs, into an
// empty lake: the k-way merge, the decoding and the Parquet writer.
func BenchmarkApplyInsert(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	entries := night(rng, 100000, 1<<30)
	for i := range entries {
		entries[i].Row.RecordKey[14] = byte(i >> 8)
		entries[i].Row.RecordKey[15] = byte(i)
	}
	for b.Loop() {
		dir := b.TempDir()
		bt := NewSpillingBatch(filepath.Join(dir, "spill"), 2<<20)
		for _, e := range entries {
			if err := bt.Add(e); err != nil {
				b.Fatal(err)
			}
		}
		base, _ := lake.ReadManifest(dir)
		w, err := lake.NewWriter(dir, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(dir, base, bt, w); err != nil {
			b.Fatal(err)
		}
		bt.Close()
		if _, err := w.Stage(); err != nil {
			b.Fatal(err)
		}
		w.Abort()
	}
	b.ReportMetric(float64(len(entries))*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

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

// BenchmarkEncode is the cost of one entry's record as the ingest makes
// them: the strings a file's rows share (source, key ID, kind, run ID), a
// measure and an age band of a few, the sex, and a municipality code: the
// source's own (config) or, as af_program sends it, cut from each row's
// text (row).
func BenchmarkEncode(b *testing.B) {
	for _, name := range []string{"config", "row"} {
		b.Run(name, func(b *testing.B) {
			entries := encodeEntries(name == "row")
			t := newStrtab()
			buf := make([]byte, 0, 256)
			i := 0
			for b.Loop() {
				buf = t.encode(buf[:0], uint64(i), &entries[i%len(entries)])
				i++
			}
		})
	}
}

func encodeEntries(rowMunicipality bool) []Entry {
	sexes := []string{"K", "M"}
	bands := []string{"16-19", "20-24", "25-29", "30-39", "40-49", "50-59", "60-64", "65+"}
	measures := []string{"M01", "M02", "M05", "M11", "M17", "M23"}
	munis := "0180 1480 1280 0380 2480 0581 1880 0680 "
	config := "2580"
	rng := rand.New(rand.NewPCG(3, 3))
	entries := make([]Entry, 4096)
	for i := range entries {
		m := config // shared, as minimise.Derive's copy of the source's code is
		if rowMunicipality {
			m = string([]byte(munis[rng.IntN(8)*5:][:4])) // its own memory, like a field of the row's text
		}
		entries[i] = Entry{Source: "amea", Row: lake.Row{
			KeyID: "gk1-0123456789abcdef", IDKind: lake.IDPersonnummer, Measure: measures[rng.IntN(len(measures))],
			PeriodStart: int32(19000 + rng.IntN(3000)), RunID: "20261123T010203.000Z-abcdef",
			Sex: &sexes[rng.IntN(2)], AgeBand: &bands[rng.IntN(len(bands))], Municipality: &m,
		}}
		entries[i].Row.RecordKey[0] = byte(i)
	}
	return entries
}

package sweep

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/testlake"
)

// BenchmarkRun sweeps a lake of 1M linked rows of 150,000 persons over ten
// years (the shape of the 100M benchmark lake, a hundredth of it) by
// measure and reports rows/s, CPU-s and allocations. The whole suite at
// 100M is measured by the harness (make bench BIG=100000000).
func BenchmarkRun(b *testing.B) {
	const n = 1 << 20
	rng := rand.New(rand.NewPCG(3, 4))
	sources := []string{"af_program", "aksel", "amea", "uka"}
	measures := []string{"ARBETSTRANING", "KARTLAGGNING", "PRAKTIK", "SFI", "UTBILDNING"}
	persons := make([][16]byte, 150000)
	for i := range persons {
		for j := range persons[i] {
			persons[i][j] = byte(rng.Uint32())
		}
	}
	parts := map[lake.Partition][]lake.Row{}
	for i := range n {
		p := &persons[rng.IntN(len(persons))]
		year := 2016 + rng.IntN(10)
		r := lake.Row{Pseudonym: p, KeyID: "gk1-0123456789abcdef", IDKind: lake.IDPersonnummer,
			Measure: measures[rng.IntN(len(measures))], PeriodStart: days(year, 1, 1) + int32(rng.IntN(365)), RunID: "bench"}
		if rng.IntN(5) > 0 {
			end := r.PeriodStart + int32(rng.IntN(400))
			r.PeriodEnd = &end
		}
		r.RecordKey[0], r.RecordKey[1], r.RecordKey[2], r.RecordKey[3] = byte(i), byte(i>>8), byte(i>>16), 1
		pt := lake.Partition{Source: sources[rng.IntN(len(sources))], StartYear: year}
		parts[pt] = append(parts[pt], r)
	}
	dir, staged := testlake.WriteRows(b, "bench", parts)
	var files []string
	for _, f := range staged {
		files = append(files, filepath.Join(dir, filepath.FromSlash(f.Path)))
	}
	cats := make([]Category, len(measures))
	for i, m := range measures {
		cats[i] = Category{Name: m}
	}
	o := Options{Files: files, FromYear: 2016, ToYear: 2025, WithinDays: 30, By: "measure", Categories: cats, TempDir: b.TempDir()}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		res, err := Run(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		if res.Rows != n {
			b.Fatalf("swept %d rows, want %d", res.Rows, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e9, "CPU-s/op")
}

// cpuTime is the process's user and system time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprint("getrusage: ", err))
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

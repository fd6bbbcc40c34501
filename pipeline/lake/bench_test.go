package lake

import (
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// nightRows returns n rows shaped like a night of the generator's exports
// (gallra generate): seven sources, each spread over eleven start years,
// random 16-byte pseudonyms (about 2.5 rows a person) and record keys, a
// handful of measures, most periods ended, the declared attributes kept.
// Rows come source by source, in random year order within a source, as
// merge.Apply writes them (in record key order).
func nightRows(n int) ([]Partition, []Row) {
	rng := rand.New(rand.NewPCG(1, 2))
	sources := []string{"af_program", "aksel", "amea", "feriejobb", "jobbtorg", "skills", "uka"}
	measures := []string{"M01", "M02", "M03", "M04", "M05", "M06", "M07", "M08"}
	bands := []string{"16-19", "20-24", "25-29", "30-39", "40-49", "50-59", "60-64", "65+"}
	munis := []string{"0680", "0180", "1480", "1280", "0380"}
	sexes := []string{"K", "M"}
	kinds := []string{IDPersonnummer, IDPersonnummer, IDPersonnummer, IDSamordningsnummer, IDReserve}
	persons := make([][16]byte, n*2/5+1)
	for i := range persons {
		for j := range persons[i] {
			persons[i][j] = byte(rng.Uint32())
		}
	}
	parts := make([]Partition, n)
	rows := make([]Row, n)
	for i := range rows {
		src := sources[i*len(sources)/n]
		year := 2016 + rng.IntN(11)
		parts[i] = Partition{Source: src, StartYear: year}
		p := persons[rng.IntN(len(persons))]
		start := day(year, time.January, 1) + int32(rng.IntN(365))
		r := Row{
			Pseudonym:    &p,
			KeyID:        "gk1-0123456789abcdef",
			IDKind:       kinds[rng.IntN(len(kinds))],
			Measure:      measures[rng.IntN(len(measures))],
			PeriodStart:  start,
			Sex:          &sexes[rng.IntN(2)],
			AgeBand:      &bands[rng.IntN(len(bands))],
			Municipality: &munis[rng.IntN(len(munis))],
		}
		if rng.IntN(30) != 0 {
			r.PeriodEnd = ptr(start + int32(rng.IntN(700)))
		}
		if src == "uka" {
			r.LinkableUntil = ptr(day(2020+rng.IntN(10), time.December, 31))
		}
		if src == "feriejobb" {
			r.Sex, r.Municipality = nil, nil
		}
		for j := range r.RecordKey {
			r.RecordKey[j] = byte(rng.Uint32())
		}
		rows[i] = r
	}
	return parts, rows
}

// writeNight writes parts/rows into a new lake at dir, with the Writer's
// options opts, and commits.
func writeNight(tb testing.TB, dir string, parts []Partition, rows []Row, opts ...Option) []FileInfo {
	w, err := NewWriter(dir, "20261123T112546.504Z-bench", opts...)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(parts[i], rows[i]); err != nil {
			tb.Fatal(err)
		}
	}
	files, err := w.Commit()
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// BenchmarkWriteNight writes a night of 1M realistic rows into 77
// partitions and reports rows/s and the lake's bytes per row.
func BenchmarkWriteNight(b *testing.B) {
	const n = 1 << 20
	parts, rows := nightRows(n)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	var bytes int64
	for range b.N {
		files := writeNight(b, b.TempDir(), parts, rows)
		bytes = 0
		for _, f := range files {
			bytes += f.Bytes
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(bytes)/n, "B/row")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e9, "CPU-s/op")
}

// BenchmarkReadNight reads back every file of a night of 1M realistic rows
// with ReadFile and reports rows/s.
func BenchmarkReadNight(b *testing.B) {
	const n = 1 << 20
	parts, rows := nightRows(n)
	dir := b.TempDir()
	files := writeNight(b, dir, parts, rows)
	rows = nil
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		got := 0
		for _, f := range files {
			err := ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)), func(r Row) error {
				got++
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if got != n {
			b.Fatalf("read %d rows, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e9, "CPU-s/op")
}

// BenchmarkYearOf and BenchmarkYearOfTime are the same question asked of
// YearOf and of the time package, side by side, over days of 2000-2030.
func BenchmarkYearOf(b *testing.B) {
	sum := 0
	for i := 0; b.Loop(); i++ {
		sum += YearOf(int32(10957 + i%10950))
	}
	if sum == 0 {
		b.Fatal("no years")
	}
}

func BenchmarkYearOfTime(b *testing.B) {
	sum := 0
	for i := 0; b.Loop(); i++ {
		sum += DateOf(int32(10957 + i%10950)).Year()
	}
	if sum == 0 {
		b.Fatal("no years")
	}
}

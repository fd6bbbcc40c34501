package lake

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// writeWith writes parts/rows into a new lake with opts and returns every
// committed file's path and the SHA-256 of its bytes on disk, checked
// against what Commit reported.
func writeWith(t *testing.T, parts []Partition, rows []Row, opts ...Option) []FileInfo {
	t.Helper()
	dir := t.TempDir()
	w, err := NewWriter(dir, "20261123T112546.504Z-pool", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for i := range rows {
		if err := w.Write(parts[i], rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(b)) != f.Bytes {
			t.Fatalf("%s: the file on disk is not what Commit reported", f.Path)
		}
	}
	return files
}

// TestPoolSameFiles writes the same rows with one goroutine and with the
// encoding pool, through every path that ends a batch, a row group or a
// file, and wants the same files, byte for byte.
func TestPoolSameFiles(t *testing.T) {
	nParts, nRows := nightRows(30000)
	// Every row in another partition than the one before.
	iParts, iRows := make([]Partition, 20000), make([]Row, 20000)
	for i := range iRows {
		iParts[i] = Partition{Source: "src", StartYear: 2016 + i%9}
		iRows[i] = testRow(iParts[i].StartYear, i)
	}
	// Runs of 300 rows of one partition, over more partitions than files
	// may be open.
	rParts, rRows := make([]Partition, 9000), make([]Row, 9000)
	for i := range rRows {
		rParts[i] = Partition{Source: "runs", StartYear: 2016 + i/300%9}
		rRows[i] = testRow(rParts[i].StartYear, i)
	}
	cases := []struct {
		name  string
		parts []Partition
		rows  []Row
		opts  []Option
	}{
		{"night", nParts, nRows, nil},
		{"night, buffered rows bound", nParts, nRows, []Option{MaxBufferedRows(2000)}},
		{"interleaved", iParts, iRows, nil},
		{"interleaved, row group and buffered bounds", iParts, iRows, []Option{MaxRowsPerRowGroup(700), MaxBufferedRows(1000)}},
		{"runs, open files bound", rParts, rRows, []Option{MaxOpenFiles(4)}},
		{"runs, all bounds", rParts, rRows, []Option{MaxRowsPerRowGroup(200), MaxBufferedRows(500), MaxOpenFiles(4)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := writeWith(t, c.parts, c.rows, append(c.opts[:len(c.opts):len(c.opts)], EncodeWorkers(1))...)
			for _, workers := range []int{2, 5} {
				got := writeWith(t, c.parts, c.rows, append(c.opts[:len(c.opts):len(c.opts)], EncodeWorkers(workers))...)
				if len(got) != len(want) {
					t.Fatalf("%d workers: %d files, one goroutine: %d", workers, len(got), len(want))
				}
				for i := range got {
					if got[i] != want[i] {
						t.Errorf("%d workers: file %d is %+v, one goroutine wrote %+v", workers, i, got[i], want[i])
					}
				}
			}
			if len(want) < 2 {
				t.Fatalf("%d files: the case writes no partitions side by side", len(want))
			}
		})
	}
}

// randomRow is testRow with random-looking keys, which zstd does not
// compress: its bytes fill parquet-go's write buffer soon.
func randomRow(year, i int) Row {
	r := testRow(year, i)
	k := sha256.Sum256([]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
	p := [16]byte(k[:16])
	r.Pseudonym, r.RecordKey = &p, [16]byte(k[16:])
	return r
}

// noLeak fails t unless the goroutines return to n within a second.
func noLeak(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); runtime.NumGoroutine() > n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before the writer", runtime.NumGoroutine(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPoolErrorSurfaces makes the files of an encoding pool's jobs fail
// (closed under the Writer) and wants the error from a later Write or
// Stage, the Writer failed afterwards, Abort removing the staging area and
// no goroutine left.
func TestPoolErrorSurfaces(t *testing.T) {
	for _, workers := range []int{1, 2, 4} {
		before := runtime.NumGoroutine()
		dir := t.TempDir()
		w, err := NewWriter(dir, "fail", EncodeWorkers(workers), MaxRowsPerRowGroup(300))
		if err != nil {
			t.Fatal(err)
		}
		parts := []Partition{{Source: "src", StartYear: 2020}, {Source: "src", StartYear: 2021}, {Source: "src", StartYear: 2022}}
		for i := range 3 {
			if err := w.Write(parts[i], randomRow(parts[i].StartYear, i)); err != nil {
				t.Fatal(err)
			}
		}
		w.open[parts[1]].f.Close() // every later write of this file fails
		var werr error
		i := 3
		for ; i < 30000 && werr == nil; i++ {
			p := parts[i%3]
			werr = w.Write(p, randomRow(p.StartYear, i))
		}
		if werr == nil {
			t.Fatalf("%d workers: 30000 rows written into a closed file without an error", workers)
		}
		if !errors.Is(werr, os.ErrClosed) {
			t.Errorf("%d workers: Write: %v, want the file's error", workers, werr)
		}
		if err := w.Write(parts[0], testRow(2020, i)); err == nil {
			t.Errorf("%d workers: Write after a failed write succeeded", workers)
		}
		if _, err := w.Stage(); err == nil {
			t.Errorf("%d workers: Stage after a failed write succeeded", workers)
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, StagingDir, "fail")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%d workers: staging directory after Abort: %v", workers, err)
		}
		noLeak(t, before)
	}
}

// TestPoolErrorAtStage makes a file fail only when it is finished, on an
// encoding goroutine, and wants Stage to return the error.
func TestPoolErrorAtStage(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	w, err := NewWriter(dir, "fail", EncodeWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for i := range 1000 {
		p := Partition{Source: "src", StartYear: 2016 + i%4}
		if err := w.Write(p, testRow(p.StartYear, i)); err != nil {
			t.Fatal(err)
		}
	}
	w.open[Partition{Source: "src", StartYear: 2018}].f.Close()
	if _, err := w.Stage(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Stage: %v, want the file's error", err)
	}
	if _, err := w.Commit(); err == nil {
		t.Error("Commit after a failed Stage succeeded")
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, StagingDir, "fail")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging directory after Abort: %v", err)
	}
	noLeak(t, before)
}

// TestPoolAbortWaits aborts a Writer while its encoding goroutines work,
// and wants nothing left: no staged file, no goroutine.
func TestPoolAbortWaits(t *testing.T) {
	// Runs of 300 rows of one partition, over more partitions than files
	// may be open: files are finished (evicted) while rows come.
	parts, rows := make([]Partition, 9000), make([]Row, 9000)
	for i := range rows {
		parts[i] = Partition{Source: "runs", StartYear: 2016 + i/300%9}
		rows[i] = randomRow(parts[i].StartYear, i)
	}
	for _, stage := range []bool{false, true} {
		before := runtime.NumGoroutine()
		dir := t.TempDir()
		w, err := NewWriter(dir, "abort", EncodeWorkers(4), MaxOpenFiles(4), MaxRowsPerRowGroup(100))
		if err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			if err := w.Write(parts[i], rows[i]); err != nil {
				t.Fatal(err)
			}
		}
		if stage {
			if _, err := w.Stage(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, StagingDir, "abort")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("staging directory after Abort: %v", err)
		}
		if files := parquetFiles(t, dir); len(files) != 0 {
			t.Errorf("files after Abort: %v", files)
		}
		noLeak(t, before)
	}
}

// TestPoolCommitNoLeak commits with the pool and wants no goroutine left.
func TestPoolCommitNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	parts, rows := nightRows(20000)
	writeWith(t, parts, rows, EncodeWorkers(4))
	noLeak(t, before)
}

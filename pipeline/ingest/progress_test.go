package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/ingest"
)

// progressLog records what a run tells its progress trackers.
type progressLog struct {
	mu    sync.Mutex
	files map[string]*fileProgress
}

type fileProgress struct {
	log     *progressLog
	size    int64
	updates [][2]int64 // bytes read, rows
	done    int
}

func (l *progressLog) start(file string, size int64) ingest.ProgressTracker {
	l.mu.Lock()
	defer l.mu.Unlock()
	fp := &fileProgress{log: l, size: size}
	l.files[file] = fp
	return fp
}

func (f *fileProgress) Update(bytesRead int64, rows int) {
	f.log.mu.Lock()
	defer f.log.mu.Unlock()
	f.updates = append(f.updates, [2]int64{bytesRead, int64(rows)})
}

func (f *fileProgress) Done() {
	f.log.mu.Lock()
	defer f.log.mu.Unlock()
	f.done++
}

func TestProgress(t *testing.T) {
	dir := t.TempDir()
	const n = 2*ingest.ProgressEvery + 1000
	rows := make([][4]string, n)
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		start := day.AddDate(0, 0, i%1500).Format("2006-01-02")
		rows[i] = [4]string{"19121212-1212", "Praktik", start, ""}
	}
	rows[7][0] = "19121212-1213" // quarantined, still read
	good := filepath.Join(dir, "inbox/amea/a-long.csv")
	ameaFile(t, good, rows)
	st, err := os.Stat(good)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "inbox/amea/b-truncated.csv")
	ameaFile(t, trunc, rows[:10])
	b, _ := os.ReadFile(trunc)
	if err := os.WriteFile(trunc, append(b, `"19121212-1212;Prak`...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inbox/amea/c-drift.csv"), []byte("a;b\n1;2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inbox/amea/d-empty.csv"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	pl := &progressLog{files: map[string]*fileProgress{}}
	rep, err := ingest.Run(context.Background(), job(t, dir, ""), newKey(t), ingest.Options{Progress: pl.start})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Read != n || rep.Totals.RejectedFiles != 3 {
		t.Fatalf("totals %+v", rep.Totals)
	}

	long := pl.files["amea/a-long.csv"]
	if long == nil || long.size != st.Size() || long.done != 1 {
		t.Fatalf("long file: %+v", long)
	}
	wantRows := []int64{ingest.ProgressEvery, 2 * ingest.ProgressEvery, n}
	if len(long.updates) != len(wantRows) {
		t.Fatalf("updates %v, want rows %v", long.updates, wantRows)
	}
	var last int64
	for i, u := range long.updates {
		if u[1] != wantRows[i] || u[0] < last || u[0] > st.Size() {
			t.Errorf("update %d = %v (bytes, rows), want rows %d and bytes rising to %d", i, u, wantRows[i], st.Size())
		}
		last = u[0]
	}
	if last != st.Size() {
		t.Errorf("last update at byte %d of %d", last, st.Size())
	}
	// Files rejected after they opened are closed off too; a file that
	// never opened has no tracker.
	for _, f := range []string{"amea/b-truncated.csv", "amea/c-drift.csv"} {
		if p := pl.files[f]; p == nil || p.done != 1 {
			t.Errorf("%s: %+v, want Done once", f, p)
		}
	}
	if p := pl.files["amea/c-drift.csv"]; p != nil && len(p.updates) != 0 {
		t.Errorf("drifted file got updates %v", p.updates)
	}
	if p := pl.files["amea/d-empty.csv"]; p != nil {
		t.Errorf("empty file got a tracker: %+v", p)
	}
}

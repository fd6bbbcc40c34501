package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/synth"
)

// TestWorkersDoNotChangeTheNight runs the same inbox (the generator's mix
// with an XLSX export, messy rows, a drifted file, plus an export delivered
// twice and a truncated one) with one converter worker and with several,
// and wants the same lake row for row and file for file, the same
// quarantine file byte for byte and the same report counts, file by file.
func TestWorkersDoNotChangeTheNight(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t)
	clock := time.Now().Add(time.Hour) // one clock for both runs, past every file's mtime
	run := func(name string, workers int) (*report.Run, *config.Job) {
		defer ingest.SetWorkers(workers)()
		d := filepath.Join(dir, name)
		inbox := filepath.Join(d, "inbox")
		if _, err := synth.Generate(inbox, synth.Options{Rows: 20000, Seed: 11, Reference: ref}); err != nil {
			t.Fatal(err)
		}
		// The same export again under a later name, and a truncated one.
		exports, _ := filepath.Glob(filepath.Join(inbox, "amea", "*.csv"))
		if len(exports) == 0 {
			t.Fatal("no amea export generated")
		}
		b, err := os.ReadFile(exports[0])
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(inbox, "amea", "zz-again.csv"), b)
		cut := bytes.Index(b[len(b)/2:], []byte("\n")) + len(b)/2 + 1
		writeFile(t, filepath.Join(inbox, "amea", "zz-truncated.csv"), append(b[:cut:cut], `"1912121`...))
		cfg := filepath.Join(d, "gallra.toml")
		if err := os.WriteFile(cfg, []byte(testConfig), 0o644); err != nil {
			t.Fatal(err)
		}
		j, err := config.Load(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := ingest.Run(context.Background(), j, key, ingest.Options{Version: "test", Now: func() time.Time { return clock }})
		if err != nil && rep.ExitCode != 3 && rep.ExitCode != 4 {
			t.Fatalf("%s: %v", name, err)
		}
		return rep, j
	}
	rep1, job1 := run("serial", 1)
	repN, jobN := run("parallel", 4)

	if rep1.Totals.Accepted < 15000 || rep1.Totals.RejectedFiles < 2 || rep1.Totals.DuplicateFiles != 1 {
		t.Fatalf("the night is not what the test needs: %+v", rep1.Totals)
	}
	if !reflect.DeepEqual(rep1.Totals, repN.Totals) {
		t.Errorf("totals: 1 worker %+v, 4 workers %+v", rep1.Totals, repN.Totals)
	}
	// Error messages name the file by its path, which differs.
	a := strings.ReplaceAll(sourcesJSON(t, rep1), filepath.Join(dir, "serial"), "DIR")
	b := strings.ReplaceAll(sourcesJSON(t, repN), filepath.Join(dir, "parallel"), "DIR")
	if a != b {
		t.Errorf("per-file report differs:\n1 worker  %s\n4 workers %s", a, b)
	}

	q1, err := os.ReadFile(rep1.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	qN, err := os.ReadFile(repN.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(q1, []byte("\n")) < 500 {
		t.Fatalf("only %d quarantine lines", bytes.Count(q1, []byte("\n")))
	}
	if !bytes.Equal(bytes.ReplaceAll(q1, []byte(rep1.RunID), nil), bytes.ReplaceAll(qN, []byte(repN.RunID), nil)) {
		t.Error("quarantine files differ (run IDs aside)")
	}

	files1, rows1 := lakeContent(t, job1.Lake, rep1.RunID)
	filesN, rowsN := lakeContent(t, jobN.Lake, repN.RunID)
	if !reflect.DeepEqual(files1, filesN) {
		t.Fatalf("lake files differ:\n%q\n%q", files1, filesN)
	}
	if len(rows1) != len(rowsN) || len(rows1) < 10000 {
		t.Fatalf("lake rows: %d and %d", len(rows1), len(rowsN))
	}
	for i := range rows1 {
		if !reflect.DeepEqual(rows1[i], rowsN[i]) {
			t.Fatalf("lake row %d differs between 1 and 4 workers", i)
		}
	}
}

// TestSettledFilesHoldNothing wants a file's held quarantine entries gone
// once its turn is over: the run keeps every file's state to the end, and a
// night of 100M rows held ~50 MB of entries for files long written out.
func TestSettledFilesHoldNothing(t *testing.T) {
	settled, worst := 0, 0
	defer ingest.OnSettled(func(held int) {
		settled++
		worst = max(worst, held)
	})()
	f := runFixture(t, 20000, 11)
	if f.rep.Totals.QuarantinedTotal() < 100 || settled < 5 {
		t.Fatalf("the night is not what the test needs: %d quarantined, %d files", f.rep.Totals.QuarantinedTotal(), settled)
	}
	if worst != 0 {
		t.Errorf("files whose turn was over still held %d quarantine entries", worst)
	}
}

// sourcesJSON is the report's per-source and per-file part as JSON.
func sourcesJSON(t *testing.T, rep *report.Run) string {
	t.Helper()
	b, err := json.Marshal(rep.Sources)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lakeContent lists the lake's data files (run ID taken out of their paths)
// and every row of them in file order, with the run ID blanked.
func lakeContent(t *testing.T, dir, runID string) ([]string, []lake.Row) {
	t.Helper()
	m, err := lake.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	var rows []lake.Row
	for _, f := range m.Files {
		files = append(files, strings.ReplaceAll(f.Path, runID, "RUN"))
		err := lake.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)), func(r lake.Row) error {
			r.RunID = ""
			rows = append(rows, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files, rows
}

func TestYYYYMMDD(t *testing.T) {
	for _, d := range []time.Time{
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1899, 12, 31, 23, 59, 0, 0, time.UTC), time.Date(9999, 10, 9, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := ingest.YYYYMMDD(d), d.Format("20060102"); got != want {
			t.Errorf("appendYYYYMMDD(%v) = %q, want %q", d, got, want)
		}
	}
}

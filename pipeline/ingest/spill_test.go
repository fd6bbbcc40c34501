package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/synth"
)

// TestSpillingRunMatchesInMemoryRun runs the same synthetic night twice,
// once with the batch held in memory and once spilling every few kilobytes
// with a writer that flushes row groups early, and wants the same lake
// content, the same report counts and nothing left in the staging area.
func TestSpillingRunMatchesInMemoryRun(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t)
	run := func(name string) (*report.Run, *config.Job) {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := synth.Generate(filepath.Join(d, "inbox"), synth.Options{Rows: 3000, Seed: 5, Reference: ref}); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(d, "gallra.toml")
		if err := os.WriteFile(cfg, []byte(testConfig), 0o644); err != nil {
			t.Fatal(err)
		}
		j, err := config.Load(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := ingest.Run(context.Background(), j, key, ingest.Options{Version: "test"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return rep, j
	}
	memRep, memJob := run("memory")
	restore := ingest.SetMemoryBounds(4<<10, 100)
	spillRep, spillJob := run("spilling")
	restore()

	if memRep.Totals.Accepted < 2000 || memRep.Totals.Accepted != spillRep.Totals.Accepted ||
		memRep.Totals.QuarantinedTotal() != spillRep.Totals.QuarantinedTotal() {
		t.Errorf("totals differ: in memory %+v, spilling %+v", memRep.Totals, spillRep.Totals)
	}
	q := "SELECT source, start_year, record_key, pseudonym, id_kind, measure, period_start, period_end, sex, age_band, municipality FROM lake ORDER BY record_key"
	a, b := lakeRows(t, memJob.Lake, q), lakeRows(t, spillJob.Lake, q)
	if len(a) != memRep.Totals.Accepted-dupKeys(t, memRep) || len(a) != len(b) {
		t.Fatalf("lake rows: in memory %d, spilling %d", len(a), len(b))
	}
	for i := range a {
		if joinRows(a[i:i+1]) != joinRows(b[i:i+1]) {
			t.Fatalf("row %d differs between the in-memory and the spilling run", i)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(spillJob.Lake, lake.StagingDir)); err == nil && len(entries) > 0 {
		t.Errorf("staging area not empty after a spilling run: %d entries", len(entries))
	}
}

// TestSpillingRunRejectsTruncatedFile: a file rejected after some of its rows
// were spilled leaves none of them in the lake.
func TestSpillingRunRejectsTruncatedFile(t *testing.T) {
	defer ingest.SetMemoryBounds(1, 10)()
	dir := t.TempDir()
	ameaFile(t, filepath.Join(dir, "inbox/amea/a-good.csv"), [][4]string{{"19121212-1212", "Praktik", "2024-01-01", "2024-03-31"}})
	trunc := filepath.Join(dir, "inbox/amea/b-truncated.csv")
	ameaFile(t, trunc, [][4]string{
		{"19121212-1212", "Praktik", "2024-01-01", "2024-04-30"}, // a later version of a-good's row
		{"19850301-2380", "Arbetsträning", "2024-05-01", ""},
	})
	b, _ := os.ReadFile(trunc)
	if err := os.WriteFile(trunc, append(b, []byte("\"19121212-1212;Prak")...), 0o644); err != nil {
		t.Fatal(err)
	}
	j := job(t, dir, "")
	rep, err := ingest.Run(context.Background(), j, newKey(t), ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals.RejectedFiles != 1 {
		t.Fatalf("rejected files %d, want 1", rep.Totals.RejectedFiles)
	}
	rows := lakeRows(t, j.Lake, "SELECT measure, period_end FROM lake")
	if len(rows) != 1 || rows[0][0] != "PRAKTIK" || rows[0][1] != "2024-03-31" {
		t.Errorf("lake rows %v: only a-good's version may be there", rows)
	}
}

// dupKeys is how many accepted rows were later versions of a participation
// already in the same night (they fold into one lake row).
func dupKeys(t *testing.T, rep *report.Run) int {
	n := 0
	for _, p := range rep.Partitions {
		n += p.Inserted + p.Updated + p.Unchanged
	}
	return rep.Totals.Accepted - n
}

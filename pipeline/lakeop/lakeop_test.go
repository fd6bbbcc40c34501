package lakeop_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/pipeline/testlake"
)

// dropKartlaggning drops every Kartläggning row (P4's two rows of 2024).
func dropKartlaggning(p lake.Partition, r lake.Row) (lake.Row, bool, error) {
	return r, r.Measure != "KARTLAGGNING", nil
}

func rows(t *testing.T, dir string) (n int, measures map[string]int) {
	t.Helper()
	m, err := lake.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	measures = map[string]int{}
	for _, f := range m.Files {
		err := lake.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)), func(r lake.Row) error {
			n++
			measures[r.Measure]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return n, measures
}

func TestRewriteCommitsOnlyChangedPartitionsAndLogs(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	before, _ := lake.ReadManifest(l.Dir)
	n0, m0 := rows(t, l.Dir)
	if m0["KARTLAGGNING"] != 2 {
		t.Fatalf("hand-checked lake has %d Kartläggning rows, want 2", m0["KARTLAGGNING"])
	}
	var visited []lake.Partition
	log, err := lakeop.Do(context.Background(), l.Dir, func(ctx context.Context, tx *lakeop.Tx) error {
		d, c, err := tx.Rewrite(func(p lake.Partition) bool { visited = append(visited, p); return true }, dropKartlaggning)
		tx.Log.Count("rows_dropped", d)
		tx.Log.Count("rows_changed", c)
		return err
	}, lakeop.Options{Kind: "test-drop"})
	if err != nil {
		t.Fatal(err)
	}
	if log.Outcome != lakeop.OutcomeOK || log.Generation != before.Generation+1 {
		t.Fatalf("outcome %s generation %d, want ok and %d", log.Outcome, log.Generation, before.Generation+1)
	}
	if log.Counts["rows_dropped"] != 2 || log.Counts["rows_changed"] != 0 {
		t.Errorf("counts %v", log.Counts)
	}
	n1, m1 := rows(t, l.Dir)
	if n1 != n0-2 || m1["KARTLAGGNING"] != 0 {
		t.Errorf("after: %d rows (%v), want %d and no Kartläggning", n1, m1, n0-2)
	}
	// Only the 2024 partition held Kartläggning: the others keep their files.
	after, _ := lake.ReadManifest(l.Dir)
	kept := 0
	for _, f := range before.Files {
		for _, g := range after.Files {
			if f.Path == g.Path {
				kept++
			}
		}
	}
	if kept != len(before.Files)-1 || len(visited) != len(before.Partitions()) {
		t.Errorf("kept %d of %d files, visited %d partitions", kept, len(before.Files), len(visited))
	}
	// The run log holds the entry.
	b, err := os.ReadFile(filepath.Join(l.Dir, lake.MetaDir, "runs", log.RunID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var got lakeop.Log
	if err := json.Unmarshal(b, &got); err != nil || got.Kind != "test-drop" || got.Counts["rows_dropped"] != 2 {
		t.Errorf("run log entry: %v %+v", err, got)
	}
	// The lake is consistent.
	rep, err := lake.Check(l.Dir, true)
	if err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}

	// Nothing left to drop: no commit.
	log, err = lakeop.Do(context.Background(), l.Dir, func(ctx context.Context, tx *lakeop.Tx) error {
		_, _, err := tx.Rewrite(nil, dropKartlaggning)
		return err
	}, lakeop.Options{Kind: "test-drop"})
	if err != nil || log.Outcome != lakeop.OutcomeNothing || log.Generation != after.Generation {
		t.Errorf("second drop: %v %s gen %d", err, log.Outcome, log.Generation)
	}
}

func TestFailedAndDryRunOperationsChangeNothing(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	before, _ := lake.ReadManifest(l.Dir)
	boom := errors.New("boom")
	log, err := lakeop.Do(context.Background(), l.Dir, func(ctx context.Context, tx *lakeop.Tx) error {
		if _, _, err := tx.Rewrite(nil, dropKartlaggning); err != nil {
			return err
		}
		return boom
	}, lakeop.Options{Kind: "test-fail"})
	if !errors.Is(err, boom) || log.Outcome != lakeop.OutcomeFailed || log.ExitCode == 0 {
		t.Fatalf("err %v outcome %s", err, log.Outcome)
	}
	log, err = lakeop.Do(context.Background(), l.Dir, func(ctx context.Context, tx *lakeop.Tx) error {
		d, _, err := tx.Rewrite(nil, dropKartlaggning)
		tx.Log.Count("rows_dropped", d)
		return err
	}, lakeop.Options{Kind: "test-dry", DryRun: true})
	if err != nil || log.Outcome != lakeop.OutcomeDryRun || log.Counts["rows_dropped"] != 2 {
		t.Fatalf("dry run: %v %s %v", err, log.Outcome, log.Counts)
	}
	after, _ := lake.ReadManifest(l.Dir)
	if after.Generation != before.Generation || len(after.Files) != len(before.Files) {
		t.Errorf("generation %d -> %d", before.Generation, after.Generation)
	}
	if ents, _ := os.ReadDir(filepath.Join(l.Dir, lake.StagingDir)); len(ents) != 0 {
		t.Errorf("staging left behind: %d entries", len(ents))
	}
	if rep, err := lake.Check(l.Dir, true); err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
}

func TestLockedLake(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	lock, err := lake.AcquireLock(l.Dir, "20261123T000000.000Z-holder")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	_, err = lakeop.Do(context.Background(), l.Dir, func(ctx context.Context, tx *lakeop.Tx) error { return nil }, lakeop.Options{Kind: "x"})
	if !errors.Is(err, lakeop.ErrLocked) {
		t.Errorf("err %v, want ErrLocked", err)
	}
}

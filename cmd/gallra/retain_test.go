package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
)

// retainState is what a lake holds after retention, without what differs
// between two runs of the same retention (run IDs, random cell keys of the
// anonymised tier, the frozen files' run).
func retainState(t *testing.T, lakeDir string) map[string]string {
	t.Helper()
	ctx := context.Background()
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, lakeDir); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, q := range map[string]string{
		"lake":       "SELECT * EXCLUDE (run_id) FROM lake ORDER BY ALL",
		"anonymised": "SELECT * EXCLUDE (cell_key, anonymised_by_run) FROM anonymised ORDER BY ALL",
		"aggregates": "SELECT * EXCLUDE (frozen_by_run) FROM aggregates ORDER BY ALL",
	} {
		_, rows, err := duck.Query(ctx, db, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out[name] = fmt.Sprint(len(rows), rows)
	}
	return out
}

// TestRetainCommand: gallra retain --dry-run reports and changes nothing;
// gallra retain commits one "retain" run that moves rows out of the lake
// view into the anonymised tier and freezes years; a second one on the same
// day has nothing to do; gallra check is clean.
func TestRetainCommand(t *testing.T) {
	dir := opsJob(t)
	opsNight(t, dir, 1)
	cfg := filepath.Join(dir, "gallra.toml")
	lakeDir := filepath.Join(dir, "lake")
	before := retainState(t, lakeDir)

	out, code, err := run(t, "", "retain", "--config", cfg, "--dry-run", "--date", "2026-11-23")
	if code != 0 || !strings.Contains(out, "dry run: nothing changed") || !strings.Contains(out, "jonkoping_amea") {
		t.Fatalf("retain --dry-run: exit %d, %v\n%s", code, err, out)
	}
	if after := retainState(t, lakeDir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("the dry run changed the lake")
	}
	// --memory-limit reaches DuckDB: a limit it cannot parse fails the
	// run before anything changes.
	out, code, err = run(t, "", "retain", "--config", cfg, "--date", "2026-11-23", "--memory-limit", "lots")
	if code != report.ExitFailed || err == nil || !strings.Contains(strings.ToLower(err.Error()), "memory") {
		t.Fatalf("retain --memory-limit lots: exit %d, %v\n%s", code, err, out)
	}
	if after := retainState(t, lakeDir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("a failed retention changed the lake")
	}
	out, code, err = run(t, "", "retain", "--config", cfg, "--date", "2026-11-23", "--json", "--memory-limit", "512MB")
	if code != 0 || !strings.Contains(out, `"kind": "retain"`) || !strings.Contains(out, `"rows_anonymised"`) {
		t.Fatalf("retain: exit %d, %v\n%s", code, err, out)
	}
	after := retainState(t, lakeDir)
	if after["lake"] == before["lake"] || strings.HasPrefix(after["anonymised"], "0 ") || strings.HasPrefix(after["aggregates"], "0 ") {
		t.Fatalf("retain changed nothing:\n%v", after)
	}
	out, code, err = run(t, "", "retain", "--config", cfg, "--date", "2026-11-23")
	if code != 0 || !strings.Contains(out, "nothing due") {
		t.Errorf("second retain: exit %d, %v\n%s", code, err, out)
	}
	if out, code, err = run(t, "", "check", "--lake", lakeDir); code != 0 {
		t.Errorf("check: exit %d, %v\n%s", code, err, out)
	}
	if _, code, _ = run(t, "", "retain", "--config", cfg, "--date", "23/11/2026"); code != report.ExitUsage {
		t.Errorf("a bad date: exit %d, want %d", code, report.ExitUsage)
	}
}

// TestRetainCrash kills gallra retain at every step of its commit and runs
// it again: the lake then holds exactly what one uninterrupted retention
// gives, whether the kill came before the commit point (nothing happened)
// or after it (the next run finishes the commit), and gallra check is
// clean.
func TestRetainCrash(t *testing.T) {
	bin := crashBinary(t)
	base := opsJob(t)
	opsNight(t, base, 1)
	clean := filepath.Join(t.TempDir(), "clean")
	copyTree(t, base, clean)
	if out, code, err := run(t, "", "retain", "--config", filepath.Join(clean, "gallra.toml"), "--date", "2026-11-23"); code != 0 {
		t.Fatalf("clean retain: exit %d, %v\n%s", code, err, out)
	}
	want := retainState(t, filepath.Join(clean, "lake"))
	for _, at := range []string{"publish-before-manifest", "manifest-before-rename", "publish-after-manifest",
		"publish-rename#3", "publish-delete#2", "publish-before-clear"} {
		t.Run(at, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "job")
			copyTree(t, base, dir)
			cfg := filepath.Join(dir, "gallra.toml")
			cmd := exec.Command(bin, "retain", "--config", cfg, "--date", "2026-11-23")
			cmd.Env = append(os.Environ(), "GALLRA_CRASH_AT="+at)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("retain was not killed at %s: %v\n%s", at, err, out)
			}
			if out, code, err := run(t, "", "retain", "--config", cfg, "--date", "2026-11-23"); code != 0 {
				t.Fatalf("retain after the crash: exit %d, %v\n%s", code, err, out)
			}
			if got := retainState(t, filepath.Join(dir, "lake")); fmt.Sprint(got) != fmt.Sprint(want) {
				for k := range want {
					if got[k] != want[k] {
						t.Errorf("%s differs from an uninterrupted retention (%.80s… vs %.80s…)", k, got[k], want[k])
					}
				}
			}
			rep, err := lake.Check(filepath.Join(dir, "lake"), true)
			if err != nil || !rep.OK() || len(rep.Orphans) != 0 {
				t.Errorf("check after the crash: %v %v orphans %v", err, rep.Problems, rep.Orphans)
			}
		})
	}
}

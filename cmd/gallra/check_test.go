package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
)

func TestCheckCommand(t *testing.T) {
	dir := opsJob(t)
	lakeDir := filepath.Join(dir, "lake")
	opsNight(t, dir, 1)
	opsNight(t, dir, 2)

	for _, args := range [][]string{{"--lake", lakeDir}, {"--config", filepath.Join(dir, "gallra.toml"), "--quick"}} {
		out, code, err := run(t, "", append([]string{"check"}, args...)...)
		if code != 0 || !strings.Contains(out, "no problems found") || !strings.Contains(out, "lake generation 2") {
			t.Fatalf("check %v on a clean lake: exit %d, %v\n%s", args, code, err, out)
		}
	}

	m, err := lake.ReadManifest(lakeDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) < 2 {
		t.Fatalf("want at least 2 files, have %d", len(m.Files))
	}
	// Bit rot in one file, another file lost, and a crashed run's staging.
	first, second := m.Files[0].Path, m.Files[1].Path
	b, err := os.ReadFile(filepath.Join(lakeDir, first))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/3] ^= 0x01
	if err := os.WriteFile(filepath.Join(lakeDir, first), b, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(lakeDir, second)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(lakeDir, lake.StagingDir, "crashed"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lakeDir, lake.StagingDir, "crashed", "0.parquet.tmp"), []byte("PAR1"), 0o640); err != nil {
		t.Fatal(err)
	}
	out, code, err := run(t, "", "check", "--lake", lakeDir)
	if code != report.ExitFailed || err == nil {
		t.Fatalf("damaged lake: exit %d, %v\n%s", code, err, out)
	}
	for _, want := range []string{
		first + ": content differs from the manifest",
		second + ": listed in the manifest but missing",
		lake.StagingDir + "/crashed: leftover staging area",
		"3 problem(s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	// Every problem line names a file of the lake first.
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "check: ") {
			continue
		}
		if f, _, ok := strings.Cut(l, ": "); !ok || !(strings.HasPrefix(f, "source=") || strings.HasPrefix(f, "_")) {
			t.Errorf("problem line does not start with a file of the lake: %q", l)
		}
	}

	// A run holding the lake: exit 5, try later.
	lk, err := lake.AcquireLock(lakeDir, "someone")
	if err != nil {
		t.Fatal(err)
	}
	_, code, err = run(t, "", "check", "--lake", lakeDir)
	lk.Release()
	if code != report.ExitLocked {
		t.Errorf("check while locked: exit %d, %v", code, err)
	}
	if _, code, _ := run(t, "", "check"); code != report.ExitUsage {
		t.Errorf("check without a lake: exit %d", code)
	}
	if _, code, _ := run(t, "", "check", "--lake", filepath.Join(dir, "nope")); code != report.ExitFailed {
		t.Errorf("check of a missing folder: exit %d", code)
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"github.com/gallra/gallra/pipeline/synth"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
)

// opsNight is one nightly run through the CLI on a job folder that
// opsJob made; it fails the test unless the run committed.
func opsNight(t *testing.T, dir string, seed int) {
	t.Helper()
	if seed > 0 {
		// generate writes into an empty folder; files rejected on an
		// earlier night wait in the inbox, so the night's exports are
		// moved in.
		gen := filepath.Join(dir, fmt.Sprintf("gen-%d", seed))
		out, code, err := run(t, "", "generate", "--out", gen, "--rows", "300", "--seed", fmt.Sprint(seed))
		if code != 0 {
			t.Fatalf("generate: exit %d, %v\n%s", code, err, out)
		}
		srcs, err := os.ReadDir(gen)
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range srcs {
			if !src.IsDir() {
				continue
			}
			files, err := os.ReadDir(filepath.Join(gen, src.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "inbox", src.Name()), 0o750); err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if err := os.Rename(filepath.Join(gen, src.Name(), f.Name()), filepath.Join(dir, "inbox", src.Name(), f.Name())); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// --no-retain: these tests count the nights' own commits (retention's
	// are tested in retain_test.go).
	out, code, err := run(t, "", "run", "--config", filepath.Join(dir, "gallra.toml"), "--progress", "off", "--no-retain")
	if code != report.ExitOK && code != report.ExitQuarantined && code != report.ExitRejected {
		t.Fatalf("run: exit %d, %v\n%s", code, err, out)
	}
}

// opsJob makes a job folder with the demo's job file and a key.
func opsJob(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, code, err := run(t, "", "key", "new", "--out", filepath.Join(dir, "keys", "gallra.key")); code != 0 {
		if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
			t.Fatal(err)
		}
		if out, code, err = run(t, "", "key", "new", "--out", filepath.Join(dir, "keys", "gallra.key")); code != 0 {
			t.Fatalf("key new: %v\n%s", err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "gallra.toml"), fmt.Appendf(nil, demoConfig+synth.Sources, defaultReference), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunsCommand(t *testing.T) {
	dir := opsJob(t)
	lakeDir := filepath.Join(dir, "lake")
	out, code, _ := run(t, "", "runs", "--lake", lakeDir)
	if code != report.ExitFailed {
		t.Errorf("runs on a missing lake: exit %d\n%s", code, out)
	}
	opsNight(t, dir, 1)
	opsNight(t, dir, 2)
	opsNight(t, dir, 0) // nothing new: the rejected file of night 1 is read again, nothing committed

	m, err := lake.ReadManifest(lakeDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Runs) != 2 {
		t.Fatalf("committed runs %v, want 2", m.Runs)
	}

	out, code, err = run(t, "", "runs", "--lake", lakeDir)
	if code != 0 {
		t.Fatalf("runs: exit %d, %v\n%s", code, err, out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "run ") {
		t.Fatalf("want a header and 3 runs:\n%s", out)
	}
	for i, id := range m.Runs {
		if f := strings.Fields(lines[i+1]); f[0] != id || f[len(f)-1] != fmt.Sprint(i+1) {
			t.Errorf("line %d = %q, want run %s at generation %d", i+2, lines[i+1], id, i+1)
		}
	}
	if f := strings.Fields(lines[3]); f[len(f)-1] != "2" || f[len(f)-2] != "0/0" {
		t.Errorf("the third night merged something: %q", lines[3])
	}

	out, code, err = run(t, "", "runs", "--config", filepath.Join(dir, "gallra.toml"), "--json")
	if code != 0 {
		t.Fatalf("runs --json: exit %d, %v\n%s", code, err, out)
	}
	var got []runLine
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("runs --json: %v\n%s", err, out)
	}
	if len(got) != 3 {
		t.Fatalf("%d runs in JSON", len(got))
	}
	for i, l := range got {
		rep, err := report.ReadJSON(filepath.Join(dir, "reports", "run-"+l.RunID+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if l.Read != rep.Totals.Read || l.Accepted != rep.Totals.Accepted || l.Quarantined != rep.Totals.QuarantinedTotal() ||
			l.Rejected != rep.Totals.RejectedFiles || l.Outcome != rep.Outcome || l.Generation != rep.Generation {
			t.Errorf("run %d: %+v, report totals %+v", i, l, rep.Totals)
		}
		if i > 0 && got[i-1].Started.After(l.Started) {
			t.Errorf("runs not oldest first: %v then %v", got[i-1].Started, l.Started)
		}
	}
	if got[0].Inserted == 0 || got[0].Read == 0 || got[0].FilesOK == 0 {
		t.Errorf("first night %+v", got[0])
	}
	if got[2].FilesOK != 0 || got[2].Rejected == 0 {
		t.Errorf("third night %+v: only the file rejected before should have been read", got[2])
	}

	// A run log file that does not read is named, and the rest still listed.
	bad := filepath.Join(lakeDir, lake.MetaDir, "runs", "zz-broken.json")
	if err := os.WriteFile(bad, []byte("{"), 0o640); err != nil {
		t.Fatal(err)
	}
	out, code, err = run(t, "", "runs", "--lake", lakeDir)
	if code != report.ExitFailed || err == nil || !strings.Contains(err.Error(), "zz-broken.json") || strings.Count(out, "\n") != 4 {
		t.Errorf("broken run log: exit %d, %v\n%s", code, err, out)
	}
	if _, code, _ := run(t, "", "runs"); code != report.ExitUsage {
		t.Errorf("runs without a lake: exit %d", code)
	}
}

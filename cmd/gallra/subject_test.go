package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/schemas"
)

func TestSubjectCommands(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	cfg := filepath.Join(filepath.Dir(l.Dir), "gallra.toml")
	key := filepath.Join(t.TempDir(), "k.key")
	if err := keyfile.Write(key, l.Key, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := lake.ReadManifest(l.Dir)

	// Access from stdin, text report.
	out := filepath.Join(t.TempDir(), "svar.txt")
	stdout, code, err := run(t, "# KS 2026/0142\n850301-2380\n19880101-2389\n", "subject", "access", "--config", cfg, "--key", key,
		"--reference", "KS 2026/0142", "--out", out)
	if code != 0 {
		t.Fatalf("access: %v (exit %d)\n%s", err, code, stdout)
	}
	if !strings.Contains(stdout, "2 of 2 person(s) found, 5 row(s)") {
		t.Errorf("access output: %s", stdout)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("report file: %v", err)
	}
	// --out never replaces a file.
	if _, code, _ := run(t, "850301-2380\n", "subject", "access", "--config", cfg, "--key", key, "--out", out); code != report.ExitUsage {
		t.Errorf("existing --out: exit %d", code)
	}

	// Unusable lines: exit 2, named by number and reason only.
	stdout, code, err = run(t, "850301-2380\n850301-2381\n", "subject", "erase", "--config", cfg, "--key", key, "--reference", "KS 1")
	if code != report.ExitUsage || err == nil || !strings.Contains(err.Error(), "line 2: bad_check_digit") || strings.Contains(err.Error()+stdout, "2381") {
		t.Errorf("bad line: exit %d, %v\n%s", code, err, stdout)
	}
	// A reference that is an identifier: exit 2, not repeated.
	_, code, err = run(t, "850301-2380\n", "subject", "erase", "--config", cfg, "--key", key, "--reference", "850301-2380")
	if code != report.ExitUsage || strings.Contains(err.Error(), "2380") {
		t.Errorf("identifier as reference: exit %d, %v", code, err)
	}

	// Dry run from a file, then the erasure.
	in := filepath.Join(t.TempDir(), "request.txt")
	if err := os.WriteFile(in, []byte("198503012380\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, code, _ = run(t, "", "subject", "erase", "--config", cfg, "--key", key, "--in", in, "--reference", "KS 2026/0142", "--dry-run")
	if code != 0 || !strings.Contains(stdout, "line 1: 3 row(s) would be erased") {
		t.Errorf("dry run: exit %d\n%s", code, stdout)
	}
	if m, _ := lake.ReadManifest(l.Dir); m.Generation != before.Generation {
		t.Error("dry run committed")
	}
	// An export waiting in the inbox holds the person: committed, exit 4.
	writeAMEa(t, filepath.Join(filepath.Dir(l.Dir), "inbox", "amea", "waiting.csv"), "19850301-2380", "Praktik", "2026-01-05")
	stdout, code, _ = run(t, "", "subject", "erase", "--config", cfg, "--key", key, "--in", in, "--reference", "KS 2026/0142")
	if code != report.ExitRejected || !strings.Contains(stdout, "line 1: 3 row(s) erased") || !strings.Contains(stdout, "waiting.csv") {
		t.Errorf("erase: exit %d\n%s", code, stdout)
	}
	if m, _ := lake.ReadManifest(l.Dir); m.Generation != before.Generation+1 {
		t.Error("erase did not commit")
	}
	if strings.Contains(stdout, "2380") {
		t.Errorf("output holds an identifier: %s", stdout)
	}
}

// writeAMEa writes a one-row AMEa export.
func writeAMEa(t *testing.T, path, id, measure, start string) {
	t.Helper()
	s, err := schemas.Lookup("amea")
	if err != nil {
		t.Fatal(err)
	}
	var header, rec []string
	for _, c := range s.Columns {
		header = append(header, c.Name)
		rec = append(rec, map[string]string{"identifier": id, "measure": measure, "period_start": start}[c.Holds])
	}
	body := strings.Join(header, ";") + "\n" + strings.Join(rec, ";") + "\n"
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/export/jsonstat"
	"github.com/gallra/gallra/pipeline/export/px"
	"github.com/gallra/gallra/pipeline/report"
)

// TestDemoAndExport runs the demo (which ends with one export per format)
// and then exports with suppression, and reads the files back with the
// independent readers.
func TestDemoAndExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, code, err := run(t, "", "demo", "--dir", dir, "--rows", "1500", "--seed", "5")
	if err != nil || code != 0 {
		t.Fatalf("demo: exit %d, %v\n%s", code, err, out)
	}
	for _, ext := range []string{".csv", ".csv-meta.json", ".xlsx", ".px", ".json"} {
		if _, err := os.Stat(filepath.Join(dir, "exports", "participants_measure_year"+ext)); err != nil {
			t.Errorf("demo export %s: %v", ext, err)
		}
	}
	if !strings.Contains(out, "0 finding(s)") {
		t.Errorf("demo did not verify its outputs:\n%s", out)
	}

	out, code, err = run(t, "", "stats", "--config", filepath.Join(dir, "gallra.toml"), "--from", "2024", "--to", "2025", "participants", "cohorts")
	if err != nil || code != 0 || !strings.Contains(out, "Deltagare och deltaganden per åtgärd och år (participants), 2024–2025") ||
		!strings.Contains(out, "cohort_size") {
		t.Fatalf("stats: exit %d, %v\n%s", code, err, out)
	}

	out, code, err = run(t, "", "retain", "--config", filepath.Join(dir, "gallra.toml"), "--dry-run", "--date", "2026-11-23")
	if err != nil || code != 0 || !strings.Contains(out, "jonkoping_amea") || !strings.Contains(out, "purge_anonymised") || !strings.Contains(out, "dry run") {
		t.Fatalf("retain --dry-run: exit %d, %v\n%s", code, err, out)
	}

	exp := filepath.Join(t.TempDir(), "exp")
	out, code, err = run(t, "", "export", "--config", filepath.Join(dir, "gallra.toml"), "--by", "measure,year",
		"--from", "2020", "--to", "2025", "--method", "suppress", "--out", exp)
	if err != nil || code != 0 {
		t.Fatalf("export: exit %d, %v\n%s", code, err, out)
	}
	f, err := os.Open(filepath.Join(exp, "participants_measure_year.px"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tb, err := px.ReadPX(f)
	if err != nil {
		t.Fatalf("PX does not read back: %v", err)
	}
	suppressed := 0
	for i, s := range tb.Status {
		if s == ".." {
			suppressed++
			if tb.Values[i] != 0 {
				t.Errorf("cell %d is suppressed but carries a value", i)
			}
		}
	}
	if suppressed == 0 {
		t.Error("a table of a 1,500-row lake over 19 measures and 6 years has no small cell to suppress")
	}
	b, err := os.ReadFile(filepath.Join(exp, "participants_measure_year.json"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jsonstat.CheckJSONStat(b)
	if err != nil {
		t.Fatalf("JSON-stat does not check: %v", err)
	}
	if !strings.Contains(js.Method+strings.Join(js.Notes, " "), "uppress") && !strings.Contains(string(b), "undertryck") {
		t.Errorf("the suppression method is not recorded: %q", js.Method)
	}

	_, code, _ = run(t, "", "export", "--config", filepath.Join(dir, "gallra.toml"), "--method", "guess", "--out", exp)
	if code != report.ExitFailed {
		t.Errorf("unknown method: exit %d", code)
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/report"
)

func TestUseProgress(t *testing.T) {
	for _, tc := range []struct {
		mode, logFormat string
		term, want      bool
	}{
		{"auto", "auto", true, true},
		{"auto", "text", true, true},
		{"auto", "json", true, false},
		{"auto", "auto", false, false},
		{"on", "json", true, true},
		{"on", "text", false, false}, // never without a terminal: cron, systemd
		{"off", "text", true, false},
	} {
		got, err := useProgress(tc.mode, tc.logFormat, tc.term)
		if err != nil || got != tc.want {
			t.Errorf("useProgress(%q, %q, terminal %v) = %v, %v; want %v", tc.mode, tc.logFormat, tc.term, got, err, tc.want)
		}
	}
	if _, err := useProgress("yes", "text", true); err == nil {
		t.Error("--progress yes accepted")
	}
	dir := t.TempDir()
	for _, args := range [][]string{{"run", "--config", filepath.Join(dir, "x.toml")}, {"demo", "--dir", filepath.Join(dir, "demo")}} {
		if _, code, err := run(t, "", append(args, "--progress", "always")...); code != report.ExitUsage {
			t.Errorf("%s --progress always: exit %d, want %d (%v)", args[0], code, report.ExitUsage, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a bad --progress left %d file(s) behind", len(entries))
	}
}

func TestFileBar(t *testing.T) {
	var term bytes.Buffer
	out := &stderrWriter{w: &term}
	start := newFileBar(out)

	// A file too short for an update never draws a bar.
	small := start("amea/small.csv", 100)
	small.Done()
	if term.Len() != 0 {
		t.Fatalf("a file without updates drew %q", term.String())
	}

	long := start("amea/long.csv", 1<<20)
	long.Update(256<<10, 4096)
	drawn := term.String()
	for _, want := range []string{"amea/long.csv", "4 096 rows", "rows/s", "25%", "kB/1.0 MB"} {
		if !strings.Contains(drawn, want) {
			t.Errorf("bar %q lacks %q", drawn, want)
		}
	}
	// A log line takes the bar off the line first.
	term.Reset()
	if _, err := out.Write([]byte("level=INFO msg=\"file read\"\n")); err != nil {
		t.Fatal(err)
	}
	if s := term.String(); !strings.HasPrefix(s, "\r") || !strings.HasSuffix(s, "\rlevel=INFO msg=\"file read\"\n") {
		t.Errorf("log line written over the bar: %q", s)
	}
	term.Reset()
	long.Done()
	if s := term.String(); strings.Trim(s, " \r") != "" {
		t.Errorf("Done left %q on the terminal", s)
	}
	if out.bar != nil {
		t.Error("Done left the bar in the log writer")
	}
	term.Reset()
	if _, err := out.Write([]byte("x\n")); err != nil || term.String() != "x\n" {
		t.Errorf("log after Done: %q, %v", term.String(), err)
	}

	// Without a byte position (XLSX) the bar counts rows.
	x := start("skills/export.xlsx", 5000)
	x.Update(0, 8192)
	if s := term.String(); !strings.Contains(s, "skills/export.xlsx") || !strings.Contains(s, "8192") || !strings.Contains(s, "rows") {
		t.Errorf("row bar %q", s)
	}
	x.Done()
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1 000", 1234567: "1 234 567", -5: "-5"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

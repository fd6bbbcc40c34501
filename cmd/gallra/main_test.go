package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/report"
)

// run executes the CLI in-process with the given stdin and returns stdout and
// the exit code main would use.
func run(t *testing.T, stdin string, args ...string) (string, int, error) {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Reader = strings.NewReader(stdin)
	app.Writer = &out
	app.ErrWriter = &out
	err := app.Run(append([]string{"gallra", "--log-format", "text"}, args...))
	code := 0
	if err != nil {
		code = report.ExitFailed
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		}
	}
	return out.String(), code, err
}

func TestIDCheck(t *testing.T) {
	in := strings.Join([]string{
		"19121212-1212", // Skatteverket's well-known example
		"121212-1212",   // the same, 10 digits
		"19121212-1213", // wrong check digit
		"19900431-1234", // 31 April
		"",              // empty
		"191212121212",  // 12 digits without separator
		"20120304-TF12", // school temporary number
		"1.91212E+11",   // mangled by Excel
		"19850171-2387", // day 71 = 11 + 60: samordningsnummer
	}, "\n") + "\n"
	out, code, err := run(t, in, "id", "check", "--reference-date", "2026-11-23")
	if err != nil || code != 0 {
		t.Fatalf("id check: %v (exit %d)\n%s", err, code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 9 {
		t.Fatalf("got %d lines for 9 inputs:\n%s", len(lines), out)
	}
	want := []string{"valid personnummer", "valid personnummer", "invalid bad_check_digit", "invalid impossible_date",
		"invalid empty", "valid personnummer", "valid reserve", "invalid excel_scientific", "valid samordningsnummer"}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], w)
		}
	}
	if strings.Contains(out, "1212") {
		t.Error("id check printed (part of) a number")
	}
}

func TestKeyNewAndPseudonym(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k.key")
	out, code, err := run(t, "", "key", "new", "--out", key)
	if err != nil || code != 0 {
		t.Fatalf("key new: %v\n%s", err, out)
	}
	if !strings.Contains(out, "gk1-") {
		t.Errorf("key new does not print the key ID: %s", out)
	}
	st, err := os.Stat(key)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", st.Mode(), err)
	}
	if _, code, _ := run(t, "", "key", "new", "--out", key); code == 0 {
		t.Error("key new overwrote an existing key")
	}

	// Skatteverket's test number 198503012380 in three forms, then a bad check digit.
	in := "19850301-2380\n850301-2380\n8503012380\n19850301-2381\n"
	out, code, err = run(t, in, "id", "pseudonym", "--key", key, "--reference-date", "2026-11-23")
	if err != nil || code != 0 {
		t.Fatalf("id pseudonym: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || lines[0] != lines[1] || lines[1] != lines[2] || len(lines[0]) != 36 {
		t.Fatalf("forms of one person must give one pseudonym (UUID text):\n%s", out)
	}
	if lines[3] != "invalid bad_check_digit" {
		t.Errorf("line 4 = %q", lines[3])
	}
	other, _, _ := run(t, in, "id", "pseudonym", "--key", key, "--domain", "scb-delivery", "--reference-date", "2026-11-23")
	if strings.Split(other, "\n")[0] == lines[0] {
		t.Error("another domain gave the lake's pseudonym")
	}

	// A key readable by others is refused.
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code, err = run(t, in, "id", "pseudonym", "--key", key)
	if code != report.ExitFailed || err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key: exit %d, %v", code, err)
	}
}

func TestRunRefusesWithoutKey(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gallra.toml")
	if err := os.WriteFile(cfg, []byte("[[source]]\nname = \"amea\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GALLRA_KEY", "") // restored after the test
	os.Unsetenv("GALLRA_KEY")
	_, code, err := run(t, "", "run", "--config", cfg)
	if code != report.ExitFailed || err == nil || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("run without key: exit %d, %v", code, err)
	}
	_, code, err = run(t, "", "run", "--config", cfg, "--key", filepath.Join(dir, "missing.key"))
	if code != report.ExitFailed || err == nil || !strings.Contains(err.Error(), "gallra key new") {
		t.Fatalf("run with a missing key file: exit %d, %v", code, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake")); !os.IsNotExist(err) {
		t.Error("a run without a key created the lake")
	}
}

func TestRunBadConfigIsUsageError(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gallra.toml")
	if err := os.WriteFile(cfg, []byte("[[source]]\nname = \"amea\"\nkeep = [\"name\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, code, err := run(t, "", "run", "--config", cfg)
	if code != report.ExitUsage || err == nil || !strings.Contains(err.Error(), cfg) {
		t.Fatalf("bad config: exit %d, %v", code, err)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			args := append(append([]string{}, prefix...), c.Name, "--help")
			out, code, err := run(t, "", args...)
			if err != nil || code != 0 || !strings.Contains(out, c.Usage) {
				t.Errorf("%v: exit %d, %v\n%s", args, code, err, out)
			}
			walk(append(append([]string{}, prefix...), c.Name), c.Subcommands)
		}
	}
	walk(nil, newApp().Commands)
}

func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	lakeDir, reports := filepath.Join(dir, "lake"), filepath.Join(dir, "reports")
	for _, d := range []string{lakeDir, reports} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	clean := `{"run_id":"20261123T054000Z-1a2b3c","rows_read":12000,"started":"2026-11-23T05:40:00Z"}`
	if err := os.WriteFile(filepath.Join(reports, "run.json"), []byte(clean), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code, _ := run(t, "", "verify", "--lake", lakeDir, "--reports", reports)
	if code != 0 || !strings.Contains(out, "0 finding(s)") {
		t.Fatalf("clean folders: exit %d\n%s", code, out)
	}

	// A 10-digit personnummer planted in a log line, and an e-mail address.
	leak := "level=ERROR msg=\"bad row\" value=850301-2380 contact=karin@example.com\n"
	if err := os.WriteFile(filepath.Join(reports, "run.log"), []byte(leak), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code, _ = run(t, "", "verify", "--lake", lakeDir, "--reports", reports)
	if code != report.ExitFailed || !strings.Contains(out, "FOUND personnummer") || !strings.Contains(out, "FOUND email") {
		t.Fatalf("planted identifier: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "2380") || strings.Contains(out, "karin") {
		t.Fatalf("verify printed what it found:\n%s", out)
	}
	if err := os.Remove(filepath.Join(reports, "run.log")); err != nil {
		t.Fatal(err)
	}

	// Key material copied next to the data is found with --key.
	key := filepath.Join(dir, "k.key")
	if _, code, err := run(t, "", "key", "new", "--out", key); code != 0 {
		t.Fatal(err)
	}
	kb, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lakeDir, "oops.txt"), kb, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code, _ = run(t, "", "verify", "--lake", lakeDir, "--key", key)
	if code != report.ExitFailed || !strings.Contains(out, "FOUND secret") {
		t.Fatalf("copied key file: exit %d\n%s", code, out)
	}
}

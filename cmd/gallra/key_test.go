package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/testlake"
)

func unsetPassphraseEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{keyfile.PassphraseEnvVar, keyfile.PassphraseFileEnvVar} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

func TestKeyPassphrase(t *testing.T) {
	unsetPassphraseEnv(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "k.key")
	const pw = "a passphrase for the cli test"
	t.Setenv(keyfile.PassphraseEnvVar, "short")
	if _, code, _ := run(t, "", "key", "new", "--out", key, "--passphrase"); code != report.ExitUsage {
		t.Errorf("short passphrase: exit %d", code)
	}
	t.Setenv(keyfile.PassphraseEnvVar, pw)
	out, code, err := run(t, "", "key", "new", "--out", key, "--passphrase")
	if code != 0 {
		t.Fatalf("key new --passphrase: %v\n%s", err, out)
	}
	if data, _ := os.ReadFile(key); !strings.Contains(string(data), keyfile.HeaderEncrypted+" ") {
		t.Fatal("the key file is not encrypted")
	}
	out, code, err = run(t, "", "key", "show", "--key", key)
	if code != 0 || !strings.Contains(out, "generation 1: gk1-") || !strings.Contains(out, "(current)") {
		t.Fatalf("key show with the passphrase from the environment: exit %d, %v\n%s", code, err, out)
	}

	// A wrong passphrase: exit 1, the source named, no passphrase shown.
	t.Setenv(keyfile.PassphraseEnvVar, "not the right passphrase")
	out, code, err = run(t, "", "key", "show", "--key", key)
	if code != report.ExitFailed || err == nil || !strings.Contains(err.Error(), "wrong passphrase") ||
		!strings.Contains(err.Error(), "passphrase from $"+keyfile.PassphraseEnvVar) {
		t.Fatalf("wrong passphrase: exit %d, %v", code, err)
	}
	if strings.Contains(err.Error()+out, "not the right") || strings.Contains(err.Error()+out, pw) {
		t.Errorf("a passphrase was printed: %v\n%s", err, out)
	}

	// From a file; and both sources at once is a usage problem.
	pwFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(keyfile.PassphraseFileEnvVar, pwFile)
	if _, code, err := run(t, "", "key", "show", "--key", key); code == 0 || !strings.Contains(err.Error(), "set only one") {
		t.Errorf("both sources: exit %d, %v", code, err)
	}
	os.Unsetenv(keyfile.PassphraseEnvVar)
	if out, code, err := run(t, "", "key", "show", "--key", key); code != 0 {
		t.Errorf("passphrase from file: exit %d, %v\n%s", code, err, out)
	}
}

func TestKeyRotateAndDeliver(t *testing.T) {
	unsetPassphraseEnv(t)
	l := testlake.Build(t, testlake.HandChecked, "")
	cfg := filepath.Join(filepath.Dir(l.Dir), "gallra.toml")
	dir := t.TempDir()
	key, oldKey := filepath.Join(dir, "k.key"), filepath.Join(dir, "old.key")
	for _, p := range []string{key, oldKey} {
		if err := keyfile.Write(p, l.Key, nil); err != nil {
			t.Fatal(err)
		}
	}
	out, code, err := run(t, "", "key", "rotate", "--config", cfg, "--key", key)
	if code != 0 || !strings.Contains(out, "rewrote the lake") || !strings.Contains(out, "generation 2") {
		t.Fatalf("key rotate: exit %d, %v\n%s", code, err, out)
	}
	out, code, _ = run(t, "", "key", "show", "--config", cfg, "--key", key)
	if code != 0 || !strings.Contains(out, "generation 1: "+l.Key.ID()) || !strings.Contains(out, "may write") {
		t.Errorf("key show after rotation: exit %d\n%s", code, out)
	}
	// The old key file no longer writes the lake; the new one does.
	writeAMEa(t, filepath.Join(filepath.Dir(l.Dir), "inbox", "amea", "next.csv"), "19850301-2380", "Praktik", "2026-01-05")
	_, code, err = run(t, "", "run", "--config", cfg, "--key", oldKey, "--quiet")
	if code != report.ExitFailed || err == nil || !strings.Contains(err.Error(), "gallra key rotate --resume") {
		t.Errorf("run with the old key: exit %d, %v", code, err)
	}
	if _, code, err = run(t, "", "run", "--config", cfg, "--key", key, "--quiet"); code != 0 {
		t.Errorf("run with the rotated key: exit %d, %v", code, err)
	}
	if out, code, _ := run(t, "", "key", "rotate", "--config", cfg, "--key", key, "--resume"); code != 0 || !strings.Contains(out, "nothing to resume") {
		t.Errorf("resume with nothing to resume: exit %d\n%s", code, out)
	}

	// A delivery, refused under an internal domain, verified clean with
	// every key generation searched for.
	deliv := filepath.Join(dir, "scb")
	if _, code, _ := run(t, "", "deliver", "--config", cfg, "--key", key, "--domain", "cellkey", "--out", deliv); code != report.ExitUsage {
		t.Errorf("deliver to cellkey: exit %d", code)
	}
	out, code, err = run(t, "", "deliver", "--config", cfg, "--key", key, "--domain", "scb-2026", "--out", deliv)
	if code != 0 || !strings.Contains(out, "delivered 10 participation(s) of 4 person(s) (1 unlinked)") {
		t.Fatalf("deliver: exit %d, %v\n%s", code, err, out)
	}
	out, code, _ = run(t, "", "verify", "--lake", deliv, "--key", key)
	if code != 0 || !strings.Contains(out, "0 finding(s)") {
		t.Errorf("verify the delivery: exit %d\n%s", code, out)
	}

	// check: clean after the rotation; rows of another generation than the
	// manifest's are reported.
	if out, code, _ := run(t, "", "check", "--lake", l.Dir); code != 0 || !strings.Contains(out, "no problems found") {
		t.Errorf("check after rotation: exit %d\n%s", code, out)
	}
	mpath := filepath.Join(l.Dir, "_gallra", "manifest.json")
	mb, err := os.ReadFile(mpath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	m["key_id"] = l.Key.ID() // as if the lake were still at generation 1
	mb, _ = json.Marshal(m)
	if err := os.WriteFile(mpath, mb, 0o640); err != nil {
		t.Fatal(err)
	}
	out, code, _ = run(t, "", "check", "--lake", l.Dir)
	if code != report.ExitFailed || !strings.Contains(out, "10 row(s) carry key ID(s) gk1-") || !strings.Contains(out, "not the lake's current "+l.Key.ID()) {
		t.Errorf("check with rows of another generation: exit %d\n%s", code, out)
	}
}

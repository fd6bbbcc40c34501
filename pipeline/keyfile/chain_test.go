package keyfile

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallra/gallra/transforms/pseudonym"
)

func chain(t *testing.T, labels ...string) pseudonym.Key {
	t.Helper()
	k := testKey(t, labels[0])
	for _, l := range labels[1:] {
		var err error
		if k, err = k.Extend(testKey(t, l)); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func keyLines(t *testing.T, path string) (comments, lines []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(l, "#") {
			comments = append(comments, l)
		} else {
			lines = append(lines, l)
		}
	}
	return comments, lines
}

func TestChainRoundTrip(t *testing.T) {
	k := chain(t, "g1", "g2", "g3")
	dir := t.TempDir()

	plain := filepath.Join(dir, "plain.key")
	if err := Write(plain, k, nil); err != nil {
		t.Fatal(err)
	}
	comments, lines := keyLines(t, plain)
	if len(lines) != 3 || !strings.Contains(strings.Join(comments, "\n"), "# key-id: "+k.KeyIDs()[0]+"\n# key-id: "+k.KeyIDs()[1]+"\n# key-id: "+k.ID()) {
		t.Fatalf("plain chain file: comments %q, %d key lines", comments, len(lines))
	}
	got, err := Load(plain, noCall(t))
	if err != nil || !got.Equal(k) || got.ID() != k.ID() || got.Generation() != 3 {
		t.Fatalf("plain chain: %v, equal %v", err, got.Equal(k))
	}

	enc := filepath.Join(dir, "enc.key")
	if err := Write(enc, k, []byte("correct horse battery")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(enc)
	for _, g := range k.Generations() {
		for _, f := range secretForms(g) {
			if bytes.Contains(data, []byte(f)) {
				t.Fatalf("encrypted chain holds a secret in clear (%q)", f)
			}
		}
	}
	calls := 0
	got, err = Load(enc, func() ([]byte, error) { calls++; return []byte("correct horse battery"), nil })
	if err != nil || !got.Equal(k) {
		t.Fatalf("encrypted chain: %v", err)
	}
	if calls != 1 {
		t.Errorf("passphrase asked %d times for a chain of 3, want once", calls)
	}

	// Reordering or dropping encrypted lines is detected: the generation is
	// bound into each line's additional data.
	comments, lines = keyLines(t, enc)
	swapped := filepath.Join(dir, "swapped.key")
	writeFile(t, swapped, lines[1]+"\n"+lines[0]+"\n"+lines[2]+"\n", 0o600)
	_, err = Load(swapped, pass("correct horse battery"))
	if !errors.Is(err, ErrPassphrase) {
		t.Errorf("swapped generations: %v, want ErrPassphrase", err)
	}
	assertClean(t, err, k.Generations()...)
	dropped := filepath.Join(dir, "dropped.key")
	writeFile(t, dropped, lines[0]+"\n"+lines[2]+"\n", 0o600)
	if _, err := Load(dropped, pass("correct horse battery")); !errors.Is(err, ErrPassphrase) {
		t.Errorf("dropped generation: %v, want ErrPassphrase", err)
	}
	// A truncated chain with its key-id comments left is a format error.
	cut := filepath.Join(dir, "cut.key")
	writeFile(t, cut, strings.Join(comments, "\n")+"\n"+lines[0]+"\n"+lines[1]+"\n", 0o600)
	if _, err := Load(cut, pass("correct horse battery")); !errors.Is(err, ErrFormat) {
		t.Errorf("cut chain: %v, want ErrFormat", err)
	}
	// A wrong passphrase on a chain: the usual message, nothing leaked.
	_, err = Load(enc, pass("wrong horse battery"))
	if !errors.Is(err, ErrPassphrase) || err.Error() != "cannot decrypt key file "+enc+": wrong passphrase or corrupted file" {
		t.Errorf("wrong passphrase on a chain: %v", err)
	}
	assertClean(t, err, k.Generations()...)

	// The environment takes a whole plain chain file.
	t.Setenv(EnvVar, string(mustRead(t, plain)))
	got, ok, err := LoadEnv()
	if !ok || err != nil || !got.Equal(k) {
		t.Errorf("chain from %s: %v", EnvVar, err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clearPassphraseEnv makes the test independent of the caller's environment.
func clearPassphraseEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{PassphraseEnvVar, PassphraseFileEnvVar, EnvVar} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

func TestPassphraseSources(t *testing.T) {
	clearPassphraseEnv(t)
	k := chain(t, "p1", "p2")
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "gallra.key")
	const pw = "a long enough passphrase"
	if err := Write(keyPath, k, []byte(pw)); err != nil {
		t.Fatal(err)
	}
	prompted := 0
	prompt := func() ([]byte, error) { prompted++; return []byte(pw), nil }

	// From a file (with the newline an editor adds).
	pwFile := filepath.Join(dir, "pass")
	writeFile(t, pwFile, pw+"\r\n", 0o600)
	t.Setenv(PassphraseFileEnvVar, pwFile)
	src, err := PassphraseFromEnv(prompt)
	if err != nil || !strings.Contains(src.From, pwFile) {
		t.Fatalf("file source: %v, from %q", err, src.From)
	}
	if got, err := LoadKey(keyPath, src); err != nil || !got.Equal(k) {
		t.Errorf("passphrase from file: %v", err)
	}
	// A passphrase file others can read is refused, naming the file only.
	writeFile(t, pwFile, pw+"\n", 0o644)
	_, err = LoadKey(keyPath, src)
	if !errors.Is(err, ErrPassphrase) || !strings.Contains(err.Error(), "chmod o-rwx") || strings.Contains(err.Error(), pw) {
		t.Errorf("world-readable passphrase file: %v", err)
	}
	writeFile(t, pwFile, "\n", 0o600)
	if _, err := LoadKey(keyPath, src); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty passphrase file: %v", err)
	}
	// Both set: refused.
	t.Setenv(PassphraseEnvVar, pw)
	if _, err := PassphraseFromEnv(prompt); err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("both variables set: %v", err)
	}

	// From the environment variable.
	os.Unsetenv(PassphraseFileEnvVar)
	src, err = PassphraseFromEnv(prompt)
	if err != nil || src.From != "$"+PassphraseEnvVar {
		t.Fatalf("env source: %v, from %q", err, src.From)
	}
	if got, err := LoadKey(keyPath, src); err != nil || !got.Equal(k) {
		t.Errorf("passphrase from env: %v", err)
	}

	// A wrong passphrase: a clear error saying where it came from, with no
	// key material and no passphrase in it.
	const wrong = "not the passphrase at all"
	t.Setenv(PassphraseEnvVar, wrong)
	src, _ = PassphraseFromEnv(prompt)
	_, err = LoadKey(keyPath, src)
	want := "cannot decrypt key file " + keyPath + ": wrong passphrase or corrupted file (passphrase from $" + PassphraseEnvVar + ")"
	if !errors.Is(err, ErrPassphrase) || err.Error() != want {
		t.Errorf("wrong passphrase:\n got %v\nwant %s", err, want)
	}
	assertClean(t, err, k.Generations()...)
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), pw) {
		t.Errorf("error holds a passphrase: %v", err)
	}

	// Neither variable: the prompt, asked only for an encrypted file.
	os.Unsetenv(PassphraseEnvVar)
	src, _ = PassphraseFromEnv(prompt)
	if got, err := LoadKey(keyPath, src); err != nil || !got.Equal(k) || prompted != 1 || src.From != "the terminal" {
		t.Errorf("prompt: %v, asked %d times", err, prompted)
	}
	plain := filepath.Join(dir, "plain.key")
	if err := Write(plain, k, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(plain, src); err != nil || prompted != 1 {
		t.Errorf("plain file asked for a passphrase (%d) or failed: %v", prompted, err)
	}
	// No source at all.
	src, _ = PassphraseFromEnv(nil)
	if _, err := LoadKey(keyPath, src); !errors.Is(err, ErrPassphrase) || !strings.Contains(err.Error(), PassphraseFileEnvVar) {
		t.Errorf("no source: %v", err)
	}
	// No key file and no GALLRA_KEY.
	if _, err := LoadKey("", src); !errors.Is(err, ErrNoKey) {
		t.Errorf("no key: %v", err)
	}
}

func TestRotationFiles(t *testing.T) {
	clearPassphraseEnv(t)
	for _, pw := range []string{"", "rotation passphrase"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "gallra.key")
		k := testKey(t, "r1")
		if err := Write(path, k, []byte(pw)); err != nil {
			t.Fatal(err)
		}
		t.Setenv(PassphraseEnvVar, pw)
		if pw == "" {
			os.Unsetenv(PassphraseEnvVar)
		}
		src, _ := PassphraseFromEnv(nil)
		old, next, err := StartRotation(path, src, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !old.Equal(k) || next.Generation() != 2 || next.KeyIDs()[0] != k.ID() {
			t.Fatalf("rotation keys: old %v next %v", old, next)
		}
		// The key file is untouched; the next file holds the chain, with
		// the same protection and mode 0600.
		if got, err := LoadKey(path, src); err != nil || !got.Equal(k) {
			t.Fatalf("key file changed: %v", err)
		}
		_, lines := keyLines(t, NextPath(path))
		if len(lines) != 2 || (pw != "") != strings.HasPrefix(lines[0], HeaderEncrypted+" ") {
			t.Fatalf("next file (passphrase %v): %d lines, first header %q", pw != "", len(lines), strings.Fields(lines[0])[0])
		}
		if fi, _ := os.Stat(NextPath(path)); fi.Mode().Perm() != 0o600 {
			t.Errorf("next file mode %04o", fi.Mode().Perm())
		}
		if _, err := os.Stat(NextPath(path) + ".tmp"); err == nil {
			t.Error("temporary file left behind")
		}
		// A second start refuses: a rotation is under way.
		if _, _, err := StartRotation(path, src, rand.Reader); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "--resume") {
			t.Errorf("second start: %v", err)
		}
		if err := FinishRotation(path); err != nil {
			t.Fatal(err)
		}
		if got, err := LoadKey(path, src); err != nil || !got.Equal(next) {
			t.Errorf("after finishing: %v", err)
		}
		if _, err := os.Stat(NextPath(path)); err == nil {
			t.Error("next file still there")
		}
		if err := FinishRotation(path); !errors.Is(err, ErrNoKey) {
			t.Errorf("finishing twice: %v", err)
		}
	}
}

func TestCheckLake(t *testing.T) {
	k2 := chain(t, "c1", "c2")
	k1 := k2.Generations()[0]
	other := testKey(t, "c3")
	if err := CheckLake(k2, ""); err != nil {
		t.Errorf("lake without key ID: %v", err)
	}
	if err := CheckLake(k2, k2.ID()); err != nil {
		t.Errorf("same key: %v", err)
	}
	err := CheckLake(k2, k1.ID())
	if !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), "gallra key rotate --resume") ||
		!strings.Contains(err.Error(), "generation 1 ("+k1.ID()+")") {
		t.Errorf("lake behind the key: %v", err)
	}
	err = CheckLake(k1, k2.ID())
	if !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), "--resume") || !strings.Contains(err.Error(), k2.ID()) {
		t.Errorf("lake ahead of the key: %v", err)
	}
	if err := CheckLake(other, k1.ID()); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("foreign key: %v", err)
	}
	assertClean(t, err, k2.Generations()...)
}

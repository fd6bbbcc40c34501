package keyfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/transforms/pseudonym"
)

func TestMain(m *testing.M) {
	// Cheap Argon2id in tests; the format records the parameters, so files
	// written here load with the same code path as real ones.
	writeParams = argonParams{time: 1, memory: 64, threads: 1}
	os.Exit(m.Run())
}

func testKey(t *testing.T, label string) pseudonym.Key {
	t.Helper()
	s := sha256.Sum256([]byte("gallra keyfile test secret " + label))
	k, err := pseudonym.NewKey(s[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pass(s string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(s), nil }
}

// noCall fails the test if the passphrase is asked for.
func noCall(t *testing.T) func() ([]byte, error) {
	return func() ([]byte, error) {
		t.Error("passphrase asked for a plain key file")
		return nil, errors.New("unexpected")
	}
}

// secretForms are encodings of k's secret that no error may contain.
func secretForms(k pseudonym.Key) []string {
	s := k.Secret()
	return []string{
		base64.RawURLEncoding.EncodeToString(s), base64.StdEncoding.EncodeToString(s),
		base64.RawURLEncoding.EncodeToString(s[:12]),
		hex.EncodeToString(s), hex.EncodeToString(s[:8]), strings.ToUpper(hex.EncodeToString(s[:8])),
		strings.Trim(fmt.Sprint(s[:6]), "[]"),
	}
}

func assertClean(t *testing.T, err error, keys ...pseudonym.Key) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error() + fmt.Sprintf(" %+v %#v", err, err)
	for _, k := range keys {
		for _, f := range secretForms(k) {
			if strings.Contains(msg, f) {
				t.Errorf("error leaks key material (%q): %s", f, msg)
			}
		}
	}
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is subject to umask
		t.Fatal(err)
	}
}

func TestRoundTripPlain(t *testing.T) {
	k := testKey(t, "plain")
	path := filepath.Join(t.TempDir(), "gallra.key")
	if err := Write(path, k, nil); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 4 ||
		lines[0] != "# gallra key file. Keep it secret, keep it apart from the lake. Mode 0600." ||
		!strings.HasPrefix(lines[1], "# created: ") ||
		lines[2] != "# key-id: "+k.ID() ||
		lines[3] != "GALLRA-KEY-1 "+base64.RawURLEncoding.EncodeToString(k.Secret()) {
		t.Errorf("unexpected file layout:\n%s", redact(string(data), k))
	}
	if _, err := time.Parse(time.RFC3339, strings.TrimPrefix(lines[1], "# created: ")); err != nil {
		t.Errorf("created comment: %v", err)
	}
	got, err := Load(path, noCall(t))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(k) || got.ID() != k.ID() {
		t.Error("loaded key differs from the written one")
	}
	// A nil passphrase func is fine for a plain file.
	if _, err := Load(path, nil); err != nil {
		t.Fatal(err)
	}
}

func redact(s string, k pseudonym.Key) string {
	return strings.ReplaceAll(s, base64.RawURLEncoding.EncodeToString(k.Secret()), "<SECRET>")
}

func TestRoundTripEncrypted(t *testing.T) {
	k := testKey(t, "enc")
	path := filepath.Join(t.TempDir(), "gallra.key")
	if err := Write(path, k, []byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, f := range secretForms(k) {
		if bytes.Contains(data, []byte(f)) {
			t.Fatalf("encrypted file holds the secret in clear (%q)", f)
		}
	}
	var line string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "GALLRA-KEY-1-ARGON2ID ") {
			line = l
		}
	}
	f := strings.Fields(line)
	if len(f) != 4 || f[2] != "t=1,m=64,p=1" {
		t.Fatalf("encrypted key line has fields %d, params %v", len(f), f[2:3])
	}
	if s, err := base64.RawURLEncoding.DecodeString(f[1]); err != nil || len(s) != 16 {
		t.Errorf("salt: %d bytes, %v", len(s), err)
	}

	calls := 0
	pw := []byte("correct horse")
	got, err := Load(path, func() ([]byte, error) { calls++; return pw, nil })
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || !got.Equal(k) {
		t.Errorf("calls = %d, equal = %v", calls, got.Equal(k))
	}
	if !bytes.Equal(pw, make([]byte, len(pw))) {
		t.Error("Load did not zero the passphrase")
	}

	// Wrong, empty and missing passphrases.
	_, err = Load(path, pass("wrong horse"))
	if !errors.Is(err, ErrPassphrase) || err.Error() != "cannot decrypt key file "+path+": wrong passphrase or corrupted file" {
		t.Errorf("wrong passphrase: %v", err)
	}
	assertClean(t, err, k)
	for name, cb := range map[string]func() ([]byte, error){
		"empty": pass(""), "nil func": nil,
		"callback error": func() ([]byte, error) { return nil, errors.New("no terminal") },
	} {
		_, err := Load(path, cb)
		if !errors.Is(err, ErrPassphrase) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want ErrPassphrase naming the file", name, err)
		}
	}

	// Tampering with the header (bound as additional data) or the
	// ciphertext is detected.
	tamper := func(name string, edit func([]string)) {
		g := append([]string(nil), f...)
		edit(g)
		p := filepath.Join(t.TempDir(), "k")
		writeFile(t, p, strings.Join(g, " ")+"\n", 0o600)
		_, err := Load(p, pass("correct horse"))
		if !errors.Is(err, ErrPassphrase) && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrPassphrase or ErrFormat", name, err)
		}
		assertClean(t, err, k)
	}
	tamper("params t=2", func(g []string) { g[2] = "t=2,m=64,p=1" })
	tamper("params reordered", func(g []string) { g[2] = "m=64,t=1,p=1" })
	tamper("salt", func(g []string) { g[1] = flip(g[1]) })
	tamper("ciphertext", func(g []string) { g[3] = flip(g[3]) })
	tamper("truncated ciphertext", func(g []string) { g[3] = g[3][:len(g[3])-4] })
	tamper("huge memory", func(g []string) { g[2] = "t=1,m=99999999,p=1" })
	tamper("zero passes", func(g []string) { g[2] = "t=0,m=64,p=1" })
}

// flip changes one base64url character in the middle of s.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	k := testKey(t, "perm")
	data, err := marshal(k, nil, time.Now(), writeParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o620, 0o602, 0o601, 0o610, 0o700 | 0o001} {
		path := filepath.Join(t.TempDir(), "gallra.key")
		writeFile(t, path, string(data), mode)
		_, err := Load(path, nil)
		if !errors.Is(err, ErrPermissions) {
			t.Errorf("mode %04o: err = %v, want ErrPermissions", mode, err)
			continue
		}
		want := fmt.Sprintf("key file %s has mode %04o; it must not be readable or writable by group or others: chmod 600 %s", path, mode, path)
		if err.Error() != want {
			t.Errorf("mode %04o: message\n%s\nwant\n%s", mode, err, want)
		}
		assertClean(t, err, k)
	}
	for _, mode := range []os.FileMode{0o600, 0o400, 0o700} {
		path := filepath.Join(t.TempDir(), "gallra.key")
		writeFile(t, path, string(data), mode)
		if _, err := Load(path, nil); err != nil {
			t.Errorf("mode %04o refused: %v", mode, err)
		}
	}
}

func TestNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir, nil)
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "not a regular file (a directory)") {
		t.Errorf("directory: err = %v", err)
	}
}

func TestSymlinkToGoodFile(t *testing.T) {
	// A symlink (e.g. to a mounted secret) is followed; the target's mode counts.
	k := testKey(t, "link")
	dir := t.TempDir()
	target := filepath.Join(dir, "real.key")
	if err := Write(target, k, nil); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "gallra.key")
	if err := os.Symlink(target, link); err != nil {
		t.Skip("symlink:", err)
	}
	got, err := Load(link, nil)
	if err != nil || !got.Equal(k) {
		t.Errorf("Load(symlink) = %v", err)
	}
}

func TestMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.key")
	_, err := Load(path, nil)
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("err = %v, want ErrNoKey", err)
	}
	want := "no key file at " + path + ": create one with `gallra key new --out " + path + "`"
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Path != path {
		t.Errorf("errors.As: %#v", e)
	}
}

func TestWriteRefusesOverwrite(t *testing.T) {
	k1, k2 := testKey(t, "one"), testKey(t, "two")
	path := filepath.Join(t.TempDir(), "gallra.key")
	if err := Write(path, k1, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for _, pw := range [][]byte{nil, []byte("pw")} {
		err := Write(path, k2, pw)
		if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), path) {
			t.Errorf("err = %v, want ErrExists naming the file", err)
		}
		assertClean(t, err, k1, k2)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("existing key file was changed")
	}
	// Not even through a dangling symlink.
	link := filepath.Join(t.TempDir(), "dangling.key")
	if err := os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), link); err == nil {
		if err := Write(link, k1, nil); !errors.Is(err, ErrExists) {
			t.Errorf("dangling symlink: err = %v, want ErrExists", err)
		}
	}
	if err := Write(filepath.Join(t.TempDir(), "x.key"), pseudonym.Key{}, nil); err == nil {
		t.Error("Write accepted the zero Key")
	}
	if err := Write(filepath.Join(t.TempDir(), "no", "such", "dir.key"), k1, nil); err == nil ||
		errors.Is(err, ErrExists) {
		t.Errorf("missing directory: err = %v", err)
	}
}

func TestMalformed(t *testing.T) {
	k := testKey(t, "bad")
	other := testKey(t, "other")
	b := base64.RawURLEncoding.EncodeToString(k.Secret())
	ob := base64.RawURLEncoding.EncodeToString(other.Secret())
	good, err := marshal(k, nil, time.Now(), writeParams)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		text, reason string
	}{
		"empty":             {"", "no key line"},
		"only comments":     {"# gallra key file\n# key-id: " + k.ID() + "\n", "no key line"},
		"truncated file":    {string(good[:len(good)-20]), "line 4: key has 18 bytes, want 32"},
		"no header":         {b + "\n", "line 1: unknown header"},
		"wrong header":      {"GALLRA-KEY-2 " + b + "\n", "line 1: unknown header"},
		"lower header":      {"gallra-key-1 " + b + "\n", "line 1: unknown header"},
		"missing key":       {"GALLRA-KEY-1\n", "line 1: GALLRA-KEY-1 line has 1 fields, want 2"},
		"extra field":       {"GALLRA-KEY-1 " + b + " x\n", "has 3 fields, want 2"},
		"padded base64":     {"GALLRA-KEY-1 " + b + "=\n", "not valid base64url"},
		"std base64":        {"GALLRA-KEY-1 " + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) + "\n", "not valid base64url"},
		"garbled":           {"GALLRA-KEY-1 " + b[:10] + "!!" + b[12:] + "\n", "not valid base64url"},
		"short":             {"GALLRA-KEY-1 " + b[:40] + "\n", "key has 30 bytes, want 32"},
		"long":              {"GALLRA-KEY-1 " + b + "AAAA\n", "key has 35 bytes, want 32"},
		"zeros":             {"GALLRA-KEY-1 " + base64.RawURLEncoding.EncodeToString(make([]byte, 32)) + "\n", "all zeros"},
		"same key twice":    {"GALLRA-KEY-1 " + b + "\nGALLRA-KEY-1 " + b + "\n", "line 2: generation 2 repeats an earlier generation"},
		"mixed headers":     {"GALLRA-KEY-1 " + b + "\nGALLRA-KEY-1-ARGON2ID AAAAAAAAAAAAAAAAAAAAAA t=1,m=64,p=1 " + ob + "\n", "line 2: every key line of a file starts with the same header"},
		"one id two keys":   {"# key-id: " + k.ID() + "\nGALLRA-KEY-1 " + b + "\nGALLRA-KEY-1 " + ob + "\n", "line 1: 1 key-id comment(s) for 2 key line(s)"},
		"chain id mismatch": {"# key-id: " + k.ID() + "\n# key-id: " + k.ID() + "\nGALLRA-KEY-1 " + b + "\nGALLRA-KEY-1 " + ob + "\n", "line 2: key-id comment says " + k.ID() + " but the key's ID is " + other.ID()},
		"key-id mismatch":   {"# key-id: " + other.ID() + "\nGALLRA-KEY-1 " + b + "\n", "line 1: key-id comment says " + other.ID() + " but the key's ID is " + k.ID()},
		"key-id garbage":    {"# key-id: " + b + "\nGALLRA-KEY-1 " + b + "\n", "line 1: malformed key-id comment"},
		"key-id twice":      {"# key-id: " + k.ID() + "\n# key-id: " + k.ID() + "\nGALLRA-KEY-1 " + b + "\n", "line 2: 2 key-id comment(s) for 1 key line(s)"},
		"encrypted 3 field": {"GALLRA-KEY-1-ARGON2ID AAAAAAAAAAAAAAAAAAAAAA t=1,m=64,p=1\n", "has 3 fields, want 4"},
		"bad params":        {"GALLRA-KEY-1-ARGON2ID AAAAAAAAAAAAAAAAAAAAAA t=1;m=64 " + b + "\n", "argon2 parameters"},
		"unknown param":     {"GALLRA-KEY-1-ARGON2ID AAAAAAAAAAAAAAAAAAAAAA t=1,m=64,x=1 " + b + "\n", "argon2 parameters"},
		"bad salt":          {"GALLRA-KEY-1-ARGON2ID AA t=1,m=64,p=1 " + b + "\n", "salt"},
		"short ciphertext":  {"GALLRA-KEY-1-ARGON2ID AAAAAAAAAAAAAAAAAAAAAA t=1,m=64,p=1 " + b + "\n", "ciphertext has 32 bytes, want 72"},
	}
	dir := t.TempDir()
	for name, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		writeFile(t, path, c.text, 0o600)
		_, err := Load(path, pass("pw"))
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.reason) || !strings.HasPrefix(err.Error(), "key file "+path+": ") {
			t.Errorf("%s: message %q lacks %q or the path", name, err, c.reason)
		}
		assertClean(t, err, k, other)
	}

	// CRLF line ends and surrounding blanks are fine.
	path := filepath.Join(dir, "crlf")
	writeFile(t, path, strings.ReplaceAll(string(good), "\n", "\r\n")+"\r\n  \r\n", 0o600)
	if got, err := Load(path, nil); err != nil || !got.Equal(k) {
		t.Errorf("CRLF: %v", err)
	}
	// Oversized files are refused before parsing.
	path = filepath.Join(dir, "big")
	writeFile(t, path, strings.Repeat("#\n", maxFileSize), 0o600)
	if _, err := Load(path, nil); !errors.Is(err, ErrFormat) {
		t.Errorf("oversized: %v", err)
	}
}

func TestEnv(t *testing.T) {
	k := testKey(t, "env")
	line := "GALLRA-KEY-1 " + base64.RawURLEncoding.EncodeToString(k.Secret())

	os.Unsetenv(EnvVar)
	if _, set, err := LoadEnv(); set || err != nil {
		t.Errorf("unset: set = %v, err = %v", set, err)
	}

	t.Setenv(EnvVar, line)
	got, set, err := LoadEnv()
	if err != nil || !set || !got.Equal(k) {
		t.Errorf("key line: set = %v, err = %v", set, err)
	}

	file, _ := marshal(k, nil, time.Now(), writeParams)
	t.Setenv(EnvVar, string(file))
	if got, _, err := LoadEnv(); err != nil || !got.Equal(k) {
		t.Errorf("whole file: err = %v", err)
	}

	for _, v := range []string{"", "  \n"} {
		t.Setenv(EnvVar, v)
		_, set, err := LoadEnv()
		if !set || !errors.Is(err, ErrNoKey) || err.Error() != "environment variable GALLRA_KEY is set but empty" {
			t.Errorf("empty %q: set = %v, err = %v", v, set, err)
		}
	}

	enc, _ := marshal(k, []byte("pw"), time.Now(), writeParams)
	bad := map[string]string{
		"encrypted": string(enc),
		"garbled":   line[:20] + "*" + line[21:],
		"no header": base64.RawURLEncoding.EncodeToString(k.Secret()),
		"short":     line[:len(line)-3],
	}
	for name, v := range bad {
		t.Setenv(EnvVar, v)
		_, set, err := LoadEnv()
		if !set || !errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), "environment variable GALLRA_KEY: ") {
			t.Errorf("%s: set = %v, err = %v", name, set, err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Path != "$GALLRA_KEY" {
			t.Errorf("%s: Path = %v", name, e)
		}
		assertClean(t, err, k)
	}
}

func TestGenerate(t *testing.T) {
	k1, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Equal(k2) || k1.ID() == k2.ID() {
		t.Error("two generated keys are equal")
	}
	det := bytes.Repeat([]byte{7}, 32)
	k3, err := Generate(bytes.NewReader(det))
	if err != nil || !bytes.Equal(k3.Secret(), det) {
		t.Errorf("Generate(reader): %v", err)
	}
	if _, err := Generate(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("Generate accepted a short read")
	}
	if _, err := Generate(bytes.NewReader(make([]byte, 32))); err == nil {
		t.Error("Generate accepted an all-zero secret")
	}
}

func TestDefaultParams(t *testing.T) {
	// The parameters real files get (TestMain lowers writeParams).
	p, err := parseParams("t=3,m=65536,p=1")
	if err != nil || p != (argonParams{3, 64 * 1024, 1}) {
		t.Errorf("parseParams = %+v, %v", p, err)
	}
	if s := (argonParams{3, 64 * 1024, 1}).String(); s != "t=3,m=65536,p=1" {
		t.Errorf("String = %q", s)
	}
	for _, s := range []string{"", "t=3", "t=3,m=65536", "t=3,m=65536,p=1,p=1", "t=3,m=4,p=1", "t=3,m=65536,p=0", "t=3,m=65536,p=256", "t=x,m=1,p=1", "t=3,t=3,p=1"} {
		if _, err := parseParams(s); err == nil {
			t.Errorf("parseParams(%q) accepted", s)
		}
	}
}

// TestRealParams round-trips a file with the parameters real files get
// (64 MiB of Argon2id memory); -short skips it.
func TestRealParams(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB Argon2id")
	}
	k := testKey(t, "real")
	data, err := marshal(k, []byte("pw"), time.Now(), argonParams{time: 3, memory: 64 * 1024, threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(" t=3,m=65536,p=1 ")) {
		t.Fatalf("real parameters not recorded")
	}
	path := filepath.Join(t.TempDir(), "gallra.key")
	writeFile(t, path, string(data), 0o600)
	start := time.Now()
	got, err := Load(path, pass("pw"))
	if err != nil || !got.Equal(k) {
		t.Fatalf("Load: %v", err)
	}
	t.Logf("Load with t=3,m=65536,p=1 took %v", time.Since(start))
}

// Package keyfile reads and writes gallra's key file: the master secret of
// the pseudonyms, kept apart from the data.
//
// A key file is a small text file with mode 0600:
//
//	# gallra key file. Keep it secret, keep it apart from the lake. Mode 0600.
//	# created: 2026-11-23T05:40:00Z
//	# key-id: gk1-0123456789abcdef
//	GALLRA-KEY-1 <base64url, no padding, 32 bytes>
//
// or, encrypted with a passphrase, with the key line
//
//	GALLRA-KEY-1-ARGON2ID <salt> t=3,m=65536,p=1 <nonce+ciphertext>
//
// where the passphrase and salt go through Argon2id with the given
// parameters (t passes, m KiB of memory, p lanes) to a 32-byte key that
// seals the secret with XChaCha20-Poly1305; the 24-byte nonce precedes the
// ciphertext, both base64url without padding, and the additional data is
// the key line up to (without) the last space, so that the header, salt
// and parameters cannot be altered. Lines starting with '#' are comments;
// the key-id comment, when present, must match the key.
//
// The environment variable GALLRA_KEY may hold the same plain key line
// instead of a file. Errors name the file and the problem, never key
// material, and wrap one of ErrNoKey, ErrPermissions, ErrFormat,
// ErrPassphrase or ErrExists so that callers can tell them apart with
// errors.Is.
package keyfile

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gallra/gallra/transforms/pseudonym"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// EnvVar names the environment variable that may hold a plain key line
// ("GALLRA-KEY-1 ..."), or a whole plain key file, instead of a file.
const EnvVar = "GALLRA_KEY"

// Key line headers.
const (
	HeaderPlain     = "GALLRA-KEY-1"
	HeaderEncrypted = "GALLRA-KEY-1-ARGON2ID"
)

// Errors wrapped by the errors of this package.
var (
	ErrNoKey       = errors.New("no key")                           // file missing, environment variable empty
	ErrPermissions = errors.New("key file permissions too open")    // group or others may access the file
	ErrFormat      = errors.New("malformed key file")               // not a regular file, bad header, base64, length, key-id
	ErrPassphrase  = errors.New("cannot decrypt key file")          // wrong or missing passphrase, or corrupted ciphertext
	ErrExists      = errors.New("key file exists; not overwriting") // Write found a file at the path
)

// Error is the error returned for a key file or the environment variable.
// Its message names the source and the problem, never key material.
type Error struct {
	Path string // the key file's path, or "$GALLRA_KEY"
	Kind error  // ErrNoKey, ErrPermissions, ErrFormat, ErrPassphrase, ErrExists, or nil for I/O errors
	Err  error  // the underlying error, if any
	msg  string
}

// Error returns the message, followed by the underlying error if any.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.msg + ": " + e.Err.Error()
	}
	return e.msg
}

// Unwrap returns Kind and Err, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// argonParams are the Argon2id cost parameters of an encrypted key file.
type argonParams struct {
	time    uint32 // passes
	memory  uint32 // KiB
	threads uint8
}

func (p argonParams) String() string {
	return fmt.Sprintf("t=%d,m=%d,p=%d", p.time, p.memory, p.threads)
}

// writeParams are the parameters Write uses (RFC 9106's second recommended
// option: 3 passes over 64 MiB). Tests lower them to stay fast.
var writeParams = argonParams{time: 3, memory: 64 * 1024, threads: 1}

// Limits on what Load accepts, so that a damaged or hostile file cannot
// make it allocate or compute without bound.
const (
	maxFileSize = 64 << 10
	maxTime     = 64
	maxMemory   = 4 << 20 // KiB = 4 GiB
	saltSize    = 16
)

var b64 = base64.RawURLEncoding.Strict()

// Generate returns a new key of 32 bytes read from r, or from crypto/rand
// if r is nil.
func Generate(r io.Reader) (pseudonym.Key, error) {
	if r == nil {
		r = rand.Reader
	}
	var s [pseudonym.SecretSize]byte
	defer clear(s[:])
	if _, err := io.ReadFull(r, s[:]); err != nil {
		return pseudonym.Key{}, fmt.Errorf("keyfile: generate key: %w", err)
	}
	k, err := pseudonym.NewKey(s[:])
	if err != nil {
		return pseudonym.Key{}, fmt.Errorf("keyfile: generate key: %w", err)
	}
	return k, nil
}

// Marshal returns the contents of a key file holding k: plain if
// passphrase is empty, otherwise encrypted under it. The result is key
// material; Write is the usual way to store it.
func Marshal(k pseudonym.Key, passphrase []byte) ([]byte, error) {
	return marshal(k, passphrase, time.Now(), writeParams)
}

func marshal(k pseudonym.Key, passphrase []byte, now time.Time, params argonParams) ([]byte, error) {
	if k.IsZero() {
		return nil, errors.New("keyfile: no key to write (zero Key)")
	}
	secret := k.Secret()
	defer clear(secret)
	var b bytes.Buffer
	b.WriteString("# gallra key file. Keep it secret, keep it apart from the lake. Mode 0600.\n")
	fmt.Fprintf(&b, "# created: %s\n", now.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "# key-id: %s\n", k.ID())
	if len(passphrase) == 0 {
		fmt.Fprintf(&b, "%s %s\n", HeaderPlain, b64.EncodeToString(secret))
		return b.Bytes(), nil
	}
	salt := make([]byte, saltSize)
	nonce := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(secret)+chacha20poly1305.Overhead)
	rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	rand.Read(nonce)
	aad := HeaderEncrypted + " " + b64.EncodeToString(salt) + " " + params.String()
	kek := argon2.IDKey(passphrase, salt, params.time, params.memory, params.threads, chacha20poly1305.KeySize)
	defer clear(kek)
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, secret, []byte(aad))
	fmt.Fprintf(&b, "%s %s\n", aad, b64.EncodeToString(sealed))
	return b.Bytes(), nil
}

// Write creates a key file at path holding k, encrypted under passphrase
// unless it is empty. It creates the file with mode 0600 and refuses to
// overwrite an existing file (ErrExists); it syncs the file and its
// directory before returning. On failure it removes what it created.
func Write(path string, k pseudonym.Key, passphrase []byte) error {
	data, err := Marshal(k, passphrase)
	if err != nil {
		return err
	}
	defer clear(data)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &Error{Path: path, Kind: ErrExists,
				msg: fmt.Sprintf("key file %s already exists: refusing to overwrite it", path)}
		}
		return &Error{Path: path, Err: err, msg: fmt.Sprintf("cannot create key file %s", path)}
	}
	fail := func(err error, what string) error {
		f.Close()
		os.Remove(path)
		return &Error{Path: path, Err: err, msg: fmt.Sprintf("cannot %s key file %s", what, path)}
	}
	if runtime.GOOS != "windows" {
		fi, err := f.Stat()
		if err != nil {
			return fail(err, "stat")
		}
		if m := fi.Mode().Perm(); m&0o077 != 0 {
			f.Close()
			os.Remove(path)
			return &Error{Path: path, Kind: ErrPermissions, msg: fmt.Sprintf(
				"key file %s was created with mode %04o (does the file system ignore permissions?); choose a place where mode 0600 holds", path, m)}
		}
	}
	if _, err := f.Write(data); err != nil {
		return fail(err, "write")
	}
	if err := f.Sync(); err != nil {
		return fail(err, "sync")
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return &Error{Path: path, Err: err, msg: fmt.Sprintf("cannot close key file %s", path)}
	}
	if runtime.GOOS != "windows" {
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			err = d.Sync()
			d.Close()
			if err != nil {
				return &Error{Path: path, Err: err, msg: fmt.Sprintf("cannot sync the directory of key file %s", path)}
			}
		}
	}
	return nil
}

// Load reads the key file at path. It refuses a missing file (ErrNoKey), a
// file that group or others may read or write (ErrPermissions; not checked
// on Windows), anything but a regular file, or a malformed file
// (ErrFormat). passphrase is called only when the file is encrypted; a nil
// passphrase func, an empty passphrase or a wrong one give ErrPassphrase.
// Load overwrites the passphrase with zeros once it has used it.
func Load(path string, passphrase func() ([]byte, error)) (pseudonym.Key, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return pseudonym.Key{}, &Error{Path: path, Kind: ErrNoKey, msg: fmt.Sprintf(
				"no key file at %s: create one with `gallra key new --out %s`", path, path)}
		}
		return pseudonym.Key{}, &Error{Path: path, Err: err, msg: fmt.Sprintf("cannot read key file %s", path)}
	}
	if err := checkFile(path, fi); err != nil {
		return pseudonym.Key{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return pseudonym.Key{}, &Error{Path: path, Err: err, msg: fmt.Sprintf("cannot read key file %s", path)}
	}
	defer f.Close()
	fi2, err := f.Stat()
	if err != nil {
		return pseudonym.Key{}, &Error{Path: path, Err: err, msg: fmt.Sprintf("cannot read key file %s", path)}
	}
	if !os.SameFile(fi, fi2) {
		return pseudonym.Key{}, &Error{Path: path, Kind: ErrFormat, msg: fmt.Sprintf(
			"key file %s was replaced while it was being opened", path)}
	}
	if err := checkFile(path, fi2); err != nil {
		return pseudonym.Key{}, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	defer clear(data)
	if err != nil {
		return pseudonym.Key{}, &Error{Path: path, Err: err, msg: fmt.Sprintf("cannot read key file %s", path)}
	}
	if len(data) > maxFileSize {
		return pseudonym.Key{}, &Error{Path: path, Kind: ErrFormat, msg: fmt.Sprintf(
			"key file %s is larger than %d bytes: not a key file", path, maxFileSize)}
	}
	return parse(data, source{path: path, name: "key file " + path}, passphrase)
}

func checkFile(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return &Error{Path: path, Kind: ErrFormat, msg: fmt.Sprintf(
			"key file %s is not a regular file (%s)", path, fileType(fi.Mode()))}
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return &Error{Path: path, Kind: ErrPermissions, msg: fmt.Sprintf(
			"key file %s has mode %04o; it must not be readable or writable by group or others: chmod 600 %s", path, m, path)}
	}
	return nil
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return "mode " + m.String()
	}
}

// LoadEnv reads the key from the environment variable GALLRA_KEY. It
// reports whether the variable is set; set but empty is ErrNoKey. The
// variable holds a plain key line (an encrypted line is refused: there is
// no one to ask for the passphrase), optionally with the comment lines of
// a key file.
func LoadEnv() (pseudonym.Key, bool, error) {
	v, ok := os.LookupEnv(EnvVar)
	if !ok {
		return pseudonym.Key{}, false, nil
	}
	src := source{path: "$" + EnvVar, name: "environment variable " + EnvVar, env: true}
	if strings.TrimSpace(v) == "" {
		return pseudonym.Key{}, true, &Error{Path: src.path, Kind: ErrNoKey, msg: src.name + " is set but empty"}
	}
	k, err := parse([]byte(v), src, nil)
	return k, true, err
}

// source names where key text came from, for messages.
type source struct {
	path string // Error.Path
	name string // "key file PATH" or "environment variable GALLRA_KEY"
	env  bool
}

func (s source) errorf(kind error, format string, args ...any) *Error {
	return &Error{Path: s.path, Kind: kind, msg: s.name + ": " + fmt.Sprintf(format, args...)}
}

// parse reads key file text. Its messages give line numbers and reasons,
// never the text of a line: any line might be key material.
func parse(data []byte, src source, passphrase func() ([]byte, error)) (pseudonym.Key, error) {
	var (
		keyID    string
		idLine   int
		keyLine  []string
		keyLineN int
	)
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if c, ok := strings.CutPrefix(line, "#"); ok {
			if id, ok := strings.CutPrefix(strings.TrimSpace(c), "key-id:"); ok {
				if idLine != 0 {
					return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: a second key-id comment (the first is on line %d)", n, idLine)
				}
				keyID, idLine = strings.TrimSpace(id), n
			}
			continue
		}
		if keyLine != nil {
			return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: a second key line (the first is on line %d)", n, keyLineN)
		}
		keyLine, keyLineN = strings.Fields(line), n
	}
	if keyLine == nil {
		return pseudonym.Key{}, src.errorf(ErrFormat, "no key line (%s ...)", HeaderPlain)
	}

	var (
		k   pseudonym.Key
		err error
	)
	switch keyLine[0] {
	case HeaderPlain:
		k, err = parsePlain(keyLine, keyLineN, src)
	case HeaderEncrypted:
		if src.env {
			return pseudonym.Key{}, src.errorf(ErrFormat, "holds an encrypted key line; the environment takes only a plain %s line", HeaderPlain)
		}
		k, err = parseEncrypted(keyLine, keyLineN, src, passphrase)
	default:
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: unknown header: a key line starts with %s or %s", keyLineN, HeaderPlain, HeaderEncrypted)
	}
	if err != nil {
		return pseudonym.Key{}, err
	}
	if idLine != 0 && keyID != k.ID() {
		if !validKeyID(keyID) {
			return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: malformed key-id comment: the file is corrupted or was edited", idLine)
		}
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: key-id comment says %s but the key's ID is %s: the file is corrupted or was edited", idLine, keyID, k.ID())
	}
	return k, nil
}

func validKeyID(s string) bool {
	h, ok := strings.CutPrefix(s, pseudonym.KeyIDPrefix)
	if !ok || len(h) != 16 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if !('0' <= h[i] && h[i] <= '9' || 'a' <= h[i] && h[i] <= 'f') {
			return false
		}
	}
	return true
}

func parsePlain(f []string, n int, src source) (pseudonym.Key, error) {
	if len(f) != 2 {
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: %s line has %d fields, want 2", n, HeaderPlain, len(f))
	}
	secret, err := b64.DecodeString(f[1])
	defer clear(secret)
	if err != nil {
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: key is not valid base64url without padding", n)
	}
	if len(secret) != pseudonym.SecretSize {
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: key has %d bytes, want %d (truncated?)", n, len(secret), pseudonym.SecretSize)
	}
	k, err := pseudonym.NewKey(secret)
	if err != nil {
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: unusable key: %v", n, err)
	}
	return k, nil
}

func parseEncrypted(f []string, n int, src source, passphrase func() ([]byte, error)) (pseudonym.Key, error) {
	if len(f) != 4 {
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: %s line has %d fields, want 4", n, HeaderEncrypted, len(f))
	}
	salt, err := b64.DecodeString(f[1])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: salt is not 8 to 64 bytes of base64url without padding", n)
	}
	params, err := parseParams(f[2])
	if err != nil {
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: argon2 parameters: %v", n, err)
	}
	sealed, err := b64.DecodeString(f[3])
	if err != nil {
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: ciphertext is not valid base64url without padding", n)
	}
	if want := chacha20poly1305.NonceSizeX + pseudonym.SecretSize + chacha20poly1305.Overhead; len(sealed) != want {
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: ciphertext has %d bytes, want %d (truncated?)", n, len(sealed), want)
	}
	if passphrase == nil {
		return pseudonym.Key{}, src.errorf(ErrPassphrase, "the key is encrypted and no passphrase was given")
	}
	pass, err := passphrase()
	defer clear(pass)
	if err != nil {
		e := src.errorf(ErrPassphrase, "cannot read the passphrase")
		e.Err = err
		return pseudonym.Key{}, e
	}
	if len(pass) == 0 {
		return pseudonym.Key{}, src.errorf(ErrPassphrase, "empty passphrase")
	}
	kek := argon2.IDKey(pass, salt, params.time, params.memory, params.threads, chacha20poly1305.KeySize)
	defer clear(kek)
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return pseudonym.Key{}, fmt.Errorf("keyfile: %w", err)
	}
	aad := f[0] + " " + f[1] + " " + f[2]
	nonce, ct := sealed[:chacha20poly1305.NonceSizeX], sealed[chacha20poly1305.NonceSizeX:]
	secret, err := aead.Open(nil, nonce, ct, []byte(aad))
	defer clear(secret)
	if err != nil {
		return pseudonym.Key{}, &Error{Path: src.path, Kind: ErrPassphrase,
			msg: fmt.Sprintf("cannot decrypt %s: wrong passphrase or corrupted file", src.name)}
	}
	k, err := pseudonym.NewKey(secret)
	if err != nil {
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: unusable key: %v", n, err)
	}
	return k, nil
}

// parseParams parses "t=3,m=65536,p=1" (each once, in any order).
func parseParams(s string) (argonParams, error) {
	var p argonParams
	seen := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || seen[name] {
			return p, errors.New(`want "t=N,m=N,p=N"`)
		}
		seen[name] = true
		v, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return p, fmt.Errorf("%s is not a number", name)
		}
		switch name {
		case "t":
			p.time = uint32(v)
		case "m":
			p.memory = uint32(v)
		case "p":
			if v > 255 {
				return p, errors.New("p is above 255")
			}
			p.threads = uint8(v)
		default:
			return p, errors.New(`want "t=N,m=N,p=N"`)
		}
	}
	switch {
	case len(seen) != 3:
		return p, errors.New(`want "t=N,m=N,p=N"`)
	case p.time < 1 || p.time > maxTime:
		return p, fmt.Errorf("t=%d is outside 1..%d", p.time, maxTime)
	case p.threads < 1:
		return p, errors.New("p must be at least 1")
	case p.memory < 8*uint32(p.threads) || p.memory > maxMemory:
		return p, fmt.Errorf("m=%d is outside %d..%d KiB", p.memory, 8*uint32(p.threads), maxMemory)
	}
	return p, nil
}

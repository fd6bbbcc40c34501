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
// and parameters cannot be altered. Lines starting with '#' are comments.
//
// A key that has been rotated is a chain of generations (see package
// pseudonym): the file then holds one key line per generation, oldest
// first, all plain or all encrypted, and one key-id comment per generation
// in the same order. Encrypted lines written together share one salt and
// parameters (one Argon2id run at load), and from the second generation on
// the additional data ends in " generation=<n>", so that lines cannot be
// reordered or dropped unnoticed. Key-id comments, when present, must match
// the keys.
//
// The environment variable GALLRA_KEY may hold the same plain key line(s)
// instead of a file. The passphrase of an encrypted file comes from the file
// named by GALLRA_KEY_PASSPHRASE_FILE, from GALLRA_KEY_PASSPHRASE, or from
// a prompt ([PassphraseFromEnv]); never from a command line argument.
// [StartRotation] and [FinishRotation] are the key file's side of a key
// rotation, [CheckLake] the check that a key may write to a lake.
//
// Errors name the file and the problem, never key material or a
// passphrase, and wrap one of ErrNoKey, ErrPermissions, ErrFormat,
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
	gens := k.Generations()
	var b bytes.Buffer
	b.WriteString("# gallra key file. Keep it secret, keep it apart from the lake. Mode 0600.\n")
	fmt.Fprintf(&b, "# created: %s\n", now.UTC().Format(time.RFC3339))
	if len(gens) > 1 {
		fmt.Fprintf(&b, "# generations: %d, oldest first; the last (%s) is current. Back up every line.\n", len(gens), k.ID())
	}
	for _, g := range gens {
		fmt.Fprintf(&b, "# key-id: %s\n", g.ID())
	}
	if len(passphrase) == 0 {
		for _, g := range gens {
			secret := g.Secret()
			fmt.Fprintf(&b, "%s %s\n", HeaderPlain, b64.EncodeToString(secret))
			clear(secret)
		}
		return b.Bytes(), nil
	}
	salt := make([]byte, saltSize)
	rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	prefix := HeaderEncrypted + " " + b64.EncodeToString(salt) + " " + params.String()
	kek := argon2.IDKey(passphrase, salt, params.time, params.memory, params.threads, chacha20poly1305.KeySize)
	defer clear(kek)
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	for i, g := range gens {
		secret := g.Secret()
		nonce := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(secret)+chacha20poly1305.Overhead)
		rand.Read(nonce)
		sealed := aead.Seal(nonce, nonce, secret, additionalData(prefix, i+1))
		clear(secret)
		fmt.Fprintf(&b, "%s %s\n", prefix, b64.EncodeToString(sealed))
	}
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
	type numbered struct {
		n int
		f []string // key line: its fields; key-id comment: the ID
	}
	var ids, lines []numbered
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if c, ok := strings.CutPrefix(line, "#"); ok {
			if id, ok := strings.CutPrefix(strings.TrimSpace(c), "key-id:"); ok {
				ids = append(ids, numbered{n, []string{strings.TrimSpace(id)}})
			}
			continue
		}
		lines = append(lines, numbered{n, strings.Fields(line)})
	}
	if len(lines) == 0 {
		return pseudonym.Key{}, src.errorf(ErrFormat, "no key line (%s ...)", HeaderPlain)
	}
	header := lines[0].f[0]
	switch header {
	case HeaderPlain:
	case HeaderEncrypted:
		if src.env {
			return pseudonym.Key{}, src.errorf(ErrFormat, "holds an encrypted key line; the environment takes only a plain %s line", HeaderPlain)
		}
	default:
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: unknown header: a key line starts with %s or %s", lines[0].n, HeaderPlain, HeaderEncrypted)
	}
	for _, l := range lines[1:] {
		if l.f[0] != header {
			return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: every key line of a file starts with the same header (line %d: %s)", l.n, lines[0].n, header)
		}
	}
	if len(ids) > 0 && len(ids) != len(lines) {
		return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: %d key-id comment(s) for %d key line(s): the file is corrupted or was edited", ids[len(ids)-1].n, len(ids), len(lines))
	}

	dec := &decrypter{src: src, passphrase: passphrase}
	defer dec.clear()
	var chain pseudonym.Key
	for i, l := range lines {
		var (
			k   pseudonym.Key
			err error
		)
		if header == HeaderPlain {
			k, err = parsePlain(l.f, l.n, src)
		} else {
			k, err = dec.open(l.f, l.n, i+1)
		}
		if err != nil {
			return pseudonym.Key{}, err
		}
		if len(ids) > 0 {
			if id := ids[i]; id.f[0] != k.ID() {
				if !validKeyID(id.f[0]) {
					return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: malformed key-id comment: the file is corrupted or was edited", id.n)
				}
				return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: key-id comment says %s but the key's ID is %s: the file is corrupted or was edited", id.n, id.f[0], k.ID())
			}
		}
		if i == 0 {
			chain = k
			continue
		}
		if chain, err = chain.Extend(k); err != nil {
			return pseudonym.Key{}, src.errorf(ErrFormat, "line %d: generation %d repeats an earlier generation (%s)", l.n, i+1, k.ID())
		}
	}
	return chain, nil
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

// additionalData is the AEAD's additional data of the key line of a
// generation: the line up to its last field, and for generations after the
// first also " generation=<n>", so that the lines of a chain cannot be
// reordered unnoticed (generation 1 keeps the form of a key file of one
// generation).
func additionalData(prefix string, gen int) []byte {
	if gen == 1 {
		return []byte(prefix)
	}
	return []byte(prefix + " generation=" + strconv.Itoa(gen))
}

// decrypter opens the encrypted key lines of one file. It asks for the
// passphrase once and runs Argon2id once per salt and parameters (a file
// gallra writes uses one salt for all its lines).
type decrypter struct {
	src        source
	passphrase func() ([]byte, error)
	pass       []byte
	asked      bool
	keks       map[string][]byte
}

func (d *decrypter) clear() {
	clear(d.pass)
	for _, k := range d.keks {
		clear(k)
	}
}

func (d *decrypter) kek(salt []byte, params argonParams, id string) ([]byte, error) {
	if k, ok := d.keks[id]; ok {
		return k, nil
	}
	if !d.asked {
		d.asked = true
		if d.passphrase == nil {
			return nil, d.src.errorf(ErrPassphrase, "the key is encrypted and no passphrase was given")
		}
		pass, err := d.passphrase()
		d.pass = pass
		if err != nil {
			e := d.src.errorf(ErrPassphrase, "cannot read the passphrase")
			e.Err = err
			return nil, e
		}
	}
	if len(d.pass) == 0 {
		return nil, d.src.errorf(ErrPassphrase, "empty passphrase")
	}
	k := argon2.IDKey(d.pass, salt, params.time, params.memory, params.threads, chacha20poly1305.KeySize)
	if d.keks == nil {
		d.keks = map[string][]byte{}
	}
	d.keks[id] = k
	return k, nil
}

func (d *decrypter) open(f []string, n, gen int) (pseudonym.Key, error) {
	src := d.src
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
	prefix := f[0] + " " + f[1] + " " + f[2]
	kek, err := d.kek(salt, params, f[1]+" "+f[2])
	if err != nil {
		return pseudonym.Key{}, err
	}
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return pseudonym.Key{}, fmt.Errorf("keyfile: %w", err)
	}
	nonce, ct := sealed[:chacha20poly1305.NonceSizeX], sealed[chacha20poly1305.NonceSizeX:]
	secret, err := aead.Open(nil, nonce, ct, additionalData(prefix, gen))
	defer clear(secret)
	if err != nil {
		msg := fmt.Sprintf("cannot decrypt %s: wrong passphrase or corrupted file", src.name)
		if gen > 1 {
			msg = fmt.Sprintf("cannot decrypt %s at line %d (generation %d): wrong passphrase, or the file is corrupted or its lines were reordered", src.name, n, gen)
		}
		return pseudonym.Key{}, &Error{Path: src.path, Kind: ErrPassphrase, msg: msg}
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

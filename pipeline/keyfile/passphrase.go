package keyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/gallra/gallra/transforms/pseudonym"
)

// Environment variables that supply the passphrase of an encrypted key file
// to a run that no one attends. The passphrase never comes from a command
// line argument: process listings show those to every user of the machine.
const (
	// PassphraseFileEnvVar names a file holding the passphrase (a trailing
	// newline is removed). Preferred: the value is a path, not the secret.
	PassphraseFileEnvVar = "GALLRA_KEY_PASSPHRASE_FILE"
	// PassphraseEnvVar holds the passphrase itself.
	PassphraseEnvVar = "GALLRA_KEY_PASSPHRASE"
)

// maxPassphraseFile bounds a passphrase file.
const maxPassphraseFile = 4 << 10

// Passphrase is where the passphrase of an encrypted key file comes from.
// It is asked for only when a key file turns out to be encrypted.
type Passphrase struct {
	// From describes the source for messages, never the passphrase itself:
	// "file /run/credentials/gallra/pass ($GALLRA_KEY_PASSPHRASE_FILE)",
	// "$GALLRA_KEY_PASSPHRASE" or "the terminal"; empty when there is no
	// source (then Read fails, saying how to supply one).
	From string
	read func() ([]byte, error)
}

// Read returns the passphrase. The caller should overwrite it with zeros
// once used (Load does).
func (p Passphrase) Read() ([]byte, error) {
	if p.read == nil {
		return nil, errors.New("no passphrase source: set " + PassphraseFileEnvVar + " or " + PassphraseEnvVar + ", or run on a terminal")
	}
	return p.read()
}

// PassphraseFromEnv returns the passphrase source the environment selects:
// the file named by GALLRA_KEY_PASSPHRASE_FILE if that is set, else the
// value of GALLRA_KEY_PASSPHRASE if that is set, else prompt (typically a
// terminal prompt) if it is not nil. Both variables set at once is an
// error: gallra does not guess which one is meant. Nothing is read until
// [Passphrase.Read] is called.
func PassphraseFromEnv(prompt func() ([]byte, error)) (Passphrase, error) {
	file, fileSet := os.LookupEnv(PassphraseFileEnvVar)
	val, valSet := os.LookupEnv(PassphraseEnvVar)
	switch {
	case fileSet && valSet:
		return Passphrase{}, fmt.Errorf("both %s and %s are set: set only one", PassphraseFileEnvVar, PassphraseEnvVar)
	case fileSet:
		if file == "" {
			return Passphrase{}, fmt.Errorf("%s is set but empty: name the passphrase file", PassphraseFileEnvVar)
		}
		return Passphrase{From: "file " + file + " ($" + PassphraseFileEnvVar + ")",
			read: func() ([]byte, error) { return ReadPassphraseFile(file) }}, nil
	case valSet:
		return Passphrase{From: "$" + PassphraseEnvVar, read: func() ([]byte, error) {
			if val == "" {
				return nil, fmt.Errorf("%s is set but empty", PassphraseEnvVar)
			}
			return []byte(val), nil
		}}, nil
	case prompt != nil:
		return Passphrase{From: "the terminal", read: prompt}, nil
	}
	return Passphrase{}, nil
}

// ReadPassphraseFile reads a passphrase from the file at path: a regular
// file of at most 4 KiB that others (neither owner nor group) may not read
// or write, not checked on Windows. Trailing CR and LF bytes are removed; an
// empty passphrase is refused. Errors name the file, never its contents.
func ReadPassphraseFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("passphrase file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("passphrase file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("passphrase file %s is not a regular file (%s)", path, fileType(fi.Mode()))
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o007 != 0 {
		return nil, fmt.Errorf("passphrase file %s has mode %04o; others must not read or write it: chmod o-rwx %s", path, fi.Mode().Perm(), path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPassphraseFile+1))
	if err != nil {
		clear(b)
		return nil, fmt.Errorf("passphrase file %s: %w", path, err)
	}
	if len(b) > maxPassphraseFile {
		clear(b)
		return nil, fmt.Errorf("passphrase file %s is larger than %d bytes: not a passphrase file", path, maxPassphraseFile)
	}
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b[len(b)-1] = 0
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("passphrase file %s is empty", path)
	}
	return b, nil
}

// LoadKey loads the key the way gallra's commands do: from the key file at
// path, asking pass for the passphrase if the file is encrypted, or, when
// path is empty, from the environment variable GALLRA_KEY. It refuses to go
// on without a key (ErrNoKey). An error about the passphrase says where the
// passphrase came from (pass.From), never what it was.
func LoadKey(path string, pass Passphrase) (pseudonym.Key, error) {
	if path == "" {
		k, ok, err := LoadEnv()
		if err != nil {
			return k, err
		}
		if !ok {
			return k, &Error{Path: "$" + EnvVar, Kind: ErrNoKey, msg: "no key: name a key file ([key] file in the configuration, or --key) or set " +
				EnvVar + "; create a key with `gallra key new --out FILE`"}
		}
		return k, nil
	}
	k, err := Load(path, pass.Read)
	var e *Error
	if errors.As(err, &e) && e.Kind == ErrPassphrase && pass.From != "" {
		e.msg += " (passphrase from " + pass.From + ")"
	}
	return k, err
}

// Once returns a source that asks p the first time and then returns copies
// of that answer, so that a command that loads more than one key file (a
// key rotation) prompts only once; and a func that overwrites the kept
// passphrase with zeros, to call when done.
func (p Passphrase) Once() (Passphrase, func()) {
	var (
		kept  []byte
		err   error
		asked bool
	)
	once := Passphrase{From: p.From, read: func() ([]byte, error) {
		if !asked {
			asked = true
			var b []byte
			b, err = p.Read()
			kept = bytes.Clone(b)
			clear(b)
		}
		if err != nil {
			return nil, err
		}
		return bytes.Clone(kept), nil
	}}
	return once, func() { clear(kept) }
}

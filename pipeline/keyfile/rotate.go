package keyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/gallra/gallra/pipeline/atomicfile"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// ErrKeyMismatch is wrapped by [CheckLake]'s errors: the key is not the one
// the lake was last written with.
var ErrKeyMismatch = errors.New("the key does not match the lake")

// NextPath is where a key rotation writes the extended key file before it
// replaces the one at path: path + ".next".
func NextPath(path string) string { return path + ".next" }

// StartRotation is the first step of a key rotation: it loads the key file
// at path (asking pass if it is encrypted), adds a new generation made from
// random (crypto/rand if nil), and writes the extended chain to
// NextPath(path): mode 0600, encrypted under the same passphrase if the key
// file is encrypted, plain if it is plain. The file appears complete or not
// at all. It refuses (ErrExists) if NextPath(path) exists: a rotation is
// already under way and must be resumed or its file removed. It returns the
// key before and after the rotation; path itself is not changed.
func StartRotation(path string, pass Passphrase, random io.Reader) (old, next pseudonym.Key, err error) {
	nextPath := NextPath(path)
	if _, err := os.Lstat(nextPath); err == nil {
		return old, next, &Error{Path: nextPath, Kind: ErrExists, msg: fmt.Sprintf(
			"%s exists: a key rotation is under way; finish it with `gallra key rotate --resume`", nextPath)}
	}
	var kept []byte // the passphrase, if the file is encrypted
	defer clear(kept)
	read := Passphrase{From: pass.From, read: func() ([]byte, error) {
		b, err := pass.Read()
		if err == nil {
			kept = bytes.Clone(b)
		}
		return b, err
	}}
	if old, err = LoadKey(path, read); err != nil {
		return old, next, err
	}
	g, err := Generate(random)
	if err != nil {
		return old, next, err
	}
	if next, err = old.Extend(g); err != nil {
		return old, next, fmt.Errorf("keyfile: %w", err)
	}
	// Write a temporary file, then link it to its name: the link fails if
	// the name exists, and a crash leaves either no NextPath or a complete one.
	tmp := nextPath + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return old, next, &Error{Path: tmp, Err: err, msg: "cannot remove the leftover " + tmp}
	}
	if err := Write(tmp, next, kept); err != nil {
		return old, next, err
	}
	defer os.Remove(tmp)
	switch err := os.Link(tmp, nextPath); {
	case errors.Is(err, fs.ErrExist):
		return old, next, &Error{Path: nextPath, Kind: ErrExists, msg: fmt.Sprintf(
			"%s exists: a key rotation is under way; finish it with `gallra key rotate --resume`", nextPath)}
	case err != nil:
		// A file system without hard links: rename instead (NextPath was
		// checked to be absent above; only a concurrent rotation races here).
		if err := os.Rename(tmp, nextPath); err != nil {
			return old, next, &Error{Path: nextPath, Err: err, msg: "cannot create " + nextPath}
		}
	default:
		if err := os.Remove(tmp); err != nil {
			return old, next, &Error{Path: tmp, Err: err, msg: "cannot remove " + tmp}
		}
	}
	if err := syncDir(nextPath); err != nil {
		return old, next, err
	}
	return old, next, nil
}

// FinishRotation is the last step of a key rotation: it replaces the key
// file at path with NextPath(path) by an atomic rename, after checking that
// the new file is a regular file only its owner may access. The caller must
// have loaded NextPath(path) and rewritten the lake with it first.
func FinishRotation(path string) error {
	nextPath := NextPath(path)
	fi, err := os.Lstat(nextPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &Error{Path: nextPath, Kind: ErrNoKey, msg: "no " + nextPath + ": no key rotation is under way"}
		}
		return &Error{Path: nextPath, Err: err, msg: "cannot read " + nextPath}
	}
	if err := checkFile(nextPath, fi); err != nil {
		return err
	}
	if err := os.Rename(nextPath, path); err != nil {
		return &Error{Path: path, Err: err, msg: fmt.Sprintf("cannot replace key file %s with %s", path, nextPath)}
	}
	return syncDir(path)
}

func syncDir(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return &Error{Path: path, Err: err, msg: fmt.Sprintf("cannot sync the directory of %s", path)}
	}
	return nil
}

// CheckLake reports whether k may write to a lake whose rows were last
// written with the key generation lakeKeyID (lake.Manifest.KeyID; "" for a
// lake that has not recorded one, which any key may write). The key's
// current generation must be the lake's: a key that holds the lake's
// generation as an older one means a rotation has not rewritten the lake
// yet, and a key that does not hold it at all is the wrong key, or one whose
// rotation rewrote the lake but did not replace the key file. Either way a
// run would write pseudonyms that do not link with the lake's, so it must
// not start. The error (ErrKeyMismatch) names key IDs only.
func CheckLake(k pseudonym.Key, lakeKeyID string) error {
	if lakeKeyID == "" || lakeKeyID == k.ID() {
		return nil
	}
	if g := k.GenerationOf(lakeKeyID); g > 0 {
		return fmt.Errorf("%w: the lake is at key generation %d (%s) but the key is at generation %d (%s): "+
			"a key rotation has not rewritten the lake yet; finish it with `gallra key rotate --resume`",
			ErrKeyMismatch, g, lakeKeyID, k.Generation(), k.ID())
	}
	return fmt.Errorf("%w: the lake was last written with key %s, which this key (%s, generation %d) does not hold: "+
		"either this is the wrong key file, or a key rotation rewrote the lake but did not replace the key file "+
		"(then KEYFILE.next exists: finish it with `gallra key rotate --resume`)",
		ErrKeyMismatch, lakeKeyID, k.ID(), k.Generation())
}

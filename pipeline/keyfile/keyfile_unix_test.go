//go:build unix

package keyfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	_, err := Load(fifo, nil) // must be refused, not block opening the pipe
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "not a regular file (a named pipe)") {
		t.Errorf("fifo: err = %v", err)
	}
}

// TestWriteIgnoresUmask checks that a permissive umask does not loosen
// the mode Write creates.
func TestWriteIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "gallra.key")
	if err := Write(path, testKey(t, "umask"), nil); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", fi.Mode().Perm())
	}
}

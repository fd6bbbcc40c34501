package lake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// LockFile is the lock's name inside MetaDir.
const LockFile = "lock"

// ErrLocked: another process holds the lake's lock.
var ErrLocked = errors.New("lake: locked by another run")

// Lock is an exclusive hold on a lake: one run at a time. It is an flock(2)
// on _gallra/lock, so the kernel releases it when its process dies, however
// it dies; a stale lock of a dead run is recognised by the holder record left
// in the file and reported as Stale.
type Lock struct {
	f *os.File
	// Stale describes the holder of a lock whose process died without
	// releasing it ("" if the last holder released it normally).
	Stale string
}

// LockHolder is what the lock file records about its holder.
type LockHolder struct {
	RunID   string    `json:"run_id"`
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

func (h LockHolder) String() string {
	return fmt.Sprintf("run %s (pid %d on %s, since %s)", h.RunID, h.PID, h.Host, h.Started.Format(time.RFC3339))
}

// AcquireLock takes the lake's lock for runID without waiting. If another
// process holds it, the error wraps ErrLocked and names the holder.
func AcquireLock(lakeDir, runID string) (*Lock, error) {
	dir := filepath.Join(lakeDir, MetaDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lake: open lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			// The holder writes its record just after taking the flock: give
			// it a moment, so that the message names the live holder.
			for i := 0; i < 20; i++ {
				if h := readHolder(f); h != nil && h.alive() {
					return nil, fmt.Errorf("%w: %s", ErrLocked, h)
				}
				time.Sleep(5 * time.Millisecond)
			}
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lake: lock: %w", err)
	}
	prev := readHolder(f) // left by a holder that died without releasing
	l := &Lock{f: f}
	if prev != nil {
		l.Stale = prev.String()
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(LockHolder{RunID: runID, PID: os.Getpid(), Host: host, Started: time.Now().UTC()})
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			l.Release()
			return nil, fmt.Errorf("lake: write lock: %w", err)
		}
	}
	return l, nil
}

// alive reports whether the holder's process still exists, as far as this
// host can tell (a holder on another host is assumed alive).
func (h LockHolder) alive() bool {
	if host, _ := os.Hostname(); host != h.Host {
		return true
	}
	return h.PID > 0 && syscall.Kill(h.PID, 0) != syscall.ESRCH
}

func readHolder(f *os.File) *LockHolder {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
	if err != nil || len(b) == 0 {
		return nil
	}
	var h LockHolder
	if json.Unmarshal(b, &h) != nil || h.RunID == "" {
		return nil
	}
	return &h
}

// Release empties the holder record and releases the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Truncate(0)
	if serr := l.f.Sync(); err == nil {
		err = serr
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr // closing the descriptor releases the flock
	}
	l.f = nil
	return err
}

package lake

import (
	"crypto/rand"
	"time"
)

// NewRunID returns a new run ID for a run (or a maintenance operation)
// starting at t: sortable by start time to the millisecond and unique enough
// for one lake, e.g. "20261123T071539.443Z-qwhzke". The random suffix is
// letters only: run IDs end up in file names and report lines, and a suffix
// of digits next to a file number ("…-068478-12") reads like a phone number
// to gallra verify.
func NewRunID(t time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return t.UTC().Format("20060102T150405.000Z") + "-" + string(b[:])
}

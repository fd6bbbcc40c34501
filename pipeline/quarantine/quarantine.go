// Package quarantine records the rows a run could not use.
//
// A quarantine entry names the export file, the line, the field and a stable
// reason code, and never the value: the point of quarantine is that an
// operator can find the row in the source system and fix it there, without
// the pipeline copying personal data into yet another file.
package quarantine

import (
	"encoding/csv"
	"fmt"
	"os"
	"sort"
	"strconv"
)

// Entry is one rejected row.
type Entry struct {
	Source string // source name
	File   string // export file, as the run names it (relative to the inbox)
	Line   int    // line in the export file (1-based; 0 = the whole file)
	Field  string // column header, or "" when the whole row is at fault
	Reason string // stable reason code, e.g. "bad_check_digit"
}

// Writer appends entries to a CSV file and counts them by reason.
type Writer struct {
	f      *os.File
	w      *csv.Writer
	runID  string
	counts map[string]int
	total  int
}

// Header is the quarantine file's header row.
var Header = []string{"run_id", "source", "file", "line", "field", "reason"}

// Create opens a new quarantine file (it must not exist yet).
func Create(path, runID string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("quarantine: %w", err)
	}
	w := &Writer{f: f, w: csv.NewWriter(f), runID: runID, counts: map[string]int{}}
	if err := w.w.Write(Header); err != nil {
		f.Close()
		return nil, fmt.Errorf("quarantine %s: %w", path, err)
	}
	return w, nil
}

// Add records one entry.
func (w *Writer) Add(e Entry) error {
	w.counts[e.Reason]++
	w.total++
	return w.w.Write([]string{w.runID, e.Source, e.File, strconv.Itoa(e.Line), e.Field, e.Reason})
}

// Total is the number of entries so far.
func (w *Writer) Total() int { return w.total }

// Counts returns the entries per reason.
func (w *Writer) Counts() map[string]int {
	m := make(map[string]int, len(w.counts))
	for k, v := range w.counts {
		m[k] = v
	}
	return m
}

// Reasons returns the reason codes seen, sorted.
func (w *Writer) Reasons() []string {
	r := make([]string, 0, len(w.counts))
	for k := range w.counts {
		r = append(r, k)
	}
	sort.Strings(r)
	return r
}

// Close flushes and syncs the file.
func (w *Writer) Close() error {
	w.w.Flush()
	if err := w.w.Error(); err != nil {
		w.f.Close()
		return err
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}

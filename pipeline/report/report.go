// Package report is the run report: what one `gallra run` read, kept,
// quarantined and wrote, as JSON for monitoring and the data protection
// officer, and as a short summary for the operator's terminal.
//
// A report holds counts, file names, hashes, key IDs and reason codes. It
// never holds an identifier, a row value or key material.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gallra/gallra/pipeline/atomicfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/merge"
)

// Outcome of a run.
const (
	OutcomeOK          = "ok"          // everything read was kept
	OutcomeQuarantined = "quarantined" // committed; some rows went to quarantine
	OutcomeRejected    = "rejected"    // committed; some files could not be used at all
	OutcomeFailed      = "failed"      // nothing was committed
	OutcomeLocked      = "locked"      // another run held the lake; nothing was done
	// OutcomeInterrupted is only found in the run log: a run that died after
	// its commit point, whose commit the next run finished. Its own report
	// was never written; the next run writes this stand-in.
	OutcomeInterrupted = "interrupted"
)

// Run is the report of one run.
type Run struct {
	RunID         string         `json:"run_id"`
	Kind          string         `json:"kind"` // always "run"; maintenance operations log other kinds (package lakeop)
	Version       string         `json:"gallra_version"`
	Started       time.Time      `json:"started"`
	Finished      time.Time      `json:"finished"`
	ReferenceDate string         `json:"reference_date"`
	Config        string         `json:"config"`
	KeyID         string         `json:"key_id"`
	Domain        string         `json:"pseudonym_domain"`
	Outcome       string         `json:"outcome"`
	ExitCode      int            `json:"exit_code"`
	Error         string         `json:"error,omitempty"`
	Locked        bool           `json:"locked,omitempty"` // another run held the lake: nothing was done
	StaleLock     string         `json:"stale_lock,omitempty"`
	Recovery      *lake.Recovery `json:"recovery,omitempty"`
	Totals        Counts         `json:"totals"`
	Sources       []*Source      `json:"sources"`
	Generation    int64          `json:"lake_generation"` // the lake's manifest generation after the run
	Partitions    []merge.Stats  `json:"partitions,omitempty"`
	LakeFiles     []File         `json:"lake_files"`
	Superseded    []string       `json:"superseded_files,omitempty"`
	CullErrors    int            `json:"cull_errors,omitempty"` // exports in the lake that could not be deleted/moved
	// DroppedPastRetention counts rows read that were already past their
	// retention policy's pseudonymised tier and that the lake no longer
	// held: culled before, sent again by a snapshot export. They are not
	// stored (see docs/retention.md). Not an error.
	DroppedPastRetention int    `json:"rows_dropped_past_retention,omitempty"`
	Quarantine           string `json:"quarantine_file,omitempty"`
}

// Status of an input file.
const (
	FileOK        = "ok"        // read; its rows are in the lake or in quarantine
	FileRejected  = "rejected"  // not used at all; it stays in the inbox
	FileDuplicate = "duplicate" // the lake already holds this content; skipped
)

// Counts are row counts. Read = Accepted + sum(Quarantined).
type Counts struct {
	Files          int            `json:"files"`
	RejectedFiles  int            `json:"rejected_files"`
	DuplicateFiles int            `json:"duplicate_files"`
	Read           int            `json:"rows_read"`
	Accepted       int            `json:"rows_accepted"`
	Unlinked       int            `json:"rows_unlinked"` // accepted without a pseudonym, by policy
	Quarantined    map[string]int `json:"rows_quarantined"`
}

// QuarantinedTotal sums the quarantined rows over all reasons.
func (c Counts) QuarantinedTotal() int {
	n := 0
	for _, v := range c.Quarantined {
		n += v
	}
	return n
}

// Add accumulates o into c.
func (c *Counts) Add(o Counts) {
	c.Files += o.Files
	c.RejectedFiles += o.RejectedFiles
	c.DuplicateFiles += o.DuplicateFiles
	c.Read += o.Read
	c.Accepted += o.Accepted
	c.Unlinked += o.Unlinked
	for k, v := range o.Quarantined {
		if c.Quarantined == nil {
			c.Quarantined = map[string]int{}
		}
		c.Quarantined[k] += v
	}
}

// Source is one source's share of the run.
type Source struct {
	Name   string       `json:"name"`
	Schema string       `json:"schema"`
	Keep   []string     `json:"declared_attributes"`
	Counts Counts       `json:"counts"`
	Files  []*InputFile `json:"files"`
}

// InputFile is one export file.
type InputFile struct {
	Path      string `json:"path"` // relative to the inbox
	SHA256    string `json:"sha256"`
	Bytes     int64  `json:"bytes"`
	Encoding  string `json:"encoding,omitempty"`
	Delimiter string `json:"delimiter,omitempty"`
	Status    string `json:"status"` // FileOK, FileRejected or FileDuplicate
	Reason    string `json:"reason,omitempty"`
	Error     string `json:"error,omitempty"`
	Counts    Counts `json:"counts"`
}

// File is one Parquet file written into the lake.
type File struct {
	Path   string `json:"path"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// WriteJSON writes the report atomically: a temporary file, fsync, rename.
func (r *Run) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o640)
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("report %s: %w", path, err)
	}
	return &r, nil
}

// Summary writes the operator's short summary.
func (r *Run) Summary(w io.Writer) {
	fmt.Fprintf(w, "gallra run %s: %s (reference date %s, key %s)\n", r.RunID, r.Outcome, r.ReferenceDate, r.KeyID)
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s\n", r.Error)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "source\tfiles\trejected\tduplicate\tread\taccepted\tunlinked\tquarantined\t")
	for _, s := range r.Sources {
		c := s.Counts
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", s.Name, c.Files, c.RejectedFiles, c.DuplicateFiles, c.Read, c.Accepted, c.Unlinked, c.QuarantinedTotal())
	}
	t := r.Totals
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", t.Files, t.RejectedFiles, t.DuplicateFiles, t.Read, t.Accepted, t.Unlinked, t.QuarantinedTotal())
	tw.Flush()
	if r.DroppedPastRetention > 0 {
		fmt.Fprintf(w, "%d row(s) not stored: past their retention policy's pseudonymised tier and culled from the lake before (sent again by a snapshot export)\n", r.DroppedPastRetention)
	}
	if len(t.Quarantined) > 0 {
		reasons := make([]string, 0, len(t.Quarantined))
		for k := range t.Quarantined {
			reasons = append(reasons, k)
		}
		sort.Strings(reasons)
		parts := make([]string, len(reasons))
		for i, k := range reasons {
			parts[i] = fmt.Sprintf("%s %d", k, t.Quarantined[k])
		}
		fmt.Fprintf(w, "quarantined by reason: %s\n", strings.Join(parts, ", "))
	}
	for _, s := range r.Sources {
		for _, f := range s.Files {
			if f.Status == FileRejected {
				fmt.Fprintf(w, "rejected file %s: %s\n", f.Path, f.Error)
			}
		}
	}
	var rows int64
	for _, f := range r.LakeFiles {
		rows += f.Rows
	}
	var ins, upd, unch int
	for _, p := range r.Partitions {
		ins, upd, unch = ins+p.Inserted, upd+p.Updated, unch+p.Unchanged
	}
	fmt.Fprintf(w, "lake generation %d: %d inserted, %d updated, %d unchanged; %d file(s) with %d row(s) written, %d superseded, in %s\n",
		r.Generation, ins, upd, unch, len(r.LakeFiles), rows, len(r.Superseded), r.Finished.Sub(r.Started).Round(time.Millisecond))
	if r.Recovery != nil {
		fmt.Fprintf(w, "recovered from an interrupted run: generation %d finished, %d staged run(s) discarded, %d orphan file(s) moved aside\n",
			r.Recovery.RolledForward, len(r.Recovery.DiscardedRuns), len(r.Recovery.Orphans))
	}
	if r.Quarantine != "" {
		fmt.Fprintf(w, "quarantine: %s\n", r.Quarantine)
	}
}

// Exit codes of `gallra run`, for monitoring. They are documented in the
// README; do not renumber them.
const (
	ExitOK          = 0 // every row read was kept
	ExitFailed      = 1 // the run failed; nothing was committed (includes a missing or unusable key)
	ExitUsage       = 2 // bad command line or configuration
	ExitQuarantined = 3 // committed; some rows were quarantined
	ExitRejected    = 4 // committed; some files were rejected whole (schema drift, unreadable, truncated, still being written) and stay in the inbox
	ExitLocked      = 5 // another run holds the lake's lock; nothing was done (try again later)
)

// Conclude sets Outcome and ExitCode from the counts.
func (r *Run) Conclude() {
	switch {
	case r.Locked:
		r.Outcome, r.ExitCode = OutcomeLocked, ExitLocked
	case r.Error != "":
		r.Outcome, r.ExitCode = OutcomeFailed, ExitFailed
	case r.Totals.RejectedFiles > 0 || r.CullErrors > 0:
		r.Outcome, r.ExitCode = OutcomeRejected, ExitRejected
	case r.Totals.QuarantinedTotal() > 0:
		r.Outcome, r.ExitCode = OutcomeQuarantined, ExitQuarantined
	default:
		r.Outcome, r.ExitCode = OutcomeOK, ExitOK
	}
}

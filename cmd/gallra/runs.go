package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
)

func runsCommand() *cli.Command {
	return &cli.Command{
		Name:  "runs",
		Usage: "list the lake's run log: one line per run, newest last",
		Description: `Every run that took the lake's lock leaves its report in the lake's run log,
_gallra/runs/<run id>.json: what it read, kept, quarantined and merged, and how it
ended. runs lists them oldest first, one line each:

  run       the run ID (its start time, UTC, and a random suffix)
  started   when it started (UTC)
  took      how long it ran
  outcome   ok, quarantined, rejected, failed (nothing committed)
  files     exports read ok / rejected (they stay in the inbox) / duplicate (already in the lake)
  rows      rows read / accepted / quarantined
  merged    records inserted / updated in the lake
  gen       the lake's manifest generation after the run

A run that found the lake locked did nothing and is not in the run log (its report is
in the reports folder). With --json the same, one JSON object per run in an array,
with the error of a failed run and its exit code. The whole report of a run is the
JSON file itself, or reports/run-<run id>.json.

Example:
  gallra runs --lake /srv/gallra/lake | tail -n 7`,
		Flags: append(lakeFlags(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
		),
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usageError("gallra runs takes no arguments")
			}
			lakeDir, _, err := resolveLake(c)
			if err != nil {
				return err
			}
			if _, err := os.Stat(lakeDir); err != nil {
				return cli.Exit("runs: "+err.Error(), report.ExitFailed)
			}
			runs, bad, err := readRunLog(lakeDir)
			if err != nil {
				return cli.Exit("runs: "+err.Error(), report.ExitFailed)
			}
			if c.Bool("json") {
				err = printRunsJSON(c.App.Writer, runs)
			} else {
				err = printRuns(c.App.Writer, runs)
			}
			if err != nil {
				return err
			}
			if len(bad) > 0 {
				return cli.Exit(fmt.Sprintf("runs: %d run log file(s) could not be read: %s", len(bad), strings.Join(bad, ", ")), report.ExitFailed)
			}
			return nil
		},
	}
}

// readRunLog reads every run report in the lake's run log, oldest first. It
// returns the names of files that do not read as a report separately.
func readRunLog(lakeDir string) (runs []*report.Run, bad []string, err error) {
	dir := filepath.Join(lakeDir, lake.MetaDir, "runs")
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		r, err := report.ReadJSON(filepath.Join(dir, e.Name()))
		if err != nil || r.RunID == "" {
			bad = append(bad, lake.MetaDir+"/runs/"+e.Name())
			continue
		}
		runs = append(runs, r)
	}
	slices.SortStableFunc(runs, func(a, b *report.Run) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.RunID, b.RunID)
	})
	return runs, bad, nil
}

// runLine is one run as `gallra runs` shows it.
type runLine struct {
	RunID       string    `json:"run_id"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	Seconds     float64   `json:"duration_seconds"`
	Outcome     string    `json:"outcome"`
	ExitCode    int       `json:"exit_code"`
	Error       string    `json:"error,omitempty"`
	FilesOK     int       `json:"files_ok"`
	Rejected    int       `json:"files_rejected"`
	Duplicate   int       `json:"files_duplicate"`
	Read        int       `json:"rows_read"`
	Accepted    int       `json:"rows_accepted"`
	Quarantined int       `json:"rows_quarantined"`
	Inserted    int       `json:"inserted"`
	Updated     int       `json:"updated"`
	Generation  int64     `json:"lake_generation"`
	Version     string    `json:"gallra_version"`
}

func lineOf(r *report.Run) runLine {
	t := r.Totals
	l := runLine{
		RunID: r.RunID, Started: r.Started.UTC(), Finished: r.Finished.UTC(), Outcome: r.Outcome, ExitCode: r.ExitCode,
		Error: r.Error, Version: r.Version, Generation: r.Generation,
		FilesOK: t.Files - t.RejectedFiles - t.DuplicateFiles, Rejected: t.RejectedFiles, Duplicate: t.DuplicateFiles,
		Read: t.Read, Accepted: t.Accepted, Quarantined: t.QuarantinedTotal(),
	}
	if !r.Finished.IsZero() {
		l.Seconds = r.Finished.Sub(r.Started).Seconds()
	}
	for _, p := range r.Partitions {
		l.Inserted += p.Inserted
		l.Updated += p.Updated
	}
	return l
}

func printRuns(w io.Writer, runs []*report.Run) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tstarted\ttook\toutcome\tfiles ok/rej/dup\trows read/acc/quar\tmerged ins/upd\tgen")
	for _, r := range runs {
		l := lineOf(r)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d/%d\t%d/%d/%d\t%d/%d\t%d\n",
			l.RunID, l.Started.Format("2006-01-02 15:04:05Z"), took(r), l.Outcome,
			l.FilesOK, l.Rejected, l.Duplicate, l.Read, l.Accepted, l.Quarantined, l.Inserted, l.Updated, l.Generation)
	}
	return tw.Flush()
}

func printRunsJSON(w io.Writer, runs []*report.Run) error {
	lines := make([]runLine, 0, len(runs))
	for _, r := range runs {
		lines = append(lines, lineOf(r))
	}
	b, err := json.MarshalIndent(lines, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// took is a run's duration, rounded to what a person reads.
func took(r *report.Run) string {
	if r.Finished.IsZero() {
		return "-"
	}
	d := r.Finished.Sub(r.Started)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

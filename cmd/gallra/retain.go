package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/retain"
	"github.com/gallra/gallra/transforms/pseudonym"
)

func retainCommand() *cli.Command {
	return &cli.Command{
		Name:  "retain",
		Usage: "apply each source's retention policy: freeze aggregates, anonymise, purge (--dry-run: only report)",
		Description: `Each source may name a retention policy in the job file (retention = "jonkoping_amea",
one of the shipped policies in schemas/retention that express the privacy notices'
promises, or a path to your own). gallra retain applies them on --date (default today):

  - every calendar year that a leaving row is active in, and that is not frozen yet, is
    frozen first: the aggregates that need linkage (participants, new entrants, ended,
    re-entries) computed from the whole pseudonymised lake and kept in aggregates/;
  - rows past their pseudonymised time move to the anonymised tier (pseudonym, key ID
    and record key gone, the period coarsened, only the policy's keep_anonymised
    attributes, a random cell key);
  - rows past the policy's kept time are purged from both tiers.

All of it is one commit of the lake (one manifest switch) with a run-log entry of kind
"retain" holding counts per source, never values. gallra run does the same after every
committed night unless told not to (--no-retain). With --dry-run nothing changes: the
command prints the same plan and records a dry-run entry in the run log. It needs the
key (as gallra run does) except with --dry-run.

Exit codes: 0 ok (also when nothing was due), 1 failed (nothing committed), 2 usage or
configuration error, 5 another run holds the lake's lock (nothing done).

Example:
  gallra retain --config gallra.toml --dry-run --date 2027-01-01`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "job file (sources and their retention policies)", Required: true},
			&cli.StringFlag{Name: "key", Usage: "key file; overrides [key] file in the configuration"},
			&cli.BoolFlag{Name: "dry-run", Usage: "report what would change, change nothing"},
			&cli.StringFlag{Name: "date", Usage: "the day to apply retention for (YYYY-MM-DD; default today, UTC)"},
			&cli.BoolFlag{Name: "json", Usage: "print the run-log entry as JSON"},
			&cli.StringFlag{Name: "memory-limit", Value: halfMachineMemory(), Usage: "DuckDB's memory limit, e.g. 4GB; by default half of this machine's memory (the first retention on a lake freezes every closed year at once and needs the most, growing with the lake: 256 MB was enough at 10M rows; gallra run's retention after a night uses 2 GB)"},
		},
		Action: func(c *cli.Context) error {
			job, err := config.Load(c.String("config"))
			if err != nil {
				return cli.Exit(err.Error(), report.ExitUsage)
			}
			day, err := referenceDate(c.String("date"))
			if err != nil {
				return err
			}
			var key pseudonym.Key
			if !c.Bool("dry-run") {
				if k := c.String("key"); k != "" {
					job.Key.File = k
				}
				if key, err = loadKey(job.Key.File); err != nil {
					return cli.Exit(err.Error(), report.ExitFailed)
				}
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := retain.Apply(ctx, job, key, day, retain.Options{DryRun: c.Bool("dry-run"), Logger: slog.Default(), MemoryLimit: c.String("memory-limit")})
			return retainOutcome(c.App.Writer, res, err, c.Bool("json"))
		},
	}
}

// retainOutcome prints a retention run's result and returns its exit.
func retainOutcome(w io.Writer, res *retain.Result, err error, asJSON bool) error {
	if errors.Is(err, lake.ErrLocked) {
		return cli.Exit("retain: "+err.Error(), report.ExitLocked)
	}
	if res != nil && res.Log != nil {
		if asJSON {
			b, jerr := json.MarshalIndent(res.Log, "", "  ")
			if jerr != nil {
				return jerr
			}
			fmt.Fprintln(w, string(b))
		} else {
			printRetain(w, res)
		}
	}
	if err != nil {
		return cli.Exit("retain failed: "+err.Error(), report.ExitFailed)
	}
	return nil
}

func printRetain(w io.Writer, res *retain.Result) {
	d := res.Details
	switch res.Log.Outcome {
	case lakeop.OutcomeDryRun:
		fmt.Fprintf(w, "retention on %s (dry run: nothing changed)\n", d.Today)
	case lakeop.OutcomeNothing:
		fmt.Fprintf(w, "retention on %s: nothing due (run %s)\n", d.Today, res.Log.RunID)
	case lakeop.OutcomeOK:
		fmt.Fprintf(w, "retention on %s: committed lake generation %d (run %s)\n", d.Today, res.Log.Generation, res.Log.RunID)
	default:
		fmt.Fprintf(w, "retention on %s: %s (run %s)\n", d.Today, res.Log.Outcome, res.Log.RunID)
	}
	// pseudonymised and anonymised: the rows each tier holds after the run;
	// anonymise, purge, purge_anonymised: what the run moves or removes.
	rows := make([][]string, len(d.Sources))
	for i, s := range d.Sources {
		policy := s.Policy
		if policy == "" {
			policy = "(none)"
		}
		n := func(v int64) string { return strconv.FormatInt(v, 10) }
		rows[i] = []string{s.Source, policy, n(s.Pseudonymised), n(s.Anonymised), n(s.Purged), n(s.AnonymisedKept), n(s.AnonymisedPurged), n(s.ForFrozenYears)}
	}
	_ = duck.PrintTable(w, []string{"source", "policy", "pseudonymised", "anonymise", "purge", "anonymised", "purge_anonymised", "live_in_frozen_years"}, rows)
	years := func(ys []int) string {
		if len(ys) == 0 {
			return "none"
		}
		s := make([]string, len(ys))
		for i, y := range ys {
			s[i] = strconv.Itoa(y)
		}
		return strings.Join(s, ", ")
	}
	fmt.Fprintf(w, "years frozen by this run: %s; frozen years: %s\n", years(d.YearsFrozen), years(d.Frozen))
}

// hasRetention reports whether any source of job names a retention policy.
func hasRetention(job *config.Job) bool {
	for _, s := range job.Sources {
		if s.Retention != nil {
			return true
		}
	}
	return false
}

// retainAfterNight applies retention after gallra run's night, on the
// night's reference date. A failure is exit 1 with a message that says the
// night itself was committed.
func retainAfterNight(c *cli.Context, job *config.Job, key pseudonym.Key, night *report.Run) error {
	day, err := time.Parse(time.DateOnly, night.ReferenceDate)
	if err != nil {
		day = time.Now().UTC()
	}
	res, err := retain.Apply(c.Context, job, key, day, retain.Options{Logger: slog.Default()})
	if err != nil {
		return cli.Exit("the night's run committed, but retention after it failed (run gallra retain to retry): "+err.Error(), report.ExitFailed)
	}
	if !c.Bool("quiet") {
		printRetain(c.App.Writer, res)
	}
	return nil
}

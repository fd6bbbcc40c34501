package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/publication"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/retain"
	"github.com/gallra/gallra/pipeline/risk"
	"github.com/gallra/gallra/pipeline/synth"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/pipeline/verify"
)

// demoMarker marks a folder as the demo's own, so that a re-run may clear it.
const demoMarker = ".gallra-demo"

// demoConfig is the head of the job file the demo writes; synth.Sources
// follows it: every built-in schema as a source, with the policies a
// municipality would plausibly choose.
const demoConfig = `# gallra demo job: every built-in source system, synthetic data.
lake = "lake"
reports = "reports"
inbox = "inbox"
reference_date = "%s"
settle = "0s"                # the demo writes its exports a moment before it runs
after_ingest = "move"        # ingested exports go to done/<source>/; the default deletes them

[key]
file = "keys/gallra.key"
domain = "lake"
`

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "generate synthetic exports, run the pipeline on them and query the lake (what `make demo` runs)",
		Description: `Writes exactly the exports that ` + "`gallra generate --out DIR/inbox --rows N --seed S`" + ` writes,
creates a key in DIR/keys, a job file DIR/gallra.toml, runs the pipeline into DIR/lake,
leaves the run report and quarantine file under DIR/reports, prints counts per source and
per measure type read back from the lake through DuckDB, and verifies that no identifier
reached the lake or the reports.

A folder that the demo made before is cleared and made again; any other non-empty
folder is refused.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "dir", Aliases: []string{"d"}, Value: "demo", Usage: "demo folder"},
			progressFlag(),
		}, generateFlags()...),
		Action: func(c *cli.Context) error {
			opt, err := synthOptions(c)
			if err != nil {
				return err
			}
			progress, err := progressOption(c)
			if err != nil {
				return err
			}
			return runDemo(c.Context, c.App.Writer, c.String("dir"), opt, progress)
		},
	}
}

func runDemo(ctx context.Context, w io.Writer, dir string, opt synth.Options, progress func(string, int64) ingest.ProgressTracker) error {
	if err := prepareDemoDir(dir); err != nil {
		return cli.Exit(err.Error(), report.ExitUsage)
	}
	gen, err := synth.Generate(filepath.Join(dir, "inbox"), opt)
	if err != nil {
		return err
	}
	printGenerated(w, gen)

	keyPath := filepath.Join(dir, "keys", "gallra.key")
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
		return err
	}
	k, err := keyfile.Generate(rand.Reader)
	if err != nil {
		return err
	}
	if err := keyfile.Write(keyPath, k, nil); err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "gallra.toml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, demoConfig+synth.Sources, opt.Reference.Format("2006-01-02")), 0o644); err != nil {
		return err
	}
	job, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n$ gallra run --config %s\n", cfgPath)
	rep, err := ingest.Run(ctx, job, k, ingest.Options{Version: version, Logger: slog.Default(), Progress: progress})
	rep.Summary(w)
	if err != nil {
		return cli.Exit("demo run failed: "+err.Error(), report.ExitFailed)
	}

	// The night is followed by retention, as gallra run does: rows past
	// their policy's pseudonymised tier are anonymised or purged, and the
	// years they are active in are frozen first.
	fmt.Fprintf(w, "\nretention after the night (what gallra run does next):\n")
	res, err := retain.Apply(ctx, job, k, opt.Reference, retain.Options{Logger: slog.Default()})
	if err != nil {
		return cli.Exit("demo retention failed: "+err.Error(), report.ExitFailed)
	}
	printRetain(w, res)

	fmt.Fprintf(w, "\nThe lake through DuckDB (the views of %s):\n", filepath.Join(job.Lake, lake.MetaDir, "views.sql"))
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, job.Lake); err != nil {
		return err
	}
	for _, q := range []struct{ title, sql string }{
		{"per source", `SELECT source, count(*) AS participations, count(DISTINCT pseudonym) AS persons,
			count(*) FILTER (WHERE pseudonym IS NULL) AS unlinked,
			min(period_start) AS first_start, max(period_start) AS last_start
			FROM lake GROUP BY source ORDER BY source`},
		{"per measure type", `SELECT measure, count(*) AS participations, count(DISTINCT pseudonym) AS persons,
			count(*) FILTER (WHERE period_end IS NULL) AS ongoing
			FROM lake GROUP BY measure ORDER BY participations DESC, measure`},
		{"the tiers per source (pseudonymised: linkable rows; anonymised: no pseudonym, period coarsened)", `SELECT source,
			count(*) FILTER (WHERE tier = 'pseudonymised') AS pseudonymised,
			count(*) FILTER (WHERE tier = 'anonymised') AS anonymised,
			any_value(granularity) FILTER (WHERE tier = 'anonymised') AS anonymised_granularity
			FROM (SELECT source, 'pseudonymised' AS tier, NULL AS granularity FROM lake
			      UNION ALL SELECT source, 'anonymised', granularity FROM anonymised)
			GROUP BY source ORDER BY source`},
		{"frozen aggregates (person counts kept after the pseudonyms went), all sources and measures", `SELECT year,
			max(value) FILTER (WHERE statistic = 'participants') AS participants,
			max(value) FILTER (WHERE statistic = 'new_entrants') AS new_entrants,
			max(value) FILTER (WHERE statistic = 'reentries') AS reentries, min(frozen_on) AS frozen_on
			FROM aggregates WHERE source = 'TOTAL' AND measure = 'TOTAL' GROUP BY year ORDER BY year`},
	} {
		cols, rows, err := duck.Query(ctx, db, q.sql)
		if err != nil {
			return fmt.Errorf("querying the lake (%s): %w", q.title, err)
		}
		fmt.Fprintf(w, "\n%s:\n", q.title)
		duck.PrintTable(w, cols, rows)
	}

	rk, err := risk.Assess(ctx, db, 5, 0)
	if err != nil {
		return fmt.Errorf("demo risk: %w", err)
	}
	fmt.Fprintf(w, "\n$ gallra risk --k 5\nanonymised tier: %d rows in %d classes; smallest class %d; %d classes (%d rows) under k = 5 (gallra risk --fix coarsen treats them)\n",
		rk.Rows, rk.Classes, rk.MinK, rk.SmallClasses, rk.RowsInSmall)

	to := opt.Reference.Year() - 1
	files, err := exportTable(ctx, job.Lake, k, tables.Spec{By: []string{"measure", "year"}, FromYear: to - 9, ToYear: to},
		publication.Options{}, filepath.Join(dir, "exports"), "gallra demo, syntetiska data", "gallra demo")
	if err != nil {
		return fmt.Errorf("demo export: %w", err)
	}
	html := filepath.Join(dir, "exports", "statistik.html")
	if err := writeReport(ctx, job.Lake, k, to-9, to, publication.Options{}, html,
		"Deltagare i arbetsmarknadsåtgärder (gallra demo)", "gallra demo, syntetiska data", "gallra demo"); err != nil {
		return fmt.Errorf("demo report: %w", err)
	}
	fmt.Fprintf(w, "\nParticipants per measure and year %d–%d, protected with the cell key method, and the report:\n", to-9, to)
	printFiles(w, append(files, html))
	findings, stats, err := scan(verify.SecretForms(k.Secret()), job.Lake, job.Reports, filepath.Join(dir, "exports"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nverify: %d file(s) scanned, %d value(s) examined, %d finding(s)\n", stats.Files, stats.Values, len(findings))
	for i, f := range findings {
		if i == 20 {
			fmt.Fprintf(w, "FOUND ... and %d more\n", len(findings)-i)
			break
		}
		fmt.Fprintf(w, "FOUND %s in %s at %s\n", f.Kind, f.File, f.Location)
	}
	for _, u := range stats.Unscannable {
		fmt.Fprintf(w, "UNSCANNABLE %s\n", u)
	}
	if len(findings) > 0 || len(stats.Unscannable) > 0 {
		return cli.Exit("demo: verify found identifying data in the lake or reports", report.ExitFailed)
	}
	fmt.Fprintf(w, "\nTry: duckdb -c \".read %s\" -c \"SELECT * FROM participations LIMIT 5\"\n", filepath.Join(job.Lake, lake.MetaDir, "views.sql"))
	return nil
}

// prepareDemoDir makes dir empty, refusing to clear a folder the demo did
// not make.
func prepareDemoDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return fmt.Errorf("demo folder %s is not empty and was not made by the demo: choose another --dir", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by gallra demo; cleared on every demo run\n"), 0o644)
}

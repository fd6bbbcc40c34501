package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/report"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the batch job: read the inboxes, pseudonymise, minimise, write the lake",
		Description: `Reads every export waiting in the configured sources' inboxes, validates each row
against the source's schema, replaces the identifier with a keyed pseudonym, keeps only
the measure type, the period and the declared attributes, and writes Parquet files into
the lake. Unusable rows go to the quarantine file with file, line, field and reason,
never the value. A JSON run report is written to the reports folder.

The key comes from the key file named in the configuration (or --key), or from the
GALLRA_KEY environment variable. Without a usable key the run refuses to start. An
encrypted key file's passphrase comes from the file named by GALLRA_KEY_PASSPHRASE_FILE,
from GALLRA_KEY_PASSPHRASE or from the terminal. The run also refuses a key whose current
generation is not the one the lake was last written with: after an interrupted key
rotation, finish it with gallra key rotate --resume.

Runs are idempotent: every export is recognised by its content hash in the lake's
manifest, so a file delivered twice, or a night run twice, changes nothing. Rows merge
by record key: a later version of a participation replaces the earlier one, and a
participation missing from a later export keeps its history. The run commits by
switching the manifest atomically; a crashed run is recovered by the next one. After
the commit, ingested exports are deleted (after_ingest = "delete", the default), moved
or kept.

After a night that did not fail, the run applies the sources' retention policies on its
reference date as gallra retain does (a second commit, with its own run-log entry of kind
"retain"), unless --no-retain is given or no source names a policy.

Exit codes: 0 ok, 1 failed (nothing committed; or the night committed and retention
after it failed, which the message says), 2 usage or configuration error,
3 committed with rows quarantined, 4 committed with whole files rejected,
5 another run holds the lake's lock (nothing done).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "job file (TOML)", Required: true},
			&cli.StringFlag{Name: "key", Usage: "key file; overrides [key] file in the configuration"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no summary on stdout"},
			&cli.BoolFlag{Name: "no-retain", Usage: "do not apply the retention policies after the night"},
			progressFlag(),
		},
		Action: func(c *cli.Context) error {
			progress, err := progressOption(c)
			if err != nil {
				return err
			}
			job, err := config.Load(c.String("config"))
			if err != nil {
				return cli.Exit(err.Error(), report.ExitUsage)
			}
			if k := c.String("key"); k != "" {
				job.Key.File = k
			}
			key, err := loadKey(job.Key.File)
			if err != nil {
				return cli.Exit(err.Error(), report.ExitFailed)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := ingest.Run(ctx, job, key, ingest.Options{Version: version, Logger: slog.Default(), Progress: progress})
			if !c.Bool("quiet") {
				rep.Summary(c.App.Writer)
			}
			if err != nil {
				return cli.Exit("run failed: "+err.Error(), rep.ExitCode)
			}
			if !c.Bool("no-retain") && hasRetention(job) {
				if err := retainAfterNight(c, job, key, rep); err != nil {
					return err
				}
			}
			if rep.ExitCode != report.ExitOK {
				return cli.Exit("", rep.ExitCode)
			}
			return nil
		},
	}
}

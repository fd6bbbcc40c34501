package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/deliver"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
)

func deliverCommand() *cli.Command {
	return &cli.Command{
		Name:      "deliver",
		Usage:     "write person-level microdata for an external recipient under the recipient's own pseudonyms",
		ArgsUsage: " ",
		Description: `Writes the lake's participations for one recipient (a delivery domain) into a new
folder: NAME.parquet and NAME.csv with the columns pseudonym, source, measure,
period_start, period_end, sex, age_band, municipality (attributes null unless the
source's policy keeps them), and delivery.json with the domain, date, counts and each
file's SHA-256. The delivery is logged in the lake's run log (kind "deliver").

The pseudonym is the recipient's own: HMAC-SHA-256 under a key derived from the
secret for the domain NAME, over the lake's pseudonym. Without the key a recipient
cannot link its data to the lake, nor to another recipient's; the same recipient gets
the same pseudonym for a person in every delivery (until the key is rotated). No
record_key, key_id, id_kind or run_id leaves the lake. A participation kept unlinked
has a null pseudonym.

NAME is the recipient's name: 1 to 64 characters from a-z, 0-9, '.', '_', '-'. The
lake's own domain and gallra's internal domains (lake, cellkey) are refused.

--from and --to keep the participations active at some time in those years;
--source (repeatable) keeps those sources. Run gallra verify on the folder before it
leaves.

Examples:
  gallra deliver --config gallra.toml --domain scb-2026 --out out/scb-2026 --from 2020 --to 2025
  gallra verify --lake out/scb-2026`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "domain", Usage: "the recipient's delivery domain (e.g. scb-2026)", Required: true},
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "job file: the lake, the key and the lake's domain", Required: true},
			&cli.StringFlag{Name: "key", Usage: "key file (overrides [key] file in the job file)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "folder to write (must not exist or be empty)", Required: true},
			&cli.IntFlag{Name: "from", Usage: "first year (participations active in it or later)"},
			&cli.IntFlag{Name: "to", Usage: "last year (participations active in it or earlier)"},
			&cli.StringSliceFlag{Name: "source", Usage: "only this source (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("deliver takes no arguments")
			}
			job, err := config.Load(c.String("config"))
			if err != nil {
				return cli.Exit(err.Error(), report.ExitUsage)
			}
			if err := deliver.CheckDomain(c.String("domain"), job.Key.Domain); err != nil {
				return cli.Exit(err.Error(), report.ExitUsage)
			}
			keyPath := job.Key.File
			if k := c.String("key"); k != "" {
				keyPath = k
			}
			key, err := loadKey(keyPath)
			if err != nil {
				return cli.Exit(err.Error(), report.ExitFailed)
			}
			if err := checkLakeKey(key, job.Lake); err != nil {
				return cli.Exit(err.Error(), report.ExitFailed)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			m, err := deliver.Write(ctx, job.Lake, key, deliver.Options{
				Domain: c.String("domain"), LakeDomain: job.Key.Domain,
				FromYear: c.Int("from"), ToYear: c.Int("to"), Sources: c.StringSlice("source"), Out: c.String("out"),
			})
			if err != nil {
				code := report.ExitFailed
				switch {
				case errors.Is(err, deliver.ErrDomain):
					code = report.ExitUsage
				case errors.Is(err, lake.ErrLocked):
					code = report.ExitLocked
				}
				return cli.Exit("deliver: "+err.Error(), code)
			}
			fmt.Fprintf(c.App.Writer, "delivered %d participation(s) of %d person(s) (%d unlinked) to domain %s in %s (run %s)\n",
				m.Rows, m.Persons, m.UnlinkedRows, m.Domain, c.String("out"), m.RunID)
			for _, f := range m.Files {
				fmt.Fprintf(c.App.Writer, "  %s  %d bytes  sha256 %s\n", f.Name, f.Bytes, f.SHA256)
			}
			return nil
		},
	}
}

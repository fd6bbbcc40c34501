package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/retain"
)

func retainCommand() *cli.Command {
	return &cli.Command{
		Name:  "retain",
		Usage: "report how many rows each source's retention policy keeps linkable, anonymises or purges on a day (--dry-run)",
		Description: `Each source may name a retention policy in the job file (retention = "jonkoping_amea",
one of the shipped policies in schemas/retention that express the privacy notices'
promises, or a path to your own). With --dry-run, gallra retain reads the lake and prints,
per source, how many rows are still pseudonymised, due to be anonymised and due to be
purged on --date (default today). Nothing is changed.

Applying the tiers (freezing the aggregates that need linkage, writing the anonymised
tier, purging) is not built yet; without --dry-run the command refuses.

Example:
  gallra retain --config gallra.toml --dry-run --date 2027-01-01`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "job file (sources and their retention policies)", Required: true},
			&cli.BoolFlag{Name: "dry-run", Usage: "report what would change, change nothing"},
			&cli.StringFlag{Name: "date", Usage: "the day to plan for (YYYY-MM-DD; default today, UTC)"},
		},
		Action: func(c *cli.Context) error {
			if !c.Bool("dry-run") {
				return usageError("applying retention is not built yet: use --dry-run to see what it would do")
			}
			job, err := config.Load(c.String("config"))
			if err != nil {
				return cli.Exit(err.Error(), report.ExitUsage)
			}
			day, err := referenceDate(c.String("date"))
			if err != nil {
				return err
			}
			db, err := duck.Open(c.Context, duck.Options{ReadOnlyLake: true, LakeDir: job.Lake})
			if err != nil {
				return err
			}
			defer db.Close()
			if err := duck.LakeView(c.Context, db, job.Lake); err != nil {
				return err
			}
			plans, err := retain.Tiers(c.Context, db, job, day)
			if err != nil {
				return cli.Exit(err.Error(), report.ExitFailed)
			}
			rows := make([][]string, len(plans))
			for i, p := range plans {
				policy := p.Policy
				if policy == "" {
					policy = "(none)"
				}
				rows[i] = []string{p.Source, policy, strconv.Itoa(p.Rows[0]), strconv.Itoa(p.Rows[1]), strconv.Itoa(p.Rows[2])}
			}
			fmt.Fprintf(c.App.Writer, "retention on %s (dry run: nothing changed)\n", day.Format(time.DateOnly))
			return duck.PrintTable(c.App.Writer, []string{"source", "policy", "pseudonymised", "to_anonymise", "to_purge"}, rows)
		},
	}
}

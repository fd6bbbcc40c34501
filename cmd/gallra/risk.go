package main

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/risk"
)

func riskCommand() *cli.Command {
	return &cli.Command{
		Name:  "risk",
		Usage: "report k-anonymity of the anonymised tier: the classes of rows a person could be singled out in",
		Description: `Rows of the anonymised tier that agree on every quasi-identifier — source, measure,
granularity, period start and end, and the kept attributes sex, age band and municipality —
form an equivalence class; a class of k rows hides each of its rows among k. gallra risk
counts the classes per source, their sizes, and lists the classes smaller than --k.

With --check the exit code is 1 when any class is smaller than --k (for monitoring);
otherwise it is 0 whenever the report was made.

With --fix, the small classes are treated as one lake commit (kind risk-fix in the run log,
counts only) and the report shows the result:
  coarsen   generalise the rows of small classes step by step — the period to the next
            granularity (day, month, quarter, year), then municipality, age band and sex
            removed, in that order — until every class has --k rows; rows still in a
            small class after the last step are suppressed
  suppress  remove the rows of small classes
Add --dry-run to see the counts without changing anything.

Examples:
  gallra risk --config gallra.toml
  gallra risk --lake demo/lake --k 10 --limit 20 --format json
  gallra risk --config gallra.toml --fix coarsen --dry-run`,
		Flags: append(lakeFlags(),
			&cli.Int64Flag{Name: "k", Value: 5, Usage: "threshold: classes with fewer rows are reported as small"},
			&cli.IntFlag{Name: "limit", Value: 50, Usage: "list at most this many small classes (-1: all)"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "table or json"},
			&cli.BoolFlag{Name: "check", Usage: "exit 1 if any class is smaller than --k"},
			&cli.StringFlag{Name: "fix", Usage: "treat small classes: coarsen or suppress (one lake commit)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "with --fix: count what would change, change nothing"},
		),
		Action: func(c *cli.Context) error {
			lakeDir, _, err := resolveLake(c)
			if err != nil {
				return err
			}
			format := c.String("format")
			if format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			if c.Int64("k") < 2 {
				return usageError("--k %d: must be at least 2", c.Int64("k"))
			}
			if f := c.String("fix"); f != "" {
				action, err := risk.ParseAction(f)
				if err != nil {
					return usageError("--fix: %v", err)
				}
				log, plan, err := risk.Fix(c.Context, lakeDir, risk.FixOptions{K: c.Int64("k"), Action: action, DryRun: c.Bool("dry-run")})
				if err != nil {
					return opError(err)
				}
				fmt.Fprintf(c.App.Writer, "%s (%s, run %s)\n\n", plan, log.Outcome, log.RunID)
				if c.Bool("dry-run") {
					return nil
				}
			} else if c.Bool("dry-run") {
				return usageError("--dry-run goes with --fix")
			}
			db, err := duck.Open(c.Context, duck.Options{ReadOnlyLake: true, LakeDir: lakeDir})
			if err != nil {
				return err
			}
			defer db.Close()
			if err := duck.LakeView(c.Context, db, lakeDir); err != nil {
				return err
			}
			rep, err := risk.Assess(c.Context, db, c.Int64("k"), c.Int("limit"))
			if err != nil {
				return cli.Exit(err.Error(), report.ExitFailed)
			}
			if format == "json" {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else if err := printRisk(c, rep); err != nil {
				return err
			}
			if c.Bool("check") && !rep.OK() {
				return cli.Exit(fmt.Sprintf("%d classes (%d rows) are smaller than k = %d", rep.SmallClasses, rep.RowsInSmall, rep.K), report.ExitFailed)
			}
			return nil
		},
	}
}

func printRisk(c *cli.Context, rep *risk.Report) error {
	w := c.App.Writer
	fmt.Fprintf(w, "anonymised tier: %d rows in %d classes; smallest class %d; %d classes (%d rows) under k = %d\n\n",
		rep.Rows, rep.Classes, rep.MinK, rep.SmallClasses, rep.RowsInSmall, rep.K)
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	var rows [][]string
	for _, s := range rep.Sources {
		rows = append(rows, []string{s.Source, i64(s.Rows), i64(s.Classes), i64(s.MinK), i64(s.SmallClasses), i64(s.RowsInSmall)})
	}
	if err := duck.PrintTable(w, []string{"source", "rows", "classes", "min_k", "small_classes", "rows_in_small"}, rows); err != nil {
		return err
	}
	rows = rows[:0]
	for _, b := range rep.Sizes {
		rows = append(rows, []string{b.Label, i64(b.Classes), i64(b.Rows)})
	}
	fmt.Fprintln(w)
	if err := duck.PrintTable(w, []string{"class_size", "classes", "rows"}, rows); err != nil {
		return err
	}
	if len(rep.Small) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nsmall classes (smallest first%s):\n", map[bool]string{true: ", list cut at --limit", false: ""}[int64(len(rep.Small)) < rep.SmallClasses])
	rows = rows[:0]
	for _, cl := range rep.Small {
		rows = append(rows, append(append([]string{}, cl.Values...), i64(cl.Rows)))
	}
	return duck.PrintTable(w, append(append([]string{}, risk.QuasiIdentifiers...), "k"), rows)
}

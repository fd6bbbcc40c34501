package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/stats"
)

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "run the standard statistics over the lake (all of them, or those named)",
		ArgsUsage: "[NAME ...]",
		Description: `Runs the standard statistics suite (pipeline/stats/sql/*.sql, each documented in its
header) over the lake for a span of years and prints each as a table. These are the
analyst's unprotected numbers, for use inside the organisation: what leaves it goes
through gallra export, with disclosure control.

Statistics: participants, new_entrants, stock_month_end, durations, reentry,
transitions (--within-days), cohorts.

Every statistic takes --by: the breakdown replaces the measure (measure, the default;
source; and sex, age_band or municipality where the sources' policies keep them). In
transitions it is the pair from the ended participation's category to the next one's; in
new_entrants and cohorts it is the category of the person's first participation.
Transitions counts at most 128 categories (a breakdown by municipality over more
than 127 municipalities is refused).

Persons in participants, new_entrants and reentry need linkage. For a year that
retention has frozen they are the frozen aggregates, counted before the year's
pseudonyms went; for other years they are counted from the lake's pseudonymised
rows. The last column, basis, says which: frozen or pseudonymised. Frozen years are
kept by source and by measure only: for them a breakdown by sex, age_band or
municipality gives one row, category TOTAL.

Several statistics share one preparation (pipeline/stats/inputs.sql: what they need per
person, computed once; the person-keyed parts in one pass over each person's rows by
pipeline/stats/sweep, which keeps bucket files of pseudonyms in or next to DuckDB's temporary
directory while it runs and removes them). DuckDB gets --memory-limit, by default half of this
machine's memory.

Example:
  gallra stats --config gallra.toml --from 2017 --to 2026 participants reentry
  gallra stats --config gallra.toml --by sex participants`,
		Flags: append(append(lakeFlags(), spanFlags("this year")...),
			&cli.IntFlag{Name: "within-days", Value: 30, Usage: "transitions: days between an end and the next start"},
			&cli.StringFlag{Name: "memory-limit", Value: halfMachineMemory(), Usage: "DuckDB's memory limit, e.g. 12GB; by default half of this machine's memory (the suite over a 100M-row lake peaked at 1.2 GB, its person-keyed inputs computed outside DuckDB)"},
			&cli.StringFlag{Name: "by", Value: "measure", Usage: "breakdown of every statistic (participants, new_entrants, stock_month_end, durations, reentry, transitions, cohorts): measure, source, sex, age_band or municipality"},
		),
		Action: func(c *cli.Context) error {
			dir, _, err := resolveLake(c)
			if err != nil {
				return err
			}
			from, to := yearSpan(c, 0)
			sp := stats.Span{FromYear: from, ToYear: to, WithinDays: c.Int("within-days"), By: c.String("by")}
			var qs []stats.Query
			if c.NArg() == 0 {
				all, err := stats.Suite()
				if err != nil {
					return err
				}
				qs = all
			}
			for _, name := range c.Args().Slice() {
				q, err := stats.Lookup(name)
				if err != nil {
					return usageError("%v", err)
				}
				qs = append(qs, q)
			}
			db, err := duck.Open(c.Context, duck.Options{ReadOnlyLake: true, LakeDir: dir, MemoryLimit: c.String("memory-limit")})
			if err != nil {
				return err
			}
			defer db.Close()
			if err := duck.LakeView(c.Context, db, dir); err != nil {
				return err
			}
			// The shared inputs the statistics read are made once, the
			// person-keyed ones by the sweep over the lake's files (even
			// for one statistic: it is faster than DuckDB's view).
			p, err := stats.Prepare(c.Context, db, dir, sp, qs)
			if err != nil {
				return err
			}
			defer p.Close()
			for _, q := range qs {
				cols, rows, err := p.Run(c.Context, q)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "\n%s (%s), %d–%d\n", q.Title, q.Name, sp.FromYear, sp.ToYear)
				if err := duck.PrintTable(c.App.Writer, cols, rows); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// halfMachineMemory is the default of gallra stats and gallra retain
// --memory-limit: half of the machine's memory (/proc/meminfo), and duck's
// default where that cannot be read or is smaller. The suite's SQL-only
// preparation over a 100-million-row lake needed about 10 GB (the sweep
// keeps it near 1.2 GB); a first retention freezing ten years of a
// 10M-row lake needs 2 GB.
func halfMachineMemory() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return duck.DefaultMemoryLimit
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text()) // MemTotal: 24600000 kB
		if len(fields) == 3 && fields[0] == "MemTotal:" && fields[2] == "kB" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || kb/2 < 2<<20 {
				return duck.DefaultMemoryLimit
			}
			return strconv.FormatInt(kb/2/1024, 10) + "MiB"
		}
	}
	return duck.DefaultMemoryLimit
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/atomicfile"
	"github.com/gallra/gallra/pipeline/htmlreport"
	"github.com/gallra/gallra/pipeline/publication"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/transforms/pseudonym"
	"github.com/gallra/gallra/transforms/table"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:  "report",
		Usage: "write the statistics report: one self-contained HTML page of protected tables and charts",
		Description: `Builds participants per year by measure, by source, and by sex and age band where
the lake keeps them, protects each table as gallra export does (the cell key method by
default), and writes one HTML page with a chart and a table per breakdown. The page
needs no network to be viewed: no scripts, no fonts, the charts are inline SVG drawn from
the same protected numbers the exports hold.

Years that retention has frozen come from the frozen aggregates, as in gallra export:
the tables by sex and age band leave them out (the frozen cells have no such breakdown),
and are left out of the page when every year of the span is frozen. Each table's notes
say which years are frozen.

Example:
  gallra report --config gallra.toml --from 2017 --to 2026 --out statistik.html`,
		Flags: append(append(lakeFlags(), spanFlags("last year")...),
			&cli.StringFlag{Name: "key", Usage: "key file (default: the job file's, or GALLRA_KEY)"},
			&cli.StringFlag{Name: "method", Value: publication.CellKey, Usage: "cellkey, suppress or round"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "statistik.html", Usage: "HTML file to write"},
			&cli.StringFlag{Name: "title", Value: "Deltagare i arbetsmarknadsåtgärder", Usage: "the page's title"},
			&cli.StringFlag{Name: "source", Value: "gallra, pseudonymiserat register över arbetsmarknadsåtgärder", Usage: "the tables' source text"},
			&cli.StringFlag{Name: "contact", Value: "Statistikansvarig", Usage: "the tables' contact"},
		),
		Action: func(c *cli.Context) error {
			lakeDir, key, err := lakeAndKey(c)
			if err != nil {
				return err
			}
			from, to := yearSpan(c, 1)
			err = writeReport(c.Context, lakeDir, key, from, to, publication.Options{Method: c.String("method")},
				c.String("out"), c.String("title"), c.String("source"), c.String("contact"))
			if err != nil {
				return cli.Exit(err.Error(), report.ExitFailed)
			}
			fmt.Fprintf(c.App.Writer, "wrote %s\n", c.String("out"))
			return nil
		},
	}
}

// reportBreakdowns are the tables of the report, each by year.
var reportBreakdowns = [][]string{{"measure"}, {"source"}, {"sex"}, {"age_band"}}

// writeReport builds and protects the report's tables and writes the page.
// A breakdown the lake does not keep (every row "uppgift saknas"), or that
// the frozen aggregates lack in a span of frozen years only, is left out.
func writeReport(ctx context.Context, lakeDir string, key pseudonym.Key, from, to int, opt publication.Options, out, title, source, contact string) error {
	var specs []tables.Spec
	for _, by := range reportBreakdowns {
		specs = append(specs, tables.Spec{By: append(by, "year"), FromYear: from, ToYear: to})
	}
	ts, omitted, err := protectedTables(ctx, lakeDir, key, specs, opt, source, contact, true)
	if err != nil {
		return err
	}
	var kept []*table.Table
	for _, t := range ts {
		if cats := t.Dims[0].Categories; len(cats) == 2 && cats[0].Code == "uppgift saknas" {
			continue
		}
		kept = append(kept, t)
	}
	var b bytes.Buffer
	if err := htmlreport.Write(&b, title, time.Now(), kept, omitted...); err != nil {
		return err
	}
	return atomicfile.WriteFile(out, b.Bytes(), 0o644)
}

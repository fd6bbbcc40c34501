package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/publication"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/transforms/pseudonym"
	"github.com/gallra/gallra/transforms/table"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write a protected aggregate table (participants per measure and year, ...) as PX, JSON-stat, CSV and XLSX",
		Description: `Counts distinct participants active in each year of the span, broken down by the
dimensions named with --by (year is always one of them), with a total in every dimension,
protects the table with disclosure control and writes it into --out, named after the
table, as PX (PC-Axis, ISO-8859-1), JSON-stat 2.0, tidy CSV (UTF-8 with BOM, comma) with a
metadata sidecar, and XLSX.

Disclosure control (--method; docs/disclosure.md):
  cellkey   the cell key method, as Statistics Sweden uses from reference year 2025 (default):
            every cell gets small, consistent noise; no 1s and 2s are published
  suppress  primary suppression under --threshold and secondary suppression, proved by an
            audit that no suppressed cell can be recomputed from what is published
  round     rounding to --round-base
The method is recorded in every file's metadata. The cell keys come from the lake's key
(a keyed hash of each pseudonym under its own domain), so the key is needed.

Years that retention has frozen (the view aggregates; docs/retention.md) have no
pseudonyms left: their cells are the frozen aggregates, counts and cell keys, so their
noise stays the same. The frozen cells are by source and measure only, so with frozen
years in the table there is no total over the years, and a table --by sex, age_band or
municipality leaves the frozen years out. A footnote in every file says which years are
frozen and which are counted from the pseudonymised rows.

Example:
  gallra export --config gallra.toml --by measure,year --from 2017 --to 2026 --out exports/`,
		Flags: append(append(lakeFlags(), spanFlags("last year")...),
			&cli.StringFlag{Name: "key", Usage: "key file (default: the job file's, or GALLRA_KEY)"},
			&cli.StringFlag{Name: "by", Value: "measure,year", Usage: "dimensions: year, measure, source, sex, age_band, municipality"},
			&cli.StringFlag{Name: "method", Value: publication.CellKey, Usage: "cellkey, suppress or round"},
			&cli.IntFlag{Name: "threshold", Value: 5, Usage: "suppress: counts under this are suppressed"},
			&cli.IntFlag{Name: "round-base", Value: 5, Usage: "round: base (3, 5 or 10)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "exports", Usage: "folder to write"},
			&cli.StringFlag{Name: "source", Value: "gallra, pseudonymiserat register över arbetsmarknadsåtgärder", Usage: "the tables' source text"},
			&cli.StringFlag{Name: "contact", Value: "Statistikansvarig", Usage: "the tables' contact"},
		),
		Action: func(c *cli.Context) error {
			lakeDir, key, err := lakeAndKey(c)
			if err != nil {
				return err
			}
			from, to := yearSpan(c, 1)
			opt := publication.Options{Method: c.String("method"), RoundBase: c.Int("round-base")}
			opt.Suppress.Threshold = c.Int("threshold")
			spec := tables.Spec{By: splitList(c.String("by")), FromYear: from, ToYear: to}
			files, err := exportTable(c.Context, lakeDir, key, spec, opt, c.String("out"), c.String("source"), c.String("contact"))
			if err != nil {
				return cli.Exit(err.Error(), report.ExitFailed)
			}
			printFiles(c.App.Writer, files)
			return nil
		},
	}
}

// exportTable builds, protects and writes one participants table.
func exportTable(ctx context.Context, lakeDir string, key pseudonym.Key, spec tables.Spec, opt publication.Options, out, source, contact string) ([]string, error) {
	ts, _, err := protectedTables(ctx, lakeDir, key, []tables.Spec{spec}, opt, source, contact, false)
	if err != nil {
		return nil, err
	}
	return publication.Write(out, ts[0])
}

// protectedTables builds participants tables from the lake and protects each.
// With skipAllFrozen, a table whose breakdown the frozen aggregates lack and
// whose years are all frozen (tables.ErrAllFrozen) is left out instead of
// failing, and omitted says why in Swedish, one line per table left out.
func protectedTables(ctx context.Context, lakeDir string, key pseudonym.Key, specs []tables.Spec, opt publication.Options, source, contact string, skipAllFrozen bool) (out []*table.Table, omitted []string, err error) {
	db, err := duck.Open(ctx, duck.Options{ReadOnlyLake: true, LakeDir: lakeDir})
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, lakeDir); err != nil {
		return nil, nil, err
	}
	for _, spec := range specs {
		t, keys, err := tables.Participants(ctx, db, key, spec)
		if skipAllFrozen && errors.Is(err, tables.ErrAllFrozen) {
			var dims []string
			for _, d := range spec.By {
				if d != "year" {
					dims = append(dims, strings.ToLower(tables.DimensionLabel(d)))
				}
			}
			omitted = append(omitted, fmt.Sprintf("Tabellen per %s saknas: alla år %d–%d är frysta (deras pseudonymer är gallrade), och de frysta aggregaten finns bara per källa och åtgärd.",
				strings.Join(dims, ", "), spec.FromYear, spec.ToYear))
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		t.Source, t.Contact, t.Updated = source, contact, time.Now().UTC()
		if err := publication.Protect(t, keys, opt); err != nil {
			return nil, nil, err
		}
		out = append(out, t)
	}
	return out, omitted, nil
}

func printFiles(w io.Writer, files []string) {
	for _, f := range files {
		fmt.Fprintf(w, "wrote %s\n", f)
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

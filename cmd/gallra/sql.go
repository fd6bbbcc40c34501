package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/duck"
)

func sqlCommand() *cli.Command {
	return &cli.Command{
		Name:      "sql",
		Usage:     "run a SQL query against the lake with in-process DuckDB (views lake, participations, anonymised, aggregates, runs)",
		ArgsUsage: "[QUERY]",
		Description: `Opens the lake read-only in DuckDB with its views and prints the result of a query
given as an argument or in a file (--file) as a table, CSV or JSON.

Views (each exists, with its columns, even when it has no rows):
  lake            the pseudonymised tier, every row of the current generation: pseudonym,
                  key_id, id_kind, measure, period_start, period_end, sex, age_band,
                  municipality, record_key, run_id, linkable_until; source and start_year
                  from the path
  participations  the same rows with readable names: person (the pseudonym), ongoing, ...
  anonymised      the anonymised tier (rows whose pseudonym retention took away): measure,
                  period_start and period_end coarsened to their granularity (day, month,
                  quarter, year), sex, age_band, municipality where kept, cell_key,
                  anonymised_by_run, source, start_year; no pseudonym: rows cannot be linked
  aggregates      the frozen aggregates (docs/retention.md): year, source, measure,
                  statistic (participants, new_entrants, ended, reentries), value, cell_key,
                  frozen_by_run, frozen_on; by source x measure with TOTAL margins
  runs            the run log: run_id, kind (run, retain, ...), started, finished, outcome,
                  rows read/accepted, ...

Analysts without gallra get the same views from the duckdb CLI:
  duckdb -c ".read lake/_gallra/views.sql" -c "SELECT * FROM runs"
(gallra run rewrites views.sql after every commit.)

Examples:
  gallra sql --lake demo/lake "SELECT source, count(DISTINCT person) FROM participations GROUP BY 1"
  gallra sql --lake demo/lake "SELECT year, value FROM aggregates WHERE statistic = 'participants' AND source = 'TOTAL' AND measure = 'TOTAL'"
  gallra sql --config gallra.toml --file query.sql --format csv > result.csv`,
		Flags: append(lakeFlags(),
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "read the query from this file"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "table, csv or json"},
		),
		Action: func(c *cli.Context) error {
			lakeDir, _, err := resolveLake(c)
			if err != nil {
				return err
			}
			q := strings.TrimSpace(strings.Join(c.Args().Slice(), " "))
			if f := c.String("file"); f != "" {
				if q != "" {
					return usageError("give the query as an argument or with --file, not both")
				}
				b, err := os.ReadFile(f)
				if err != nil {
					return usageError("--file: %v", err)
				}
				q = strings.TrimSpace(string(b))
			}
			format := c.String("format")
			if format != "table" && format != "csv" && format != "json" {
				return usageError("--format %q: want table, csv or json", format)
			}
			if q == "" {
				return usageError("usage: gallra sql --lake DIR QUERY (or --file FILE)")
			}
			db, err := duck.Open(c.Context, duck.Options{ReadOnlyLake: true, LakeDir: lakeDir})
			if err != nil {
				return err
			}
			defer db.Close()
			if err := duck.LakeView(c.Context, db, lakeDir); err != nil {
				return err
			}
			cols, rows, err := duck.Query(c.Context, db, q)
			if err != nil {
				return err
			}
			switch format {
			case "csv":
				w := csv.NewWriter(c.App.Writer)
				_ = w.Write(cols)
				_ = w.WriteAll(rows)
				return w.Error()
			case "json":
				out := make([]map[string]string, len(rows))
				for i, r := range rows {
					out[i] = make(map[string]string, len(cols))
					for j, col := range cols {
						out[i][col] = r[j]
					}
				}
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			return duck.PrintTable(c.App.Writer, cols, rows)
		},
	}
}

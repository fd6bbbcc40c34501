package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
)

func sqlCommand() *cli.Command {
	return &cli.Command{
		Name:      "sql",
		Usage:     "run a SQL query against the lake with in-process DuckDB (the view is called lake)",
		ArgsUsage: "QUERY",
		Description: `Opens the lake read-only as a DuckDB view named lake (Hive partitions source and
start_year included) and prints the result as a table.

Example:
  gallra sql --lake demo/lake "SELECT source, count(DISTINCT pseudonym) FROM lake GROUP BY 1"`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "lake", Usage: "lake folder"},
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "take the lake folder from a job file"},
		},
		Action: func(c *cli.Context) error {
			lakeDir := c.String("lake")
			if p := c.String("config"); p != "" {
				job, err := config.Load(p)
				if err != nil {
					return usageError("%v", err)
				}
				lakeDir = job.Lake
			}
			q := strings.TrimSpace(strings.Join(c.Args().Slice(), " "))
			if lakeDir == "" || q == "" {
				return usageError("usage: gallra sql --lake DIR QUERY")
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
			duck.PrintTable(c.App.Writer, cols, rows)
			return nil
		},
	}
}

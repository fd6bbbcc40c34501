package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/pseudonym"
)

func idCommand() *cli.Command {
	refFlag := &cli.StringFlag{Name: "reference-date", Usage: "the date (YYYY-MM-DD) against which 10-digit forms get their century; default today (UTC)"}
	return &cli.Command{
		Name:  "id",
		Usage: "check identifiers or compute their pseudonyms (reads standard input, one per line)",
		Description: `Identifiers are read from standard input, one per line, never from the command line,
so that they do not land in shell history or in the process list.`,
		Subcommands: []*cli.Command{
			{
				Name:  "check",
				Usage: "judge each identifier on stdin: prints `valid <kind>` or `invalid <reason>` per line, never the number",
				Description: `Kinds: personnummer, samordningsnummer, reserve (temporary/reserve numbers with letters),
birthdate (a birth date only). Reasons: empty, bad_format, bad_check_digit, impossible_date,
future_birth_date, birth_number_000, century_mismatch, excel_scientific,
excel_lost_leading_zero.

Example:
  printf '19121212-1212\n' | gallra id check`,
				Flags: []cli.Flag{refFlag},
				Action: func(c *cli.Context) error {
					ref, err := referenceDate(c.String("reference-date"))
					if err != nil {
						return err
					}
					return eachLine(c.App.Reader, c.App.Writer, func(line string) string {
						id, err := identity.Parse(line, ref)
						if err != nil {
							return "invalid " + string(identity.ReasonOf(err))
						}
						return "valid " + id.Kind.String()
					})
				},
			},
			{
				Name:  "pseudonym",
				Usage: "print the pseudonym of each identifier on stdin, the same one `run` stores (to look up a data subject's rows)",
				Description: `Prints one line per input line: the pseudonym as UUID text, as DuckDB shows the lake's
pseudonym column, or "invalid <reason>". gallra subject access and gallra subject erase
answer a data subject's request directly (see docs/subjects.md); by hand it is:

  printf '19121212-1212\n' | gallra id pseudonym --key keys/gallra.key
  duckdb -c "SELECT * FROM read_parquet('lake/source=*/start_year=*/*.parquet', hive_partitioning=true)
             WHERE pseudonym = '<printed uuid>'"`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "key", Usage: "key file (default: GALLRA_KEY from the environment)"},
					&cli.StringFlag{Name: "domain", Value: "lake", Usage: "pseudonym domain: the lake's is \"lake\"; another domain gives unlinkable pseudonyms"},
					refFlag,
				},
				Action: func(c *cli.Context) error {
					ref, err := referenceDate(c.String("reference-date"))
					if err != nil {
						return err
					}
					key, err := loadKey(c.String("key"))
					if err != nil {
						return cli.Exit(err.Error(), report.ExitFailed)
					}
					pz, err := pseudonym.NewPseudonymizer(key, c.String("domain"))
					if err != nil {
						return usageError("--domain: %v", err)
					}
					return eachLine(c.App.Reader, c.App.Writer, func(line string) string {
						id, err := identity.Parse(line, ref)
						if err != nil {
							return "invalid " + string(identity.ReasonOf(err))
						}
						return pz.Pseudonym(id.Kind.String(), id.Canonical).String()
					})
				},
			},
		},
	}
}

func referenceDate(s string) (time.Time, error) {
	if s == "" {
		n := time.Now().UTC()
		return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return t, usageError("--reference-date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

// eachLine answers every input line with one output line, in order.
func eachLine(r io.Reader, w io.Writer, answer func(string) string) error {
	in := bufio.NewScanner(r)
	out := bufio.NewWriter(w)
	for in.Scan() {
		if _, err := fmt.Fprintln(out, answer(strings.TrimRight(in.Text(), "\r"))); err != nil {
			return err
		}
	}
	if err := in.Err(); err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	return out.Flush()
}

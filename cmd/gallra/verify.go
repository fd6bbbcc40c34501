package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/verify"
	"github.com/gallra/gallra/transforms/identity"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "scan the lake and report folders for personnummer, samordningsnummer, e-mail addresses and phone numbers",
		Description: `Reads every file under the given folders — Parquet files value by value, XLSX cell by
cell, everything else as text — and reports any valid personnummer or samordningsnummer
(in any form: 10 or 12 digits, with or without separator, even stored as a number),
e-mail address or Swedish phone number. Findings name the file and the place, never the
value. A file that cannot be scanned counts as a failure: an unscanned file proves
nothing.

With --key, the key's material (raw, hex and base64 forms) is searched for as well.

Exit code 0: nothing found. 1: something found or something could not be scanned.

Examples:
  gallra verify --lake demo/lake --reports demo/reports
  gallra verify --config gallra.toml`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "lake", Usage: "lake folder"},
			&cli.StringSliceFlag{Name: "reports", Usage: "report folder(s) to scan as well"},
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "take the lake and reports folders from a job file"},
			&cli.StringFlag{Name: "key", Usage: "also search for this key's material (raw, hex, base64) in every file"},
		},
		Action: func(c *cli.Context) error {
			roots := []string{}
			if p := c.String("config"); p != "" {
				job, err := config.Load(p)
				if err != nil {
					return cli.Exit(err.Error(), report.ExitUsage)
				}
				roots = append(roots, job.Lake, job.Reports)
			}
			if l := c.String("lake"); l != "" {
				roots = append(roots, l)
			}
			roots = append(roots, c.StringSlice("reports")...)
			if len(roots) == 0 {
				return usageError("name --lake (and --reports), or --config")
			}
			var secrets []string
			if kf := c.String("key"); kf != "" {
				k, err := loadKey(kf)
				if err != nil {
					return cli.Exit(err.Error(), report.ExitFailed)
				}
				for _, g := range k.Generations() { // every generation of a rotated key
					secrets = append(secrets, verify.SecretForms(g.Secret())...)
				}
			}
			findings, stats, err := scan(secrets, roots...)
			if err != nil {
				return cli.Exit(err.Error(), report.ExitFailed)
			}
			for _, f := range findings {
				fmt.Fprintf(c.App.Writer, "FOUND %s in %s at %s\n", f.Kind, f.File, f.Location)
			}
			for _, u := range stats.Unscannable {
				fmt.Fprintf(c.App.Writer, "UNSCANNABLE %s\n", u)
			}
			fmt.Fprintf(c.App.Writer, "verify: %d file(s) scanned (%d Parquet, %d XLSX, %d text), %d value(s) examined, %d finding(s), %d unscannable\n",
				stats.Files, stats.ParquetFiles, stats.XLSXFiles, stats.TextFiles, stats.Values, len(findings), len(stats.Unscannable))
			if len(findings) > 0 || len(stats.Unscannable) > 0 {
				return cli.Exit("verify failed: identifying data found or files left unscanned", report.ExitFailed)
			}
			return nil
		},
	}
}

// scan runs the verifier with gallra's own identifier rules. A 12-digit
// candidate whose century does not fit is tried again as its last ten digits:
// those still identify a person.
func scan(secrets []string, roots ...string) ([]verify.Finding, verify.Stats, error) {
	ref := time.Now().UTC()
	judge := func(c string) (string, bool) {
		id, err := identity.Parse(c, ref)
		if err != nil || (id.Kind != identity.Personnummer && id.Kind != identity.Samordningsnummer) {
			return "", false
		}
		return id.Kind.String(), true
	}
	s := &verify.Scanner{Secrets: secrets, IsIdentifier: func(c string) (string, bool) {
		if kind, ok := judge(c); ok {
			return kind, true
		}
		if d := digitsOnly(c); len(d) == 12 {
			return judge(d[2:])
		}
		return "", false
	}}
	return s.ScanDir(roots...)
}

func digitsOnly(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

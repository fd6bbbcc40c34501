package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// lakeFlags are the flags of the commands that read a lake: a job file or a
// lake folder.
func lakeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "job file (the lake folder, and the key where one is needed)"},
		&cli.StringFlag{Name: "lake", Usage: "lake folder (instead of --config)"},
	}
}

// spanFlags are --from and --to; lastYear says what --to defaults to.
func spanFlags(lastYear string) []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "from", Usage: "first year (default: nine years before --to)"},
		&cli.IntFlag{Name: "to", Usage: "last year (default: " + lastYear + ")"},
	}
}

// resolveLake resolves the lake folder: --lake, else the job file's (with
// --config); and the key file the job file names, if any.
func resolveLake(c *cli.Context) (dir, keyFile string, err error) {
	dir = c.String("lake")
	if p := c.String("config"); p != "" {
		job, err := config.Load(p)
		if err != nil {
			return "", "", cli.Exit(err.Error(), report.ExitUsage)
		}
		keyFile = job.Key.File
		if dir == "" {
			dir = job.Lake
		}
	}
	if dir == "" {
		return "", "", usageError("name --config or --lake")
	}
	return dir, keyFile, nil
}

// lakeAndKey resolves the lake folder and loads the key: --key, else the job
// file's, else GALLRA_KEY.
func lakeAndKey(c *cli.Context) (string, pseudonym.Key, error) {
	dir, keyFile, err := resolveLake(c)
	if err != nil {
		return "", pseudonym.Key{}, err
	}
	if k := c.String("key"); k != "" {
		keyFile = k
	}
	key, err := loadKey(keyFile)
	if err != nil {
		return "", pseudonym.Key{}, cli.Exit(err.Error(), report.ExitFailed)
	}
	return dir, key, nil
}

// yearSpan resolves --from and --to: --to defaults to the current year minus
// back (1 for published tables: the last full year), --from to nine years
// before --to.
func yearSpan(c *cli.Context, back int) (from, to int) {
	to = c.Int("to")
	if to == 0 {
		to = time.Now().UTC().Year() - back
	}
	from = c.Int("from")
	if from == 0 {
		from = to - 9
	}
	return from, to
}

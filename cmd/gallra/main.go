// Command gallra turns participant-system exports into a pseudonymised
// Parquet lake, enforces retention and produces disclosure-controlled
// statistics. Run `gallra --help` for the commands.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/gallra/gallra/pipeline/report"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	app := newApp()
	if err := app.Run(os.Args); err != nil {
		if msg := err.Error(); msg != "" { // exit codes 3 and 4 carry no message: the summary said it
			fmt.Fprintln(os.Stderr, "gallra:", msg)
		}
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(report.ExitFailed)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "gallra",
		Usage:   "pseudonymise labour-market participant exports into a Parquet lake, with retention and safe statistics",
		Version: version,
		Description: `gallra reads exports from participant systems (AMEa, Aksel, Skills, UKA, feriejobb,
jobbtorg, Arbetsförmedlingen programmes), replaces every personnummer with a keyed
HMAC pseudonym, keeps only measure type, period and the attributes a policy declares,
and writes a Hive-partitioned Parquet lake that DuckDB reads.

Identifiers are never taken as command-line arguments: commands that need them read
standard input, so that no personnummer lands in shell history or in ps.

Exit codes: 0 ok, 1 failed (nothing committed), 2 usage or configuration error,
3 committed with rows quarantined, 4 committed with whole files rejected,
5 another run holds the lake's lock (nothing done).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-format", Value: "auto", Usage: "log format on stderr: auto (JSON unless stderr is a terminal), json or text"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the command to `FILE` (pprof; it holds function names and timings, never data)"},
		},
		Before: func(c *cli.Context) error {
			if err := setupLogging(c.String("log-format"), c.String("log-level")); err != nil {
				return err
			}
			return startCPUProfile(c.String("cpuprofile"))
		},
		After: func(c *cli.Context) error {
			pprof.StopCPUProfile() // a no-op when no profile was started
			return nil
		},
		Commands: []*cli.Command{
			runCommand(),
			generateCommand(),
			demoCommand(),
			idCommand(),
			keyCommand(),
			verifyCommand(),
			sqlCommand(),
			statsCommand(),
			exportCommand(),
			reportCommand(),
			retainCommand(),
			subjectCommand(),
			deliverCommand(),
			riskCommand(),
			checkCommand(),
			runsCommand(),
		},
		ExitErrHandler: func(c *cli.Context, err error) {}, // main decides the exit code
	}
}

func setupLogging(format, level string) error {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return cli.Exit(fmt.Sprintf("--log-level %q: want debug, info, warn or error", level), report.ExitUsage)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(logOut, opts)
	case "text":
		h = slog.NewTextHandler(logOut, opts)
	case "auto":
		if term.IsTerminal(int(os.Stderr.Fd())) {
			h = slog.NewTextHandler(logOut, opts)
		} else {
			h = slog.NewJSONHandler(logOut, opts)
		}
	default:
		return cli.Exit(fmt.Sprintf("--log-format %q: want auto, json or text", format), report.ExitUsage)
	}
	slog.SetDefault(slog.New(h))
	return nil
}

// startCPUProfile starts a CPU profile into path, if one is asked for; the
// App's After stops it, also when the command fails.
func startCPUProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return usageError("--cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return usageError("--cpuprofile: %v", err)
	}
	return nil
}

// usageError is a bad flag or argument: exit code 2.
func usageError(format string, a ...any) error {
	return cli.Exit(fmt.Sprintf(format, a...), report.ExitUsage)
}

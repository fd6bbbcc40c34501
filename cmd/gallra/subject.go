package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/subject"
	"github.com/gallra/gallra/transforms/pseudonym"
)

func subjectCommand() *cli.Command {
	inFlag := &cli.StringFlag{Name: "in", Usage: "file with the request's identifiers, one per line (default, or \"-\": standard input)"}
	keyFlag := &cli.StringFlag{Name: "key", Usage: "key file (default: the job file's [key] file, else GALLRA_KEY)"}
	configFlag := &cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "job file (the lake, the key, the sources' inboxes)", Required: true}
	return &cli.Command{
		Name:  "subject",
		Usage: "answer a data subject's access or erasure request (identifiers read from a file or stdin)",
		Description: `The identifiers (personnummer or samordningsnummer, in any spelling: 10 or 12 digits,
with or without '-' or '+') are read from --in or standard input, one per line; blank
lines and lines starting with # are skipped. Never on the command line: it would land in
shell history and in ps. Each is turned into the pseudonym a night stores, with the job's
key, domain and reference date, and the person's rows are found by that pseudonym.

Outputs, logs and the lake's run log refer to persons by request line number only; they
never hold an identifier or a pseudonym. A line that is not a usable identifier is named
by its number and a reason (bad_check_digit, bad_format, reserve_number, ...), and nothing
is done until every line is usable.

See docs/subjects.md: what access and erasure do, what they cannot do, the rule for
frozen aggregates, and where each request is logged.`,
		Subcommands: []*cli.Command{
			{
				Name:  "access",
				Usage: "write the rows the pseudonymised tier holds about the persons to --out (mode 0600)",
				Description: `Writes, per request line, every row the lake's pseudonymised tier holds about the
person: source, measure (code and Swedish name), period, and the attributes the source's
policy keeps. The file is personal data for the data subject: it is created with mode
0600 and never replaces an existing file. Its format follows the name (.json, .csv,
anything else readable text) unless --format says otherwise. Rows already anonymised
and frozen aggregates hold no link to a person and are not listed (the report says so).

The request is recorded in the lake's run log (kind subject-access) with --reference,
if given, and counts only.

Exit codes: 0 written; 1 failed; 2 usage error or an unusable request line; 5 another
run holds the lake's lock.

Example:
  gallra subject access --config gallra.toml --in request.txt --reference "KS 2026/0142" --out svar.txt`,
				Flags: []cli.Flag{
					configFlag, inFlag, keyFlag,
					&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "the report file to create (mode 0600)", Required: true},
					&cli.StringFlag{Name: "format", Usage: "json, text or csv (default: from the --out name)"},
					&cli.StringFlag{Name: "reference", Usage: "the request's case number, for the run log (not an identifier)"},
				},
				Action: subjectAccess,
			},
			{
				Name:  "erase",
				Usage: "erase the persons' rows from the pseudonymised tier (and their traceable share of frozen aggregates)",
				Description: `Removes every row of the persons from the lake's pseudonymised tier in one commit,
rewriting only the partitions that hold them; every other file stays untouched. The
same commit subtracts the persons' contributions from frozen aggregates where they can
still be traced (see docs/subjects.md, "Frozen aggregates").

Raw exports still in a source's inbox or in the done folder (after_ingest = keep or
move) are scanned: those holding any of the persons are listed, for the operator to
delete; gallra does not change them. An export whose header drifted is scanned by its
identifier column; one that cannot be read that way is listed for checking by hand.

--reference, the request's case number, is required and recorded in the lake's run log
(kind subject-erase) with counts only: persons_requested, persons_found, rows_erased,
partitions_rewritten, export files. It must not be or contain an identifier.

With --dry-run nothing is changed; the counts say what would be erased.

Exit codes: 0 done (or nothing found, or a dry run); 1 failed, nothing committed;
2 usage error, unusable reference or an unusable request line; 4 done, but raw
exports still hold the persons or could not be scanned (listed: delete or check them);
5 another run holds the lake's lock.

Example:
  gallra subject erase --config gallra.toml --in request.txt --reference "KS 2026/0142" --dry-run`,
				Flags: []cli.Flag{
					configFlag, inFlag, keyFlag,
					&cli.StringFlag{Name: "reference", Usage: "the request's case number, recorded in the run log (required; not an identifier)", Required: true},
					&cli.BoolFlag{Name: "dry-run", Usage: "find and count, change nothing"},
				},
				Action: subjectErase,
			},
		},
	}
}

// subjectSetup loads the job and the key and reads the request.
func subjectSetup(c *cli.Context) (*config.Job, pseudonym.Key, *subject.Request, error) {
	var key pseudonym.Key
	job, err := config.Load(c.String("config"))
	if err != nil {
		return nil, key, nil, cli.Exit(err.Error(), report.ExitUsage)
	}
	if ref := c.String("reference"); ref != "" || c.Command.Name == "erase" {
		if err := subject.CheckReference(ref); err != nil {
			return nil, key, nil, cli.Exit("--reference: "+err.Error(), report.ExitUsage)
		}
	}
	keyFile := job.Key.File
	if k := c.String("key"); k != "" {
		keyFile = k
	}
	if key, err = loadKey(keyFile); err != nil {
		return nil, key, nil, cli.Exit(err.Error(), report.ExitFailed)
	}
	pz, err := subject.NewPseudonymizer(job, key)
	if err != nil {
		return nil, key, nil, cli.Exit(err.Error(), report.ExitUsage)
	}
	in := c.App.Reader
	if p := c.String("in"); p != "" && p != "-" {
		f, err := os.Open(p)
		if err != nil {
			return nil, key, nil, cli.Exit("--in: "+err.Error(), report.ExitUsage)
		}
		defer f.Close()
		in = f
	}
	q, err := subject.Read(in, pz, subject.ReferenceDate(job, time.Now()))
	if err != nil {
		var ie *subject.InputError
		if errors.As(err, &ie) || errors.Is(err, subject.ErrNoPersons) {
			return nil, key, nil, cli.Exit(err.Error(), report.ExitUsage)
		}
		return nil, key, nil, cli.Exit(err.Error(), report.ExitFailed)
	}
	return job, key, q, nil
}

// opError maps an operation's error to an exit code.
func opError(err error) error {
	if errors.Is(err, lake.ErrLocked) {
		return cli.Exit(err.Error(), report.ExitLocked)
	}
	if errors.Is(err, subject.ErrReference) {
		return cli.Exit(err.Error(), report.ExitUsage)
	}
	return cli.Exit(err.Error(), report.ExitFailed)
}

func subjectAccess(c *cli.Context) error {
	out := c.String("out")
	format := c.String("format")
	if format == "" {
		format = subject.FormatOf(out)
	}
	switch format {
	case subject.FormatJSON, subject.FormatText, subject.FormatCSV:
	default:
		return usageError("--format %q: want json, text or csv", format)
	}
	if _, err := os.Lstat(out); err == nil {
		return usageError("--out %s exists: the report never replaces a file; name a new one", out)
	}
	job, _, q, err := subjectSetup(c)
	if err != nil {
		return err
	}
	rep, err := subject.Access(c.Context, job, q, subject.Options{Reference: c.String("reference")})
	if err != nil {
		return opError(err)
	}
	if err := rep.WriteFile(out, format); err != nil {
		return cli.Exit(err.Error(), report.ExitFailed)
	}
	w := c.App.Writer
	found := 0
	for _, l := range rep.Lines {
		if l.SameAs == 0 && len(l.Rows) > 0 {
			found++
		}
	}
	fmt.Fprintf(w, "access report written to %s (%s, mode 0600): %d of %d person(s) found, %d row(s); run log entry %s\n",
		out, format, found, q.Persons(), rep.Rows(), rep.RunID)
	fmt.Fprintln(w, "The file is personal data about the data subject: hand it over securely and delete your copy.")
	return nil
}

func subjectErase(c *cli.Context) error {
	job, key, q, err := subjectSetup(c)
	if err != nil {
		return err
	}
	dry := c.Bool("dry-run")
	res, err := subject.Erase(c.Context, job, key, q, subject.Options{Reference: c.String("reference"), DryRun: dry})
	if err != nil {
		return opError(err)
	}
	printErasure(c.App.Writer, res, dry)
	if !dry && (len(res.Exports) > 0 || len(res.Unscannable) > 0) {
		return cli.Exit("", report.ExitRejected)
	}
	return nil
}

func printErasure(w io.Writer, res *subject.Erasure, dry bool) {
	verb, rewritten := "erased", "rewritten"
	if dry {
		verb, rewritten = "would be erased (dry run: nothing changed)", "to rewrite"
	}
	for _, l := range res.Lines {
		switch {
		case l.SameAs != 0:
			fmt.Fprintf(w, "line %d: the same person as line %d\n", l.Line, l.SameAs)
		case l.Rows == 0:
			fmt.Fprintf(w, "line %d: no rows in the pseudonymised tier\n", l.Line)
		default:
			fmt.Fprintf(w, "line %d: %d row(s) %s\n", l.Line, l.Rows, verb)
		}
	}
	cnt := res.Log.Counts
	fmt.Fprintf(w, "%d of %d person(s) found, %d row(s) %s, %d partition(s) %s", cnt["persons_found"], cnt["persons_requested"],
		cnt["rows_erased"], verb, cnt["partitions_rewritten"], rewritten)
	if n := cnt["aggregate_cells_changed"]; n > 0 {
		fmt.Fprintf(w, ", %d frozen aggregate cell(s) changed in %d year(s)", n, cnt["aggregate_years_changed"])
	}
	fmt.Fprintf(w, "; run log entry %s (%s)\n", res.Log.RunID, res.Log.Outcome)
	if n := cnt["rows_under_other_keys"]; n > 0 {
		fmt.Fprintf(w, "warning: %d linked row(s) were made with a key that is not this key or an older generation of it; this key cannot find anyone in them\n", n)
	}
	if len(res.Exports) > 0 {
		fmt.Fprintf(w, "%d raw export file(s) still hold the person(s); gallra does not change them. Delete them (or have the source system replace them):\n", len(res.Exports))
		for _, e := range res.Exports {
			fmt.Fprintf(w, "  %s\n", e.Path)
		}
	}
	if len(res.Unscannable) > 0 {
		fmt.Fprintf(w, "%d raw export file(s) could not be scanned; check them by hand:\n", len(res.Unscannable))
		for _, e := range res.Unscannable {
			fmt.Fprintf(w, "  %s (%s)\n", e.Path, e.Reason)
		}
	}
}

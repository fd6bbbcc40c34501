package main

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "verify the lake against its manifest: every file present, content hashes, footers, schema, row counts",
		Description: `In the spirit of restic check. Reads the lake's manifest and checks that no commit is
pending (a run interrupted past its commit point: the next run finishes it), that every
listed file exists with the listed size, that its Parquet footer opens, its schema is the
lake's, its row count is the listed one and its gallra.partition metadata names the
directory it lies in; that no Parquet file lies in the lake unlisted, that no staging
entry or *.tmp file was left behind, that every ingested export's hash is listed once,
and that every committed run has its run log (_gallra/runs/<run id>.json).

Every file is also read whole and its SHA-256 compared with the manifest's: only this
finds a flipped byte inside a data page (bit rot, a bad copy). --quick skips that and
reads only the footers. When the files are sound, it then also reads every row's key_id:
after a key rotation every row must carry the key ID the manifest records; rows of another
generation mean a rotation that has not finished (gallra key rotate --resume).

One line per problem, naming the file and what is wrong, never a value from the data.
check changes nothing and works on a read-only copy. It takes no lock, so it never
makes a nightly run fail; if a run holds the lake while check starts or ends, or the
manifest changes meanwhile, it stops with exit code 5: check again later.

Exit codes: 0 the lake matches its manifest, 1 a problem was found (or the lake could
not be read), 2 usage, 5 a run was in progress.

Examples:
  gallra check --lake /srv/gallra/lake
  gallra check --config /etc/gallra/gallra.toml --quick`,
		Flags: append(lakeFlags(),
			&cli.BoolFlag{Name: "quick", Usage: "do not read whole files: no content hashes, only sizes, footers, schema and row counts"},
		),
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usageError("gallra check takes no arguments")
			}
			lakeDir, _, err := resolveLake(c)
			if err != nil {
				return err
			}
			rep, err := lake.Check(lakeDir, !c.Bool("quick"))
			if errors.Is(err, lake.ErrLocked) {
				return cli.Exit("check: "+err.Error(), report.ExitLocked)
			}
			if err != nil {
				return cli.Exit("check: "+err.Error(), report.ExitFailed)
			}
			w := c.App.Writer
			for _, p := range rep.Problems {
				fmt.Fprintln(w, p.String())
			}
			if len(rep.Orphans) > 0 {
				fmt.Fprintf(w, "note: %d file(s) set aside by an earlier recovery under %s/orphans (not part of the lake; kept for whoever put them there)\n", len(rep.Orphans), lake.MetaDir)
			}
			nProblems := len(rep.Problems)
			if rep.ReadData && rep.OK() {
				// Rows of another key generation than the lake's: a rotation
				// that did not reach them, or rows written with another key.
				// (Only on a lake whose files are sound: they are read whole.)
				n, ids, lakeKey, err := otherKeyRows(lakeDir)
				if err != nil {
					return cli.Exit("check: "+err.Error(), report.ExitFailed)
				}
				if n > 0 {
					fmt.Fprintf(w, "%d row(s) carry key ID(s) %s, not the lake's current %s: finish the key rotation (gallra key rotate --resume)\n", n, strings.Join(ids, ", "), lakeKey)
					nProblems++
				}
			}
			read := "footers read"
			if rep.ReadData {
				read = fmt.Sprintf("content read and hashed (%d bytes)", rep.BytesRead)
			}
			fmt.Fprintf(w, "check: lake generation %d, %d file(s), %d row(s), %d run(s); %s: ", rep.Generation, rep.Files, rep.Rows, rep.Runs, read)
			if nProblems == 0 {
				fmt.Fprintln(w, "no problems found")
				return nil
			}
			fmt.Fprintf(w, "%d problem(s)\n", nProblems)
			return cli.Exit(fmt.Sprintf("check: %d problem(s) found in %s", nProblems, lakeDir), report.ExitFailed)
		},
	}
}

// otherKeyRows counts the pseudonymised rows whose key ID is not the one the
// lake's manifest records (none if it records none), and lists those IDs
// and the manifest's.
func otherKeyRows(lakeDir string) (n int64, ids []string, lakeKey string, err error) {
	m, err := lake.ReadManifest(lakeDir)
	if err != nil || m.KeyID == "" {
		return 0, nil, "", err
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if f.Partition.Table != lake.TablePseudonymised {
			continue
		}
		err := lake.ReadFile(filepath.Join(lakeDir, filepath.FromSlash(f.Path)), func(r lake.Row) error {
			if r.KeyID != "" && r.KeyID != m.KeyID {
				n++
				seen[r.KeyID] = true
			}
			return nil
		})
		if err != nil {
			return 0, nil, "", fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	return n, slices.Sorted(maps.Keys(seen)), m.KeyID, nil
}

package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/rotate"
	"github.com/gallra/gallra/transforms/pseudonym"
)

const passphraseHelp = `The passphrase of an encrypted key file comes from the file named by
GALLRA_KEY_PASSPHRASE_FILE (preferred for unattended runs; others must not be able to read it),
else from the environment variable GALLRA_KEY_PASSPHRASE, else it is asked for on the terminal.
It is never taken from the command line, where other users could see it.`

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "manage the pseudonymisation key: create, show, rotate",
		Subcommands: []*cli.Command{{
			Name:  "new",
			Usage: "create a new key file (mode 0600; refuses to overwrite)",
			Description: `Creates a 256-bit key from the operating system's random source and writes it to a
new key file readable by its owner only. Keep the file apart from the lake and its
backups: whoever holds the key and the lake can re-identify every row by enumeration.
The key ID printed is public: it is written into every lake row and every run report.

With --passphrase the file is encrypted (argon2id + XChaCha20-Poly1305). ` + passphraseHelp + `
A new passphrase must have at least 12 characters; on the terminal it is asked twice.

See docs/keys.md.`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "key file to create", Required: true},
				&cli.BoolFlag{Name: "passphrase", Usage: "encrypt the key file with a passphrase (GALLRA_KEY_PASSPHRASE_FILE, GALLRA_KEY_PASSPHRASE or the terminal)"},
			},
			Action: func(c *cli.Context) error {
				k, err := keyfile.Generate(rand.Reader)
				if err != nil {
					return cli.Exit(err.Error(), report.ExitFailed)
				}
				var pass []byte
				if c.Bool("passphrase") {
					if pass, err = newPassphrase(); err != nil {
						return cli.Exit(err.Error(), report.ExitUsage)
					}
					defer clear(pass)
				}
				if err := keyfile.Write(c.String("out"), k, pass); err != nil {
					return cli.Exit(err.Error(), report.ExitFailed)
				}
				fmt.Fprintf(c.App.Writer, "created key %s in %s\n", k.ID(), c.String("out"))
				return nil
			},
		}, {
			Name:  "show",
			Usage: "print the key ID of every generation of a key (public; never the key)",
			Description: `Loads the key (--key, else the job file's [key] file, else GALLRA_KEY) and prints its
generations, oldest first, with their public key IDs; the last is current and is the
key_id of every row the key writes. With --config it also says whether the key may write
the job's lake (its current generation must be the lake's).`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "key", Usage: "key file"},
				&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "job file: its key file, and check the key against its lake"},
			},
			Action: func(c *cli.Context) error {
				keyPath, lakeDir := c.String("key"), ""
				if p := c.String("config"); p != "" {
					job, err := config.Load(p)
					if err != nil {
						return cli.Exit(err.Error(), report.ExitUsage)
					}
					lakeDir = job.Lake
					if keyPath == "" {
						keyPath = job.Key.File
					}
				}
				k, err := loadKey(keyPath)
				if err != nil {
					return cli.Exit(err.Error(), report.ExitFailed)
				}
				for i, id := range k.KeyIDs() {
					cur := ""
					if i == k.Generation()-1 {
						cur = " (current)"
					}
					fmt.Fprintf(c.App.Writer, "generation %d: %s%s\n", i+1, id, cur)
				}
				if lakeDir != "" {
					if err := checkLakeKey(k, lakeDir); err != nil {
						return cli.Exit(err.Error(), report.ExitFailed)
					}
					fmt.Fprintf(c.App.Writer, "the key's current generation is the lake's: it may write %s\n", lakeDir)
				}
				return nil
			},
		}, {
			Name:  "rotate",
			Usage: "add a key generation and carry the lake's pseudonyms over to it, keeping linkage",
			Description: `Rotates the key without breaking the linkage of the lake's rows:

  1. writes the key file with a new generation added to KEYFILE.next (mode 0600,
     encrypted with the same passphrase if the key file is encrypted);
  2. rewrites every pseudonymised row of the lake (pseudonym, record_key, key_id) in
     one commit, run-log kind "key-rotate": each new pseudonym is HMAC-SHA-256 under a
     key derived from the new secret over the old pseudonym, so a person's history stays
     one pseudonym, and an old secret alone no longer computes any current pseudonym;
  3. renames KEYFILE.next over KEYFILE.

Every step can be interrupted. If it stops before step 2 commits, the lake and the
key file are as they were and nightly runs go on; if it stops after, gallra run refuses
the old key file. Either way, run the same command with --resume to finish.

Back up the new key file afterwards: it holds every generation, and all of them are
needed to compute current pseudonyms. ` + passphraseHelp + `

Rotation changes every pseudonym of the lake, the cell keys of published tables (their
noise) and the pseudonyms of later deliveries: see docs/keys.md.

Exit codes: 0 rotated (or nothing to resume), 1 failed, 2 usage error,
5 another run holds the lake's lock.`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "job file: the lake, the key file and the pseudonym domain"},
				&cli.StringFlag{Name: "key", Usage: "key file (overrides [key] file in the job file)"},
				&cli.StringFlag{Name: "lake", Usage: "lake folder (instead of the job file's; the domain is then \"lake\")"},
				&cli.BoolFlag{Name: "resume", Usage: "finish an interrupted rotation instead of starting one"},
			},
			Action: func(c *cli.Context) error {
				keyPath, lakeDir, domain := c.String("key"), c.String("lake"), "lake"
				if p := c.String("config"); p != "" {
					job, err := config.Load(p)
					if err != nil {
						return cli.Exit(err.Error(), report.ExitUsage)
					}
					domain = job.Key.Domain
					if keyPath == "" {
						keyPath = job.Key.File
					}
					if lakeDir == "" {
						lakeDir = job.Lake
					}
				}
				if lakeDir == "" || keyPath == "" {
					return usageError("name the lake and the key file: --config (with [key] file), or --lake and --key")
				}
				pass, err := passphraseSource()
				if err != nil {
					return cli.Exit(err.Error(), report.ExitUsage)
				}
				ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
				defer stop()
				res, err := rotate.Run(ctx, keyPath, lakeDir, domain, rotate.Options{Passphrase: pass, Resume: c.Bool("resume")})
				if res != nil {
					for _, s := range res.Steps {
						fmt.Fprintln(c.App.Writer, s)
					}
				}
				if err != nil {
					code := report.ExitFailed
					if errors.Is(err, keyfile.ErrExists) || errors.Is(err, keyfile.ErrPassphrase) {
						code = report.ExitUsage
					}
					if errors.Is(err, lake.ErrLocked) {
						code = report.ExitLocked
					}
					return cli.Exit("key rotate: "+err.Error(), code)
				}
				if res.Log != nil || !c.Bool("resume") {
					fmt.Fprintf(c.App.Writer, "the key is at generation %d (%s); back up %s now: it holds every generation\n", res.Generation, res.To, keyPath)
				}
				return nil
			},
		}},
	}
}

// passphraseSource is where an encrypted key file's passphrase comes from:
// GALLRA_KEY_PASSPHRASE_FILE, GALLRA_KEY_PASSPHRASE, or the terminal.
func passphraseSource() (keyfile.Passphrase, error) {
	return keyfile.PassphraseFromEnv(promptPassphrase)
}

// promptPassphrase asks on the terminal.
func promptPassphrase() ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, errors.New("the key file is passphrase-protected: set " + keyfile.PassphraseFileEnvVar +
			" or " + keyfile.PassphraseEnvVar + ", or run on a terminal")
	}
	fmt.Fprint(os.Stderr, "key passphrase: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	return b, err
}

// loadKey loads the key from a file, or from GALLRA_KEY when no file is
// named, and refuses to go on without one (keyfile.LoadKey).
func loadKey(path string) (pseudonym.Key, error) {
	pass, err := passphraseSource()
	if err != nil {
		return pseudonym.Key{}, err
	}
	return keyfile.LoadKey(path, pass)
}

// newPassphrase is the passphrase for a new key file: from the environment
// (GALLRA_KEY_PASSPHRASE_FILE or GALLRA_KEY_PASSPHRASE), else asked twice
// on the terminal.
func newPassphrase() ([]byte, error) {
	src, err := keyfile.PassphraseFromEnv(nil)
	if err != nil {
		return nil, err
	}
	var a []byte
	if src.From != "" {
		if a, err = src.Read(); err != nil {
			return nil, err
		}
	} else {
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return nil, errors.New("--passphrase: set " + keyfile.PassphraseFileEnvVar + " or " + keyfile.PassphraseEnvVar + ", or run on a terminal")
		}
		fmt.Fprint(os.Stderr, "new passphrase: ")
		if a, err = term.ReadPassword(fd); err != nil {
			fmt.Fprintln(os.Stderr)
			return nil, err
		}
		fmt.Fprint(os.Stderr, "\nagain: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		defer clear(b)
		if err != nil {
			clear(a)
			return nil, err
		}
		if !bytes.Equal(a, b) {
			clear(a)
			return nil, errors.New("the passphrases differ")
		}
	}
	if len(a) < 12 {
		clear(a)
		return nil, errors.New("the passphrase is too short: use at least 12 characters")
	}
	return a, nil
}

// checkLakeKey reports whether k may write the lake at lakeDir: its
// current generation must be the one the lake records (keyfile.CheckLake).
func checkLakeKey(k pseudonym.Key, lakeDir string) error {
	m, err := lake.ReadManifest(lakeDir)
	if err != nil {
		return err
	}
	return keyfile.CheckLake(k, m.KeyID)
}

package main

import (
	"crypto/rand"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/report"
)

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "manage the pseudonymisation key",
		Subcommands: []*cli.Command{{
			Name:  "new",
			Usage: "create a new key file (mode 0600; refuses to overwrite)",
			Description: `Creates a 256-bit key from the operating system's random source and writes it to a
new key file readable by its owner only. Keep the file apart from the lake and its
backups: whoever holds the key and the lake can re-identify every row by enumeration.
The key ID printed is public: it is written into every lake row and every run report.
See docs/keys.md.`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "key file to create", Required: true},
				&cli.BoolFlag{Name: "passphrase", Usage: "encrypt the key file with a passphrase (asked on the terminal; argon2id + XChaCha20-Poly1305)"},
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
				}
				if err := keyfile.Write(c.String("out"), k, pass); err != nil {
					return cli.Exit(err.Error(), report.ExitFailed)
				}
				fmt.Fprintf(c.App.Writer, "created key %s in %s\n", k.ID(), c.String("out"))
				return nil
			},
		}},
	}
}

func newPassphrase() ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return readPassphrase() // GALLRA_KEY_PASSPHRASE_FILE
	}
	fmt.Fprint(os.Stderr, "new passphrase: ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(os.Stderr, "again: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, err
	}
	if string(a) != string(b) {
		return nil, fmt.Errorf("the passphrases differ")
	}
	if len(a) < 12 {
		return nil, fmt.Errorf("the passphrase is too short: use at least 12 characters")
	}
	return a, nil
}

// Package testnumbers embeds Skatteverket's official test personnummer and
// test samordningsnummer.
//
// Skatteverket (the Swedish Tax Agency) publishes these numbers as open data
// under CC0 so that systems can be tested without real people's identifiers.
// They are never assigned to real people. gallra's tests use them to check the
// identifier parser (package transforms/identity), and the synthetic data
// generator draws its identifiers from them, so no test fixture ever needs a
// real personnummer.
//
// Both lists hold 12-digit numbers (YYYYMMDDNNNC). See README.md in this
// directory for what the lists contain, including the samordningsnummer that
// are deliberately invalid.
package testnumbers

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
)

//go:embed skatteverket-testpersonnummer.txt
var personnummerFile string

//go:embed skatteverket-testsamordningsnummer.txt
var samordningsnummerFile string

var (
	personnummer      = sync.OnceValue(func() []string { return lines(personnummerFile) })
	samordningsnummer = sync.OnceValue(func() []string { return lines(samordningsnummerFile) })
)

// Personnummer returns Skatteverket's 41,127 test personnummer as 12-digit
// strings (YYYYMMDDNNNC), in file order, born 1890–2023. All are valid.
// The caller owns the returned slice.
func Personnummer() []string { return slices.Clone(personnummer()) }

// Samordningsnummer returns Skatteverket's 2,264 test samordningsnummer as
// 12-digit strings (YYYYMMDDNNNC, day + 60), in file order. Most are valid;
// 170 of them carry month 00 and/or day 60 (birth date not verified) and are
// valid too, while 24 have impossible dates (for example 31 April + 60) and
// must be rejected. The caller owns the returned slice.
func Samordningsnummer() []string { return slices.Clone(samordningsnummer()) }

// lines splits an embedded file into its non-blank lines, trimming spaces
// and carriage returns.
func lines(s string) []string {
	out := make([]string, 0, strings.Count(s, "\n")+1)
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return slices.Clip(out)
}

// Package retention holds the retention policies that express the seeds'
// promises, as data (one TOML file each), and loads them and an operator's
// own policy files into transforms/retention.Policy.
//
//	name = "jonkoping_amea"
//	seed = "000_8c4c290a4058cd31.txt"     # the privacy notice it expresses
//	promise = "…"                         # the notice's words
//	pseudonymised = "0d"                  # linkable this long after the period ends
//	kept = "5y"                           # anything kept this long after the end, then purged
//	granularity = "month"                 # day | month | quarter | year, once anonymised
//	keep_anonymised = []                  # sex, age_band, municipality kept when anonymised
//	end_of_year_age = 21                  # optional: linkable at most until 31 Dec of the year the person turns this age
package retention

import (
	"embed"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	policy "github.com/gallra/gallra/transforms/retention"
)

//go:embed *.toml
var files embed.FS

type filePolicy struct {
	Name           string   `toml:"name"`
	Seed           string   `toml:"seed"`
	Promise        string   `toml:"promise"`
	Pseudonymised  string   `toml:"pseudonymised"`
	Kept           string   `toml:"kept"`
	Granularity    string   `toml:"granularity"`
	KeepAnonymised []string `toml:"keep_anonymised"`
	EndOfYearAge   int      `toml:"end_of_year_age"`
}

// Builtin returns the shipped policies, by name.
func Builtin() ([]policy.Policy, error) {
	entries, err := files.ReadDir(".")
	if err != nil {
		return nil, err
	}
	var out []policy.Policy
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		p, err := parse(e.Name(), b)
		if err != nil {
			return nil, err
		}
		if p.Name+".toml" != path.Base(e.Name()) {
			return nil, fmt.Errorf("retention: %s: name %q does not match the file", e.Name(), p.Name)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup returns a shipped policy by name.
func Lookup(name string) (policy.Policy, error) {
	all, err := Builtin()
	if err != nil {
		return policy.Policy{}, err
	}
	var names []string
	for _, p := range all {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return policy.Policy{}, fmt.Errorf("retention: no policy %q (shipped: %s)", name, strings.Join(names, ", "))
}

// LoadFile reads an operator's own policy file.
func LoadFile(p string) (policy.Policy, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("retention: %w", err)
	}
	return parse(p, b)
}

func parse(name string, b []byte) (policy.Policy, error) {
	var f filePolicy
	md, err := toml.Decode(string(b), &f)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("retention: %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return policy.Policy{}, fmt.Errorf("retention: %s: unknown key %s", name, und[0])
	}
	p := policy.Policy{Name: f.Name, Seed: f.Seed, Promise: f.Promise, Granularity: policy.Granularity(f.Granularity),
		KeepAnonymised: f.KeepAnonymised, EndOfYearAge: f.EndOfYearAge}
	if p.Pseudonymised, err = policy.ParseSpan(f.Pseudonymised); err != nil {
		return p, fmt.Errorf("retention: %s: pseudonymised: %w", name, err)
	}
	if p.Kept, err = policy.ParseSpan(f.Kept); err != nil {
		return p, fmt.Errorf("retention: %s: kept: %w", name, err)
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

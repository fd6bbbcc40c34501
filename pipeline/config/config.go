// Package config reads a gallra job file: where the lake and reports live,
// which key pseudonymises, and which sources feed the lake under which policy.
//
// The file is TOML. Relative paths are resolved against the directory of the
// configuration file, so a job folder can be moved as a whole.
//
//	lake = "lake"
//	reports = "reports"
//	inbox = "inbox"                # each source reads <inbox>/<name>/ unless it names its own
//	reference_date = "2026-11-23"  # optional: the run's "today"; default: the day the run starts (UTC)
//	after_ingest = "delete"        # what happens to an export once it is in the lake: delete | move | keep
//	done = "done"                  # with after_ingest = "move": where exports go, <done>/<source>/
//	settle = "60s"                 # an export modified more recently than this is still being written: next night
//
//	[key]
//	file = "keys/gallra.key"       # or leave out and set GALLRA_KEY
//	domain = "lake"
//
//	[[source]]
//	name = "amea"
//	schema = "amea"                # a built-in schema, or a path to a schema file
//	municipality = "0680"          # kommunkod for every row of this source
//	keep = ["sex", "age_band", "municipality"]
//	reserve = "pseudonymise"       # pseudonymise | unlinked | quarantine
//	birthdate = "unlinked"
//	retention = "jonkoping_amea"   # a shipped retention policy (schemas/retention) or a path to your own
package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/gallra/gallra/schemas"
	retentionpolicies "github.com/gallra/gallra/schemas/retention"
	"github.com/gallra/gallra/transforms/minimise"
	"github.com/gallra/gallra/transforms/retention"
)

// Action says what happens to rows whose identifier is not a personnummer or
// samordningsnummer (reserve numbers, birth-date-only records).
type Action string

const (
	Pseudonymise Action = "pseudonymise" // pseudonymised as an identifier of its own kind
	Unlinked     Action = "unlinked"     // kept, but without a pseudonym: counted, never linked
	Quarantine   Action = "quarantine"   // not kept; the row goes to quarantine with a reason
)

func (a Action) valid() bool { return a == Pseudonymise || a == Unlinked || a == Quarantine }

// Job is a parsed, validated configuration with absolute paths.
type Job struct {
	Path          string // the configuration file
	Lake          string
	Reports       string
	Inbox         string
	ReferenceDate time.Time // zero: the run decides (today, UTC)
	AfterIngest   AfterIngest
	Done          string        // folder for AfterIngest = move
	Settle        time.Duration // exports younger than this are left for the next run
	Key           Key
	Sources       []*Source
}

// AfterIngest says what happens to a raw export once the lake holds its rows.
type AfterIngest string

const (
	Delete AfterIngest = "delete" // the default, as the privacy notices promise: the raw export is culled at once
	Move   AfterIngest = "move"   // moved to the done folder (keep that folder as protected as the inbox)
	Keep   AfterIngest = "keep"   // left in the inbox; later runs skip it by its content hash
)

// DefaultSettle is how long an export must have been left alone before a run
// reads it.
const DefaultSettle = 60 * time.Second

// Key says where the pseudonymisation key comes from.
type Key struct {
	File   string // empty: the GALLRA_KEY environment variable
	Domain string
}

// Source is one participant system feeding the lake.
type Source struct {
	Name         string
	Schema       *schemas.Schema
	Inbox        string
	Municipality string
	Policy       minimise.Policy
	Reserve      Action
	BirthDate    Action
	// Retention is the source's retention policy (nil: none configured).
	Retention *retention.Policy
}

type fileJob struct {
	Lake          string       `toml:"lake"`
	Reports       string       `toml:"reports"`
	Inbox         string       `toml:"inbox"`
	ReferenceDate string       `toml:"reference_date"`
	AfterIngest   string       `toml:"after_ingest"`
	Done          string       `toml:"done"`
	Settle        string       `toml:"settle"`
	Key           fileKey      `toml:"key"`
	Sources       []fileSource `toml:"source"`
}

type fileKey struct {
	File   string `toml:"file"`
	Domain string `toml:"domain"`
}

type fileSource struct {
	Name         string   `toml:"name"`
	Schema       string   `toml:"schema"`
	Inbox        string   `toml:"inbox"`
	Municipality string   `toml:"municipality"`
	Keep         []string `toml:"keep"`
	Reserve      string   `toml:"reserve"`
	BirthDate    string   `toml:"birthdate"`
	Retention    string   `toml:"retention"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9_]+$`)

// Load reads and validates a job file. Every error names the file and, where
// it can, the source and key at fault.
func Load(path string) (*Job, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	var f fileJob
	md, err := toml.DecodeFile(abs, &f)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config %s: unknown key(s) %s", path, strings.Join(keys, ", "))
	}
	return f.resolve(abs)
}

func (f fileJob) resolve(abs string) (*Job, error) {
	dir := filepath.Dir(abs)
	at := func(p, def string) string {
		if p == "" {
			p = def
		}
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(dir, p)
	}
	errf := func(format string, a ...any) error {
		return fmt.Errorf("config %s: "+format, append([]any{abs}, a...)...)
	}
	j := &Job{Path: abs, Lake: at(f.Lake, "lake"), Reports: at(f.Reports, "reports"), Inbox: at(f.Inbox, "inbox")}
	if f.ReferenceDate != "" {
		t, err := time.Parse("2006-01-02", f.ReferenceDate)
		if err != nil {
			return nil, errf("reference_date %q is not YYYY-MM-DD", f.ReferenceDate)
		}
		j.ReferenceDate = t
	}
	switch a := AfterIngest(f.AfterIngest); a {
	case "":
		j.AfterIngest = Delete
	case Delete, Move, Keep:
		j.AfterIngest = a
	default:
		return nil, errf(`after_ingest %q: must be "delete", "move" or "keep"`, f.AfterIngest)
	}
	j.Done = at(f.Done, "done")
	j.Settle = DefaultSettle
	if f.Settle != "" {
		d, err := time.ParseDuration(f.Settle)
		if err != nil || d < 0 {
			return nil, errf("settle %q: want a duration such as \"60s\" or \"0s\"", f.Settle)
		}
		j.Settle = d
	}
	j.Key.Domain = f.Key.Domain
	if j.Key.Domain == "" {
		j.Key.Domain = "lake"
	}
	if f.Key.File != "" {
		j.Key.File = at(f.Key.File, "")
	}
	if len(f.Sources) == 0 {
		return nil, errf("no [[source]] configured")
	}
	codes, err := schemas.LoadCodes()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, fs := range f.Sources {
		where := fmt.Sprintf("source %d (%q)", i+1, fs.Name)
		if !nameRE.MatchString(fs.Name) {
			return nil, errf("%s: name must match [a-z0-9_]+", where)
		}
		if seen[fs.Name] {
			return nil, errf("%s: name used twice", where)
		}
		seen[fs.Name] = true
		s := &Source{Name: fs.Name, Inbox: at(fs.Inbox, filepath.Join(j.Inbox, fs.Name)), Municipality: fs.Municipality}
		schemaRef := fs.Schema
		if schemaRef == "" {
			schemaRef = fs.Name
		}
		if strings.ContainsAny(schemaRef, `/\`) || strings.HasSuffix(schemaRef, ".toml") {
			s.Schema, err = schemas.LoadFile(at(schemaRef, ""))
		} else {
			s.Schema, err = schemas.Lookup(schemaRef)
		}
		if err != nil {
			return nil, errf("%s: %w", where, err)
		}
		if err := s.Schema.Validate(codes); err != nil {
			return nil, errf("%s: %w", where, err)
		}
		if s.Policy, err = minimise.NewPolicy(fs.Keep); err != nil {
			return nil, errf("%s: keep: %w", where, err)
		}
		if s.Municipality != "" {
			if _, ok := codes.Municipality(s.Municipality); !ok {
				return nil, errf("%s: municipality %q is not a kommunkod", where, s.Municipality)
			}
		}
		if s.Policy.Municipality && s.Municipality == "" {
			if _, ok := s.Schema.Column("municipality"); !ok {
				return nil, errf("%s: keep names municipality but the schema has no municipality column and no municipality is set", where)
			}
		}
		if s.Reserve, err = action(fs.Reserve, Quarantine); err != nil {
			return nil, errf("%s: reserve: %w", where, err)
		}
		if s.BirthDate, err = action(fs.BirthDate, Quarantine); err != nil {
			return nil, errf("%s: birthdate: %w", where, err)
		}
		if fs.Retention != "" {
			var p retention.Policy
			if strings.ContainsAny(fs.Retention, `/\`) || strings.HasSuffix(fs.Retention, ".toml") {
				p, err = retentionpolicies.LoadFile(at(fs.Retention, ""))
			} else {
				p, err = retentionpolicies.Lookup(fs.Retention)
			}
			if err != nil {
				return nil, errf("%s: retention: %w", where, err)
			}
			s.Retention = &p
		}
		j.Sources = append(j.Sources, s)
	}
	return j, nil
}

func action(s string, def Action) (Action, error) {
	if s == "" {
		return def, nil
	}
	a := Action(s)
	if !a.valid() {
		return "", errors.New(`must be "pseudonymise", "unlinked" or "quarantine"`)
	}
	return a, nil
}

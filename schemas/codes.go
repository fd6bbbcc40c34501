package schemas

import (
	"bytes"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

//go:embed codes/measures.toml codes/kommuner.csv
var codeFS embed.FS

// Measure is one entry of the shared measure code list.
type Measure struct {
	Code        string // stable code stored in the lake: [A-Z0-9_]+
	SV          string // Swedish name
	EN          string // English name
	Description string
}

// Codes holds the shared code lists. The value LoadCodes returns is shared: do not modify it.
type Codes struct {
	Measures       []Measure         // in file order
	Municipalities map[string]string // kommunkod (4 digits) -> municipality name, e.g. "0680" -> "Jönköping"

	byCode   map[string]int     // Measures index
	codeRefs map[string]*string // kommunkod -> the list's one copy of it
}

var codesCache struct {
	once  sync.Once
	codes *Codes
	err   error
}

// LoadCodes returns the embedded code lists: codes/measures.toml and codes/kommuner.csv. They are
// parsed and checked once; later calls return the same value.
func LoadCodes() (*Codes, error) {
	codesCache.once.Do(func() { codesCache.codes, codesCache.err = loadCodes() })
	return codesCache.codes, codesCache.err
}

func loadCodes() (*Codes, error) {
	const mfile, kfile = "codes/measures.toml", "codes/kommuner.csv"
	mdata, err := codeFS.ReadFile(mfile)
	if err != nil {
		return nil, fmt.Errorf("schemas: %s: %w", mfile, err)
	}
	measures, err := parseMeasures(mfile, mdata)
	if err != nil {
		return nil, err
	}
	kdata, err := codeFS.ReadFile(kfile)
	if err != nil {
		return nil, fmt.Errorf("schemas: %s: %w", kfile, err)
	}
	munis, err := parseMunicipalities(kfile, kdata)
	if err != nil {
		return nil, err
	}
	c := &Codes{Measures: measures, Municipalities: munis, byCode: make(map[string]int, len(measures))}
	for i, m := range measures {
		c.byCode[m.Code] = i
	}
	c.codeRefs = make(map[string]*string, len(munis))
	for code := range munis {
		c.codeRefs[code] = &code
	}
	return c, nil
}

// parseMeasures decodes and checks a measure code list: strict keys, code syntax, no duplicate
// codes, and a Swedish and English name and a description for each.
func parseMeasures(file string, data []byte) ([]Measure, error) {
	var f struct {
		Measure []struct {
			Code        string `toml:"code"`
			SV          string `toml:"sv"`
			EN          string `toml:"en"`
			Description string `toml:"description"`
		} `toml:"measure"`
	}
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		return nil, tomlError(file, data, err)
	}
	var errs []error
	for _, k := range md.Undecoded() {
		errs = append(errs, fmt.Errorf("schemas: %s: unknown key %s (known: [[measure]] with code, sv, en, description)", file, show(k.String())))
	}
	if len(f.Measure) == 0 {
		errs = append(errs, fmt.Errorf("schemas: %s: no [[measure]]", file))
	}
	seen := make(map[string]int)
	out := make([]Measure, 0, len(f.Measure))
	for i, m := range f.Measure {
		what := fmt.Sprintf("[[measure]] %d %s", i+1, show(m.Code))
		switch {
		case !codeRE.MatchString(m.Code):
			errs = append(errs, fmt.Errorf("schemas: %s: %s: code must be 1 to 64 of A-Z, 0-9 and _", file, what))
		case seen[m.Code] > 0:
			errs = append(errs, fmt.Errorf("schemas: %s: %s: duplicate of [[measure]] %d", file, what, seen[m.Code]))
		default:
			seen[m.Code] = i + 1
		}
		if strings.TrimSpace(m.SV) == "" || strings.TrimSpace(m.EN) == "" || strings.TrimSpace(m.Description) == "" {
			errs = append(errs, fmt.Errorf("schemas: %s: %s: sv, en and description are all required", file, what))
		}
		out = append(out, Measure(m))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

var kommunkodRE = regexp.MustCompile(`^[0-9]{4}$`)

// parseMunicipalities reads kommuner.csv (municipality_code, municipality_name,
// municipality_name_short, county_code) into kommunkod -> short name.
func parseMunicipalities(file string, data []byte) (map[string]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 4
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("schemas: %s: %w", file, err)
	}
	want := []string{"municipality_code", "municipality_name", "municipality_name_short", "county_code"}
	if len(recs) == 0 || !slices.Equal(recs[0], want) {
		return nil, fmt.Errorf("schemas: %s: header must be %s", file, strings.Join(want, ","))
	}
	out := make(map[string]string, len(recs)-1)
	for i, rec := range recs[1:] {
		line := i + 2
		code, short, county := rec[0], rec[2], rec[3]
		if !kommunkodRE.MatchString(code) || !strings.HasPrefix(code, county) || short == "" {
			return nil, fmt.Errorf("schemas: %s:%d: not a 4-digit kommunkod starting with its 2-digit county code and a name", file, line)
		}
		if _, dup := out[code]; dup {
			return nil, fmt.Errorf("schemas: %s:%d: duplicate kommunkod %s", file, line, code)
		}
		out[code] = short
	}
	return out, nil
}

// Measure returns the measure with the given code.
func (c *Codes) Measure(code string) (Measure, bool) {
	if c.byCode != nil {
		if i, ok := c.byCode[code]; ok {
			return c.Measures[i], true
		}
		return Measure{}, false
	}
	for _, m := range c.Measures {
		if m.Code == code {
			return m, true
		}
	}
	return Measure{}, false
}

// Municipality returns the name of the municipality with the given 4-digit kommunkod (surrounding
// white space ignored). A code that lost its leading zero is not guessed at.
func (c *Codes) Municipality(code string) (string, bool) {
	name, ok := c.Municipalities[strings.TrimSpace(code)]
	return name, ok
}

// MunicipalityCode returns the code list's own copy of a 4-digit kommunkod
// (surrounding white space ignored), or nil if the list has no such code.
// Every row with the code can point at the one copy instead of a string of
// its own: the ingest keeps a row's municipality as a pointer, and the
// merge finds a string it has seen faster by its memory.
func (c *Codes) MunicipalityCode(code string) *string {
	code = strings.TrimSpace(code)
	if c.codeRefs != nil {
		return c.codeRefs[code]
	}
	if _, ok := c.Municipalities[code]; ok { // a Codes not made by LoadCodes
		p := new(string) // not &code, which would put every call's code on the heap
		*p = code
		return p
	}
	return nil
}

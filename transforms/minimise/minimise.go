// Package minimise decides what of a participation survives into the lake.
//
// The lake keeps pseudonym, key ID, identifier kind, source, measure type and
// period. Anything more is an attribute that a source's policy must declare by
// name: sex and age band are derived from the identifier just before it is
// dropped; municipality comes from a column or from the source configuration.
// An attribute that is not declared is never computed, so it cannot leak.
package minimise

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gallra/gallra/transforms/identity"
)

// Attribute names that a policy may declare.
const (
	AttrSex          = "sex"          // juridiskt kön as the identifier encodes it: "K" or "M"
	AttrAgeBand      = "age_band"     // age band at the start of the period
	AttrMunicipality = "municipality" // kommunkod, 4 digits
)

var known = map[string]bool{AttrSex: true, AttrAgeBand: true, AttrMunicipality: true}

// Policy is the set of attributes a source keeps beyond the fixed columns.
type Policy struct {
	Sex, AgeBand, Municipality bool
}

// NewPolicy builds a policy from declared attribute names. An unknown name is
// an error, so a typo in a configuration never silently keeps or drops data.
func NewPolicy(keep []string) (Policy, error) {
	var p Policy
	for _, k := range keep {
		k = strings.TrimSpace(k)
		if !known[k] {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			return p, fmt.Errorf("unknown attribute %q (known: %s)", k, strings.Join(names, ", "))
		}
		switch k {
		case AttrSex:
			p.Sex = true
		case AttrAgeBand:
			p.AgeBand = true
		case AttrMunicipality:
			p.Municipality = true
		}
	}
	return p, nil
}

// Names lists the declared attributes in a stable order.
func (p Policy) Names() []string {
	var n []string
	if p.Sex {
		n = append(n, AttrSex)
	}
	if p.AgeBand {
		n = append(n, AttrAgeBand)
	}
	if p.Municipality {
		n = append(n, AttrMunicipality)
	}
	return n
}

// Attributes are the declared attributes of one row; nil means not kept (or
// not known for this identifier kind). Sex and AgeBand point to values that
// all rows share: they must not be written through.
type Attributes struct {
	Sex          *string
	AgeBand      *string
	Municipality *string
}

// Interned values, so that rows share them instead of allocating.
var (
	sexK, sexM = "K", "M"
	bands      = []struct {
		lo   int
		name string
	}{{0, "0-15"}, {16, "16-19"}, {20, "20-24"}, {25, "25-29"}, {30, "30-39"}, {40, "40-49"}, {50, "50-59"}, {60, "60-64"}, {65, "65+"}}
	bandNames = func() []string {
		s := make([]string, len(bands))
		for i, b := range bands {
			s[i] = b.name
		}
		return s
	}()
)

// AgeBands lists the age bands in order, as stored in the lake.
func AgeBands() []string { return append([]string(nil), bandNames...) }

// AgeBand returns the band for an age in completed years.
func AgeBand(age int) string { return bandNames[ageBand(age)] }

// ageBand returns the index of the band for an age in bandNames.
func ageBand(age int) int {
	for i := len(bands) - 1; i >= 0; i-- {
		if age >= bands[i].lo {
			return i
		}
	}
	return 0
}

// Derive computes the declared attributes for one row. start is the period
// start; municipality is the row's kommunkod (nil or "" if unknown), kept as
// the same pointer so that rows can share one string. The identifier itself
// is not kept: only what the policy names is derived from it.
func (p Policy) Derive(id identity.ID, start time.Time, municipality *string) Attributes {
	var a Attributes
	if p.Sex {
		switch id.Sex {
		case 'K':
			a.Sex = &sexK
		case 'M':
			a.Sex = &sexM
		}
	}
	if p.AgeBand && !id.Birth.IsZero() {
		a.AgeBand = &bandNames[ageBand(id.AgeAt(start))] // shared, like sexK
	}
	if p.Municipality && municipality != nil && *municipality != "" {
		a.Municipality = municipality
	}
	return a
}

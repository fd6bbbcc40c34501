package risk

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gallra/gallra/transforms/retention"
)

// Action is what Fix does to the rows of a small class.
type Action string

const (
	// Coarsen generalises the rows of small classes one step at a time —
	// the period to the next granularity (day, month, quarter, year), then
	// municipality, age band and sex removed, in that order — until every
	// class has k rows; rows still in a small class after the last step are
	// suppressed.
	Coarsen Action = "coarsen"
	// Suppress removes the rows of small classes.
	Suppress Action = "suppress"
)

// ParseAction reads "coarsen" or "suppress".
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case Coarsen, Suppress:
		return a, nil
	}
	return "", fmt.Errorf("risk: action %q: want coarsen or suppress", s)
}

// Value indexes into Class.Values.
const (
	vSource = iota
	vMeasure
	vGranularity
	vStart
	vEnd
	vSex
	vAgeBand
	vMunicipality
)

// Plan says, for every class of a Fix, what its rows become.
type Plan struct {
	K      int64
	Action Action
	// To maps a class (by Key of its values) that changes to its new
	// values; nil means its rows are suppressed. Classes not in To stay.
	To map[string][]string
	// Rows counts the rows per outcome: "generalised", "suppressed".
	Generalised, Suppressed int64
}

// Key is a class's map key: its values joined.
func Key(values []string) string { return strings.Join(values, "\x00") }

// ladder is the order of generalisation steps; a class's level is how many
// it has taken.
var granularities = []retention.Granularity{retention.Day, retention.Month, retention.Quarter, retention.Year}

// step generalises values by one step; ok is false when nothing is left to
// generalise.
func step(v []string) (out []string, ok bool) {
	out = slices.Clone(v)
	g := slices.Index(granularities, retention.Granularity(v[vGranularity]))
	if g >= 0 && g < len(granularities)-1 {
		next := granularities[g+1]
		out[vGranularity] = string(next)
		for _, i := range []int{vStart, vEnd} {
			if out[i] == "" {
				continue
			}
			t, err := time.Parse(time.DateOnly, out[i])
			if err != nil {
				return v, false
			}
			out[i] = retention.Coarsen(t, next).Format(time.DateOnly)
		}
		return out, true
	}
	for _, i := range []int{vMunicipality, vAgeBand, vSex} {
		if out[i] != "" {
			out[i] = ""
			return out, true
		}
	}
	return v, false
}

// PlanFix decides what happens to every class under k rows. It works on
// classes, not rows, so its memory follows the number of classes.
func PlanFix(classes []Class, k int64, action Action) *Plan {
	p := &Plan{K: k, Action: action, To: map[string][]string{}}
	if action == Suppress {
		for _, c := range classes {
			if c.Rows < k {
				p.To[Key(c.Values)] = nil
				p.Suppressed += c.Rows
			}
		}
		return p
	}
	// Every original class points at its current class; current classes
	// merge when generalisation makes them equal.
	type cur struct {
		values  []string
		rows    int64
		origins []string
		stuck   bool // nothing left to generalise
	}
	current := map[string]*cur{}
	for _, c := range classes {
		key := Key(c.Values)
		if x, ok := current[key]; ok {
			x.rows += c.Rows
			x.origins = append(x.origins, key)
			continue
		}
		current[key] = &cur{values: c.Values, rows: c.Rows, origins: []string{key}}
	}
	for {
		var small []string
		for key, c := range current {
			if c.rows < k && !c.stuck {
				small = append(small, key)
			}
		}
		if len(small) == 0 {
			break
		}
		slices.Sort(small) // deterministic merging order
		for _, key := range small {
			c := current[key]
			nv, ok := step(c.values)
			if !ok {
				c.stuck = true
				continue
			}
			delete(current, key)
			nk := Key(nv)
			if x, exists := current[nk]; exists {
				x.rows += c.rows
				x.origins = append(x.origins, c.origins...)
				x.stuck = false
			} else {
				c.values = nv
				current[nk] = c
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(current)) {
		c := current[key]
		for _, o := range c.origins {
			switch {
			case c.rows < k:
				p.To[o] = nil
			case o != key:
				p.To[o] = c.values
			}
		}
	}
	for _, c := range classes {
		to, changed := p.To[Key(c.Values)]
		switch {
		case !changed:
		case to == nil:
			p.Suppressed += c.Rows
		default:
			p.Generalised += c.Rows
		}
	}
	return p
}

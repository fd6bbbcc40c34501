package disclosure

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/gallra/gallra/transforms/table"
)

// Key is a record key or a cell key of the cell key method: a number in
// [0, 1) held in 64-bit fixed point, the value being Key/2^64.
//
// Keys are added with ordinary uint64 addition, which wraps modulo 2^64 and
// so computes the sum modulo 1 exactly. Unlike float64 addition this is
// associative and commutative: a cell gets the same key whatever the order in
// which its records are summed, in every table and every run.
type Key uint64

// RecordKey maps 16 uniformly distributed bytes (in gallra a keyed HMAC of
// the pseudonym under the record-key HKDF domain) to a record key, using the
// first 8 bytes as a big-endian fraction of 2^64.
func RecordKey(b [16]byte) Key { return Key(binary.BigEndian.Uint64(b[:8])) }

// Add returns (k + o) mod 1.
func (k Key) Add(o Key) Key { return k + o }

// Float returns the key as a float64 in [0, 1); the 53 most significant bits
// are kept, so the result is never rounded up to 1.
func (k Key) Float() float64 { return float64(k>>11) / (1 << 53) }

// CellKey returns the key of a cell: the sum of its records' keys modulo 1.
// The result does not depend on the order of keys.
func CellKey(keys []Key) Key {
	var s Key
	for _, k := range keys {
		s += k
	}
	return s
}

// Params configure a perturbation table.
type Params struct {
	// MaxDeviation D is the largest absolute noise added to a count (≥ 1).
	MaxDeviation int
	// Variance V is the variance of the noise (0 < V ≤ D²). Rows for small
	// counts cannot always reach it: see NewPTable.
	Variance float64
	// SmallCounts js: no count 1..js is ever published; such counts become 0
	// or at least js+1, and no count is perturbed into 1..js. Zero means the
	// default 2 (no published 1s and 2s); a negative value disables the rule.
	SmallCounts int
}

// DefaultParams are gallra's default cell key parameters: noise of at most
// ±3 with variance 2, no published 1s and 2s. (Statistics Sweden does not
// publish its own parameters; these are of the size used in the literature.)
var DefaultParams = Params{MaxDeviation: 3, Variance: 2, SmallCounts: 2}

// DefaultSmallCounts is the value of Params.SmallCounts when it is zero.
const DefaultSmallCounts = 2

type step struct {
	d     int     // noise
	p     float64 // probability
	upper float64 // cumulative probability: keys in [previous upper, upper) get d
}

// PTable is a perturbation table: for each original count i a probability
// distribution of the noise d (|d| ≤ D), turned into consecutive intervals of
// [0, 1) so that a cell key falls in exactly one interval and the noise is a
// deterministic function of count and key. Counts at or above the last row
// (D + js + 1) all use the last row, which is symmetric and unconstrained.
type PTable struct {
	params Params
	js     int
	rows   [][]step
}

// NewPTable builds the perturbation table for p.
//
// Row i holds the maximum-entropy distribution over the allowed noises d
// (|d| ≤ D, i+d ≥ 0, i+d not in 1..js; for i = 0 only d = 0) with mean 0 and
// variance V. Maximum entropy under the two moment constraints has the form
// P(d) ∝ exp(a·d + b·d²); a and b are found by Newton's method on the convex
// dual. A mean-zero distribution on the allowed support can only have a
// variance between vmin (0 if d = 0 is allowed, otherwise the product of the
// smallest negative and smallest positive |d|) and vmax (the product of the
// largest); when V lies outside, the row takes the nearest reachable variance,
// whose mean-zero distribution is the unique two-point (or one-point)
// distribution at that bound. So every row has mean exactly 0, and every row
// from js+1 on has variance V when V ≤ D² allows it; rows 1..js have the
// variance forced by the gap they must jump (e.g. 1 → {0, 3} with D = 2).
//
// It returns an error when D < 1, V ≤ 0, V > D² or D < js (a count of 1
// could then not be perturbed without bias).
func NewPTable(p Params) (*PTable, error) {
	js := p.SmallCounts
	if js == 0 {
		js = DefaultSmallCounts
	}
	if js < 0 {
		js = 0
	}
	D := p.MaxDeviation
	switch {
	case D < 1:
		return nil, fmt.Errorf("disclosure: cell key: maximum deviation %d must be at least 1", D)
	case !(p.Variance > 0) || math.IsInf(p.Variance, 0):
		return nil, fmt.Errorf("disclosure: cell key: variance %g must be positive and finite", p.Variance)
	case p.Variance > float64(D*D):
		return nil, fmt.Errorf("disclosure: cell key: variance %g exceeds maximum deviation %d squared (%d): infeasible", p.Variance, D, D*D)
	case D < js:
		return nil, fmt.Errorf("disclosure: cell key: maximum deviation %d is below small-count limit %d: a count of 1 cannot reach %d without bias", D, js, js+1)
	}
	t := &PTable{params: p, js: js}
	for i := 0; i <= D+js+1; i++ {
		var support []int
		for d := -D; d <= D; d++ {
			j := i + d
			if j < 0 || (j >= 1 && j <= js) || (i == 0 && d != 0) {
				continue
			}
			support = append(support, d)
		}
		probs, err := rowDistribution(support, p.Variance)
		if err != nil {
			return nil, fmt.Errorf("disclosure: cell key: count %d with maximum deviation %d, variance %g, small counts %d: %w", i, D, p.Variance, js, err)
		}
		var row []step
		cum := 0.0
		for k, d := range support {
			if probs[k] <= 0 {
				continue
			}
			cum += probs[k]
			row = append(row, step{d: d, p: probs[k], upper: cum})
		}
		row[len(row)-1].upper = 1
		t.rows = append(t.rows, row)
	}
	return t, nil
}

// rowDistribution returns the maximum-entropy mean-zero distribution over
// support (sorted ascending) with variance v clamped to the reachable range.
func rowDistribution(support []int, v float64) ([]float64, error) {
	p := make([]float64, len(support))
	var neg, pos []int // indices into support
	zero := -1
	for k, d := range support {
		switch {
		case d < 0:
			neg = append(neg, k)
		case d > 0:
			pos = append(pos, k)
		default:
			zero = k
		}
	}
	if len(neg) == 0 || len(pos) == 0 {
		if zero < 0 {
			return nil, errors.New("no mean-zero noise is possible")
		}
		p[zero] = 1
		return p, nil
	}
	twoPoint := func(a, b int) []float64 { // mean-zero mass on support[a] < 0 < support[b]
		da, db := float64(-support[a]), float64(support[b])
		p[a], p[b] = db/(da+db), da/(da+db)
		return p
	}
	nearNeg, nearPos := neg[len(neg)-1], pos[0]
	farNeg, farPos := neg[0], pos[len(pos)-1]
	vmin := 0.0
	if zero < 0 {
		vmin = float64(-support[nearNeg] * support[nearPos])
	}
	vmax := float64(-support[farNeg] * support[farPos])
	switch {
	case v >= vmax:
		return twoPoint(farNeg, farPos), nil
	case v <= vmin && zero >= 0:
		p[zero] = 1
		return p, nil
	case v <= vmin:
		return twoPoint(nearNeg, nearPos), nil
	}
	return maxEntropy(support, v)
}

// maxEntropy solves max −Σ p log p subject to Σp = 1, Σ p·d = 0,
// Σ p·d² = v, with v strictly inside the reachable range, by Newton's method
// on the dual f(a, b) = log Σ exp(a·d + b·d²) − b·v.
func maxEntropy(support []int, v float64) ([]float64, error) {
	n := len(support)
	p := make([]float64, n)
	eval := func(a, b float64) float64 { // fills p, returns f
		m := math.Inf(-1)
		for _, d := range support {
			m = math.Max(m, a*float64(d)+b*float64(d*d))
		}
		z := 0.0
		for k, d := range support {
			p[k] = math.Exp(a*float64(d) + b*float64(d*d) - m)
			z += p[k]
		}
		for k := range p {
			p[k] /= z
		}
		return m + math.Log(z) - b*v
	}
	var a, b float64
	f := eval(a, b)
	for iter := 0; iter < 500; iter++ {
		var m1, m2, m3, m4 float64
		for k, d := range support {
			x := float64(d)
			m1 += p[k] * x
			m2 += p[k] * x * x
			m3 += p[k] * x * x * x
			m4 += p[k] * x * x * x * x
		}
		g1, g2 := m1, m2-v
		if math.Abs(g1) < 1e-13 && math.Abs(g2) < 1e-13 {
			return p, nil
		}
		h11, h12, h22 := m2-m1*m1, m3-m1*m2, m4-m2*m2
		det := h11*h22 - h12*h12
		var da, db float64
		if det > 1e-300 {
			da = -(h22*g1 - h12*g2) / det
			db = -(-h12*g1 + h11*g2) / det
		} else { // degenerate curvature: gradient step
			da, db = -g1, -g2
		}
		t := 1.0
		for ; t > 1e-12; t /= 2 {
			if fn := eval(a+t*da, b+t*db); fn <= f+1e-4*t*(g1*da+g2*db) {
				a, b, f = a+t*da, b+t*db, fn
				break
			}
		}
		if t <= 1e-12 {
			eval(a, b)
			break
		}
	}
	// Accept if the constraints hold to a tolerance fine enough for publication.
	var m1, m2 float64
	for k, d := range support {
		m1 += p[k] * float64(d)
		m2 += p[k] * float64(d*d)
	}
	if math.Abs(m1) > 1e-9 || math.Abs(m2-v) > 1e-9 {
		return nil, fmt.Errorf("maximum-entropy solution did not converge (mean %g, variance %g)", m1, m2)
	}
	return p, nil
}

// Params returns the parameters the table was built with.
func (t *PTable) Params() Params { return t.params }

// Row returns the noise distribution used for an original count: the noises
// in ascending order and their probabilities. Counts beyond the last row use
// the last row.
func (t *PTable) Row(count int) (noise []int, prob []float64) {
	for _, s := range t.rows[t.rowIndex(count)] {
		noise = append(noise, s.d)
		prob = append(prob, s.p)
	}
	return noise, prob
}

func (t *PTable) rowIndex(count int) int { return min(count, len(t.rows)-1) }

// Perturb returns the published value of a count (≥ 0) whose cell has key
// cellKey: count + d, where d is the noise whose interval of [0, 1) contains
// the key. A negative count is returned unchanged.
func (t *PTable) Perturb(count int, cellKey Key) int {
	if count < 0 {
		return count
	}
	row := t.rows[t.rowIndex(count)]
	u := cellKey.Float()
	k := sort.Search(len(row), func(k int) bool { return u < row[k].upper })
	return count + row[k].d
}

// Method describes the method for Table.Method.
func (t *PTable) Method() string {
	return fmt.Sprintf("cell key method (maximum deviation %d, variance %g, no published counts 1–%d)",
		t.params.MaxDeviation, t.params.Variance, t.js)
}

// Apply perturbs every cell of tab that is not suppressed, margins included,
// with the cell key of the same index in cellKeys. A margin's key is the sum
// of the record keys of all records it covers, so a margin is perturbed on
// its own and is not the sum of the perturbed cells it covers: the published
// table is not additive. Values must be non-negative whole counts.
func Apply(tab *table.Table, cellKeys []Key, p *PTable) error {
	if len(cellKeys) != tab.Len() {
		return fmt.Errorf("disclosure: table %s: %d cell keys for %d cells", tab.ID, len(cellKeys), tab.Len())
	}
	for i, v := range tab.Values {
		if v < 0 || v != math.Trunc(v) || v > 1<<52 {
			return fmt.Errorf("disclosure: table %s: cell %d is not a whole non-negative count", tab.ID, i)
		}
	}
	for i, v := range tab.Values {
		if tab.Status[i] == table.StatusSuppressed {
			continue
		}
		tab.Values[i] = float64(p.Perturb(int(v), cellKeys[i]))
	}
	tab.Method = p.Method()
	addNote(tab,
		fmt.Sprintf("Tabellen är skyddad med cellnyckelmetoden: varje värde har ändrats med högst ±%d, inga värden 1–%d publiceras och summor är skyddade var för sig, så delarna summerar inte alltid till totalen.", p.params.MaxDeviation, p.js),
		fmt.Sprintf("Protected by the cell key method: every value is changed by at most ±%d, no values 1–%d are published, and totals are protected on their own, so parts do not always add up to the total.", p.params.MaxDeviation, p.js))
	return nil
}

// addNote appends a footnote in the table's language (Swedish or English).
func addNote(t *table.Table, sv, en string) {
	if t.Language == "sv" {
		t.Notes = append(t.Notes, sv)
	} else {
		t.Notes = append(t.Notes, en)
	}
}

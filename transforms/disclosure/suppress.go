package disclosure

import (
	"fmt"
	"math"
	"slices"

	"github.com/gallra/gallra/transforms/table"
)

// SuppressReport says what Suppress did.
type SuppressReport struct {
	Primary   []int        // cells suppressed because their count is 1..Threshold-1
	Secondary []int        // cells suppressed to protect the primary ones
	Audit     *AuditReport // the final audit, which passed
}

// Suppress protects t by cell suppression and proves the result with Audit.
//
// Primary suppression marks every cell, margins included, whose count is
// 1..Threshold-1. Secondary suppression then repeats two steps until the
// audit passes:
//
//  1. closure: while some line (the cells along a dimension with a total)
//     holds exactly one suppressed cell, which the line's equation would
//     reveal, suppress one more cell of that line;
//  2. audit: for each sensitive cell whose interval is still too narrow
//     (and whose lines did not change earlier in this pass), suppress one
//     more cell in a line through it (or, failing that, in a line through
//     any suppressed cell).
//
// A cell to suppress is chosen among the published non-zero cells (zeros are
// always published: an empty cell is usually known anyway), preferring one
// that also closes other lines with a single suppressed cell, then a
// non-total cell, then the smallest count. This greedy choice is not minimal,
// but the audit that ends it is exact. Suppress returns an error, leaving
// the statuses it set, when no cell is left to suppress.
//
// Suppressed cells get table.StatusSuppressed and keep their true Values:
// an export must write ".." for them and never the value; Published returns
// a copy without the values. The table must hold non-negative additive
// counts.
func Suppress(t *table.Table, p SuppressParams) (*SuppressReport, error) {
	p = p.withDefaults()
	if err := p.check(); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("disclosure: %w", err)
	}
	s := newStructure(t)
	rep := &SuppressReport{}
	for i, v := range t.Values {
		if p.sensitive(v) && t.Status[i] != table.StatusSuppressed {
			t.Status[i] = table.StatusSuppressed
			rep.Primary = append(rep.Primary, i)
		}
	}
	suppress := func(c int) {
		t.Status[c] = table.StatusSuppressed
		rep.Secondary = append(rep.Secondary, c)
	}
	// Suppressing more cells only widens intervals, so a sensitive cell
	// that passed once stays protected: each pass audits only the cells
	// that failed the pass before.
	var pending map[int]bool
	for {
		// 1. closure.
		for changed := true; changed; {
			changed = false
			for li, l := range s.lines {
				if s.count(t, li) != 1 {
					continue
				}
				if c := s.choose(t, l.cells, li); c >= 0 {
					suppress(c)
					changed = true
				}
			}
		}
		// 2. audit.
		if pending == nil {
			pending = map[int]bool{}
			for i, v := range t.Values {
				if p.sensitive(v) {
					pending[i] = true
				}
			}
		}
		a, err := s.audit(t, p, pending)
		if err != nil {
			return nil, err
		}
		if a.Passed() {
			break
		}
		pending = map[int]bool{}
		for _, iv := range a.Failed {
			pending[iv.Cell] = true
		}
		touched := map[int]bool{} // cells suppressed in this pass
		for _, iv := range a.Failed {
			if slices.ContainsFunc(s.near(iv.Cell), func(c int) bool { return touched[c] }) {
				continue // a line through it changed: audit again first
			}
			if !iv.Suppressed || t.Status[iv.Cell] != table.StatusSuppressed {
				return nil, fmt.Errorf("disclosure: table %s: sensitive cell %d is published", t.ID, iv.Cell)
			}
			c := s.choose(t, s.near(iv.Cell), -1)
			if c < 0 {
				var all []int
				for i, st := range t.Status {
					if st == table.StatusSuppressed {
						all = append(all, s.near(i)...)
					}
				}
				c = s.choose(t, all, -1)
			}
			if c < 0 {
				return nil, fmt.Errorf("disclosure: table %s: cell %d cannot be protected: no cell left to suppress", t.ID, iv.Cell)
			}
			suppress(c)
			touched[c] = true
		}
	}
	final, err := s.audit(t, p, nil)
	if err != nil {
		return nil, err
	}
	if !final.Passed() { // cannot happen: the loop ended on a passing audit
		return nil, fmt.Errorf("disclosure: table %s: final audit failed for %d cells", t.ID, len(final.Failed))
	}
	rep.Audit = final
	t.Method = fmt.Sprintf("cell suppression (threshold %d, protection interval at least max(%g, %g × value), audited)", p.Threshold, p.MinWidth, p.Margin)
	addNote(t,
		fmt.Sprintf("..  Uppgift har undertryckts: färre än %d personer, eller för att skydda en sådan uppgift.", p.Threshold),
		fmt.Sprintf("..  Suppressed: fewer than %d persons, or to protect such a cell.", p.Threshold))
	return rep, nil
}

// count returns the number of suppressed cells in line li.
func (s *structure) count(t *table.Table, li int) int {
	n := 0
	for _, c := range s.lines[li].cells {
		if t.Status[c] == table.StatusSuppressed {
			n++
		}
	}
	return n
}

// near returns the cells of the lines through cell c.
func (s *structure) near(c int) []int {
	var out []int
	for _, li := range s.byCell[c] {
		out = append(out, s.lines[li].cells...)
	}
	return out
}

// choose returns the best published non-zero cell among cands to suppress
// next, or −1. skip is a line not to count when scoring (the line being
// closed).
func (s *structure) choose(t *table.Table, cands []int, skip int) int {
	best, bestScore := -1, []float64(nil)
	for _, c := range cands {
		if t.Status[c] == table.StatusSuppressed || t.Values[c] == 0 {
			continue
		}
		closes := 0
		for _, li := range s.byCell[c] {
			if li != skip && s.count(t, li) == 1 {
				closes++
			}
		}
		total := 0.0
		if t.IsTotal(c) {
			total = 1
		}
		score := []float64{-float64(closes), total, t.Values[c], float64(c)}
		if best < 0 || slices.Compare(score, bestScore) < 0 {
			best, bestScore = c, score
		}
	}
	return best
}

// Published returns a copy of t in which every suppressed cell holds NaN
// instead of its true value, for callers that hand Values on without looking
// at Status. (NaN cannot pass for a count: JSON encoding fails on it and
// arithmetic turns it into NaN.)
func Published(t *table.Table) *table.Table {
	c := *t
	c.Dims = slices.Clone(t.Dims)
	c.Notes = slices.Clone(t.Notes)
	c.Values = slices.Clone(t.Values)
	c.Status = slices.Clone(t.Status)
	for i, st := range c.Status {
		if st == table.StatusSuppressed {
			c.Values[i] = math.NaN()
		}
	}
	return &c
}

package disclosure

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/gallra/gallra/transforms/table"
)

// dim returns a dimension with n inner categories and, if total, a last
// category "T" that is its total.
func dim(code string, n int, total bool) table.Dimension {
	d := table.Dimension{Code: code}
	for i := range n {
		d.Categories = append(d.Categories, table.Category{Code: code + strconv.Itoa(i+1)})
	}
	if total {
		d.Categories = append(d.Categories, table.Category{Code: "T"})
		d.Total = "T"
	}
	return d
}

// withMargins builds a table over dims (each with a total) whose inner
// cells are inner (row-major over the inner categories) and whose margins
// are computed by summing.
func withMargins(dims []table.Dimension, inner []float64) *table.Table {
	t := table.New(dims...)
	t.ID = "test"
	k := 0
	for off := range t.Len() {
		if !t.IsTotal(off) {
			t.Values[off] = inner[k]
			k++
		}
	}
	for off := range t.Len() {
		if !t.IsTotal(off) {
			continue
		}
		// A margin is the sum of the inner cells it covers.
		pos := t.Positions(off)
		sum := 0.0
		for in := range t.Len() {
			if t.IsTotal(in) {
				continue
			}
			q := t.Positions(in)
			covered := true
			for d := range pos {
				if t.Dims[d].Categories[pos[d]].Code != "T" && pos[d] != q[d] {
					covered = false
				}
			}
			if covered {
				sum += t.Values[in]
			}
		}
		t.Values[off] = sum
	}
	return t
}

func findInterval(t *testing.T, r *AuditReport, cell int) Interval {
	t.Helper()
	for _, iv := range r.Intervals {
		if iv.Cell == cell {
			return iv
		}
	}
	t.Fatalf("no interval for cell %d", cell)
	return Interval{}
}

func checkInterval(t *testing.T, r *AuditReport, cell int, lo, hi float64) {
	t.Helper()
	iv := findInterval(t, r, cell)
	if math.Abs(iv.Lo-lo) > 1e-7 || math.Abs(iv.Hi-hi) > 1e-7 {
		t.Errorf("cell %d: interval [%g, %g], want [%g, %g]", cell, iv.Lo, iv.Hi, lo, hi)
	}
}

// checkSuppressed asserts what every result of Suppress must satisfy.
func checkSuppressed(t *testing.T, tab *table.Table, orig []float64, rep *SuppressReport, p SuppressParams) {
	t.Helper()
	p = p.withDefaults()
	for i, v := range orig {
		if tab.Values[i] != v {
			t.Errorf("cell %d: value changed from %g to %g", i, v, tab.Values[i])
		}
		if v > 0 && v < float64(p.Threshold) && tab.Status[i] != table.StatusSuppressed {
			t.Errorf("cell %d: sensitive value %g published", i, v)
		}
		if v == 0 && tab.Status[i] == table.StatusSuppressed {
			t.Errorf("cell %d: a zero was suppressed", i)
		}
	}
	// No line may hold exactly one suppressed cell.
	s := newStructure(tab)
	for li, l := range s.lines {
		if s.count(tab, li) == 1 {
			t.Errorf("line %v has a single suppressed cell", l.cells)
		}
	}
	// An independent audit of the result passes, and every interval holds
	// the true value.
	a, err := Audit(tab, p)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Passed() {
		t.Errorf("audit after Suppress failed: %+v", a.Failed)
	}
	for _, iv := range a.Intervals {
		if v := orig[iv.Cell]; v < iv.Lo-1e-7 || v > iv.Hi+1e-7 {
			t.Errorf("cell %d: true value %g outside [%g, %g]", iv.Cell, v, iv.Lo, iv.Hi)
		}
	}
	if !rep.Audit.Passed() || len(rep.Audit.Intervals) != len(a.Intervals) {
		t.Errorf("report audit %+v differs from a fresh audit %+v", rep.Audit, a)
	}
	if tab.Method == "" || len(tab.Notes) == 0 {
		t.Errorf("method %q notes %q", tab.Method, tab.Notes)
	}
}

// TestAuditHandWorked2D: the four inner cells of
//
//	      a   b   T
//	r1    3   7  10
//	r2    6   8  14
//	T     9  15  24
//
// are suppressed and the margins published. With x = r1a: r1b = 10−x ≥ 0,
// r2a = 9−x ≥ 0, r2b = 14−(9−x) = 5+x ≥ 0, so x ∈ [0, 9], r1b ∈ [1, 10],
// r2a ∈ [0, 9], r2b ∈ [5, 14].
func TestAuditHandWorked2D(t *testing.T) {
	tab := withMargins([]table.Dimension{dim("r", 2, true), dim("c", 2, true)}, []float64{3, 7, 6, 8})
	if tab.Values[8] != 24 || tab.Values[2] != 10 {
		t.Fatalf("margins wrong: %v", tab.Values)
	}
	for _, c := range []int{0, 1, 3, 4} {
		tab.Status[c] = table.StatusSuppressed
	}
	a, err := Audit(tab, SuppressParams{})
	if err != nil {
		t.Fatal(err)
	}
	checkInterval(t, a, 0, 0, 9)
	checkInterval(t, a, 1, 1, 10)
	checkInterval(t, a, 3, 0, 9)
	checkInterval(t, a, 4, 5, 14)
	if len(a.Intervals) != 4 || !a.Passed() {
		t.Errorf("intervals %+v failed %+v", a.Intervals, a.Failed)
	}
	if iv := findInterval(t, a, 0); !iv.Sensitive || iv.Required != 2 {
		t.Errorf("cell 0 (value 3): %+v, want sensitive with required width max(2, 1.5) = 2", iv)
	}
}

// TestAuditHandWorked3D: a 2×2×2 cube with all margins published and the
// eight inner cells suppressed has one degree of freedom: x_ijk + t·ε_ijk
// with ε = +1 on 111, 122, 212, 221 and −1 on 112, 121, 211, 222.
// Non-negativity gives t ≥ −min(3, 6, 2, 8) = −2 and t ≤ min(5, 4, 7, 9) = 4,
// so 111 (3) ∈ [1, 7], 212 (2) ∈ [0, 6], 112 (5) ∈ [1, 7], 222 (9) ∈ [5, 11].
func TestAuditHandWorked3D(t *testing.T) {
	dims := []table.Dimension{dim("i", 2, true), dim("j", 2, true), dim("k", 2, true)}
	tab := withMargins(dims, []float64{3, 5, 4, 6, 7, 2, 8, 9})
	for off := range tab.Len() {
		if !tab.IsTotal(off) {
			tab.Status[off] = table.StatusSuppressed
		}
	}
	a, err := Audit(tab, SuppressParams{})
	if err != nil {
		t.Fatal(err)
	}
	checkInterval(t, a, tab.Offset(0, 0, 0), 1, 7)
	checkInterval(t, a, tab.Offset(1, 0, 1), 0, 6)
	checkInterval(t, a, tab.Offset(0, 0, 1), 1, 7)
	checkInterval(t, a, tab.Offset(1, 1, 1), 5, 11)
	if !a.Passed() {
		t.Errorf("failed: %+v", a.Failed)
	}
}

// TestPrimaryOnlyLeaksThroughMargin: suppressing only the 2 in row r1 leaves
// it recomputable as 24 − 10 − 12; the audit must find width 0, and
// Suppress must fix it.
func TestPrimaryOnlyLeaksThroughMargin(t *testing.T) {
	inner := []float64{
		2, 10, 12,
		8, 9, 11,
		7, 6, 13,
	}
	newTab := func() *table.Table {
		return withMargins([]table.Dimension{dim("r", 3, true), dim("c", 3, true)}, inner)
	}
	tab := newTab()
	tab.Status[0] = table.StatusSuppressed
	a, err := Audit(tab, SuppressParams{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Passed() || len(a.Failed) != 1 || a.Failed[0].Cell != 0 {
		t.Fatalf("audit did not catch the leak: %+v", a)
	}
	if iv := a.Failed[0]; iv.Lo != 2 || iv.Hi != 2 || iv.Width() != 0 {
		t.Errorf("leaked cell interval [%g, %g], want [2, 2]", iv.Lo, iv.Hi)
	}

	tab = newTab()
	orig := append([]float64(nil), tab.Values...)
	p := SuppressParams{}
	rep, err := Suppress(tab, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Primary) != 1 || rep.Primary[0] != 0 || len(rep.Secondary) < 3 {
		t.Errorf("primary %v secondary %v, want [0] and at least 3 (a rectangle)", rep.Primary, rep.Secondary)
	}
	checkSuppressed(t, tab, orig, rep, p)
	if iv := findInterval(t, rep.Audit, 0); iv.Width() < 2 {
		t.Errorf("cell 0 interval [%g, %g]", iv.Lo, iv.Hi)
	}
}

// TestTwoSmallCellsInARow: 1 and 2 in a row with total 23; their sum 3 is
// recoverable but each lies anywhere in [0, 3], width 3 ≥ 2.
func TestTwoSmallCellsInARow(t *testing.T) {
	tab := withMargins([]table.Dimension{dim("c", 3, true)}, []float64{1, 2, 20})
	orig := append([]float64(nil), tab.Values...)
	rep, err := Suppress(tab, SuppressParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Primary) != 2 || len(rep.Secondary) != 0 {
		t.Errorf("primary %v secondary %v, want two primaries and nothing else", rep.Primary, rep.Secondary)
	}
	checkInterval(t, rep.Audit, 0, 0, 3)
	checkInterval(t, rep.Audit, 1, 0, 3)
	checkSuppressed(t, tab, orig, rep, SuppressParams{})

	// A stricter requirement (width ≥ 4) is not met by the pair alone.
	tab = withMargins([]table.Dimension{dim("c", 3, true)}, []float64{1, 2, 20})
	strict := SuppressParams{MinWidth: 4}
	rep, err = Suppress(tab, strict)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Secondary) != 1 || rep.Secondary[0] != 2 {
		t.Errorf("secondary %v, want the 20 (cell 2)", rep.Secondary)
	}
	checkSuppressed(t, tab, orig, rep, strict)

	// In two dimensions, the columns of both cells need protection too.
	tab = withMargins([]table.Dimension{dim("r", 3, true), dim("c", 3, true)}, []float64{
		1, 2, 20,
		5, 6, 30,
		9, 7, 8,
	})
	orig = append([]float64(nil), tab.Values...)
	rep, err = Suppress(tab, SuppressParams{})
	if err != nil {
		t.Fatal(err)
	}
	checkSuppressed(t, tab, orig, rep, SuppressParams{})
}

func TestSuppressWithZeros(t *testing.T) {
	tab := withMargins([]table.Dimension{dim("r", 2, true), dim("c", 3, true)}, []float64{
		3, 0, 0,
		0, 5, 6,
	})
	orig := append([]float64(nil), tab.Values...)
	rep, err := Suppress(tab, SuppressParams{})
	if err != nil {
		t.Fatal(err)
	}
	checkSuppressed(t, tab, orig, rep, SuppressParams{})
	// The row of the 3 is otherwise empty, so its total must go too.
	if tab.Status[tab.Offset(0, 3)] != table.StatusSuppressed {
		t.Error("row total of the lone 3 is published")
	}
}

// TestSuppress3D protects random 3-D tables with margins in every dimension.
func TestSuppress3D(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for trial := range 15 {
		dims := []table.Dimension{dim("a", 2+r.IntN(3), true), dim("b", 2+r.IntN(2), true), dim("c", 2+r.IntN(3), true)}
		n := 1
		for _, d := range dims {
			n *= len(d.Categories) - 1
		}
		inner := make([]float64, n)
		for i := range inner {
			switch x := r.IntN(10); {
			case x < 2:
				inner[i] = 0
			case x < 5:
				inner[i] = float64(1 + r.IntN(4))
			default:
				inner[i] = float64(5 + r.IntN(40))
			}
		}
		tab := withMargins(dims, inner)
		orig := append([]float64(nil), tab.Values...)
		p := SuppressParams{Threshold: 5, Margin: 0.5, MinWidth: 2}
		rep, err := Suppress(tab, p)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		checkSuppressed(t, tab, orig, rep, p)
	}
}

func TestAuditPublishedSensitiveAndErrors(t *testing.T) {
	tab := withMargins([]table.Dimension{dim("c", 2, true)}, []float64{3, 20})
	a, err := Audit(tab, SuppressParams{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Passed() || a.Failed[0].Suppressed || a.Failed[0].Lo != 3 || a.Failed[0].Hi != 3 {
		t.Errorf("published 3 not reported: %+v", a)
	}
	// A cell in no equation is unbounded above.
	tab = table.New(dim("c", 2, false))
	tab.Values[0], tab.Values[1] = 3, 9
	tab.Status[0] = table.StatusSuppressed
	if a, err = Audit(tab, SuppressParams{}); err != nil || !a.Passed() || !math.IsInf(a.Intervals[0].Hi, 1) {
		t.Errorf("free cell: %+v %v", a, err)
	}
	// Not additive (e.g. perturbed): refused.
	tab = withMargins([]table.Dimension{dim("c", 2, true)}, []float64{3, 20})
	tab.Values[2] = 24
	if _, err := Audit(tab, SuppressParams{}); err == nil {
		t.Error("non-additive table accepted")
	}
	tab.Status[0] = table.StatusSuppressed
	tab.Status[1] = table.StatusSuppressed
	tab.Values[0], tab.Values[1] = 3, 20
	if _, err := Audit(tab, SuppressParams{}); err != nil {
		t.Errorf("consistent with suppressed cells: %v", err)
	}
	if _, err := Audit(tab, SuppressParams{Threshold: -1}); err == nil {
		t.Error("negative threshold accepted")
	}
}

func TestPublished(t *testing.T) {
	tab := withMargins([]table.Dimension{dim("c", 3, true)}, []float64{1, 2, 20})
	if _, err := Suppress(tab, SuppressParams{}); err != nil {
		t.Fatal(err)
	}
	pub := Published(tab)
	if !math.IsNaN(pub.Values[0]) || !math.IsNaN(pub.Values[1]) || pub.Values[2] != 20 || pub.Values[3] != 23 {
		t.Errorf("published values %v", pub.Values)
	}
	if tab.Values[0] != 1 {
		t.Error("Published changed the original")
	}
}

// TestAuditAgainstBruteForce compares the audit with an exhaustive search
// over whole numbers on small two-way tables with margins. Their equations
// form a network matrix, whose linear programs have whole-number optima, so
// the real and whole-number intervals agree.
func TestAuditAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	wide := 0 // intervals wider than a point: the comparison is not trivial
	defer func() {
		if wide < 20 {
			t.Errorf("only %d wide intervals compared", wide)
		}
	}()
	for trial := range 40 {
		inner := make([]float64, 6)
		for i := range inner {
			inner[i] = float64(r.IntN(5))
		}
		tab := withMargins([]table.Dimension{dim("r", 2, true), dim("c", 3, true)}, inner)
		var sup []int
		add := func(c int) {
			// The grand total stays published, so every cell is at most
			// the grand total and the search below is exhaustive.
			if c != tab.Len()-1 && !slices.Contains(sup, c) {
				sup = append(sup, c)
				tab.Status[c] = table.StatusSuppressed
			}
		}
		if trial%2 == 0 { // a rectangle (margins included), which leaves freedom
			r1, r2 := r.IntN(3), r.IntN(3)
			c1, c2 := r.IntN(4), r.IntN(4)
			add(tab.Offset(r1, c1))
			add(tab.Offset(r1, c2))
			add(tab.Offset(r2, c1))
			add(tab.Offset(r2, c2))
		}
		for len(sup) < 4 {
			add(r.IntN(tab.Len()))
		}
		a, err := Audit(tab, SuppressParams{})
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		// Exhaustive search: every whole-number value of the suppressed
		// cells up to the grand total that satisfies every line.
		s := newStructure(tab)
		g := int(tab.Values[tab.Len()-1])
		lo := map[int]float64{}
		hi := map[int]float64{}
		vals := slices.Clone(tab.Values)
		var rec func(k int)
		rec = func(k int) {
			if k == len(sup) {
				for _, l := range s.lines {
					sum := 0.0
					for _, c := range l.cells {
						if c != l.total {
							sum += vals[c]
						}
					}
					if sum != vals[l.total] {
						return
					}
				}
				for _, c := range sup {
					if v, ok := lo[c]; !ok || vals[c] < v {
						lo[c] = vals[c]
					}
					if v, ok := hi[c]; !ok || vals[c] > v {
						hi[c] = vals[c]
					}
				}
				return
			}
			for v := 0; v <= g; v++ {
				vals[sup[k]] = float64(v)
				rec(k + 1)
			}
		}
		rec(0)
		for _, c := range sup {
			want := [2]float64{lo[c], hi[c]}
			if want[1] > want[0] {
				wide++
			}
			iv := findInterval(t, a, c)
			if math.Abs(iv.Lo-want[0]) > 1e-7 || math.Abs(iv.Hi-want[1]) > 1e-7 {
				t.Errorf("trial %d cell %d (suppressed %v, values %v): audit [%g, %g], search [%g, %g]",
					trial, c, sup, tab.Values, iv.Lo, iv.Hi, want[0], want[1])
			}
		}
	}
}

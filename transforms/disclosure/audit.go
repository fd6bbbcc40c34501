package disclosure

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gallra/gallra/transforms/table"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// SuppressParams configure cell suppression and its audit.
type SuppressParams struct {
	// Threshold: counts 1..Threshold-1 are sensitive and primary suppressed;
	// zero is published. Zero means DefaultThreshold.
	Threshold int
	// A sensitive cell with true value v is protected when the interval of
	// values consistent with the published table, [Lo, Hi], has
	// Hi − Lo ≥ max(MinWidth, Margin·v). When both are zero the defaults
	// DefaultMinWidth and DefaultMargin apply.
	Margin   float64
	MinWidth float64
}

// Defaults of SuppressParams.
const (
	DefaultThreshold = 5
	DefaultMargin    = 0.5
	DefaultMinWidth  = 2
)

func (p SuppressParams) withDefaults() SuppressParams {
	if p.Threshold == 0 {
		p.Threshold = DefaultThreshold
	}
	if p.Margin == 0 && p.MinWidth == 0 {
		p.Margin, p.MinWidth = DefaultMargin, DefaultMinWidth
	}
	return p
}

func (p SuppressParams) check() error {
	if p.Threshold < 1 || !(p.Margin >= 0) || !(p.MinWidth >= 0) || math.IsInf(p.Margin, 0) || math.IsInf(p.MinWidth, 0) {
		return fmt.Errorf("disclosure: suppression: threshold %d, margin %g and minimum width %g must be positive and finite", p.Threshold, p.Margin, p.MinWidth)
	}
	return nil
}

// sensitive reports whether a true value must be protected.
func (p SuppressParams) sensitive(v float64) bool { return v > 0 && v < float64(p.Threshold) }

// required is the interval width that protects a sensitive value v.
func (p SuppressParams) required(v float64) float64 { return math.Max(p.MinWidth, p.Margin*v) }

// Interval is what the published table reveals about one cell.
type Interval struct {
	Cell       int     // cell index in the table
	Suppressed bool    // the cell is not published
	Sensitive  bool    // its true value is 1..Threshold-1 and must be protected
	Lo, Hi     float64 // the least and greatest value consistent with the published cells (Hi may be +Inf)
	Required   float64 // the width a sensitive cell needs; 0 for others
}

// Width is Hi − Lo.
func (iv Interval) Width() float64 { return iv.Hi - iv.Lo }

// Protected reports whether the interval is wide enough (always true for a
// cell that is not sensitive).
func (iv Interval) Protected() bool { return !iv.Sensitive || iv.Width() >= iv.Required-1e-7 }

// AuditReport is the result of Audit.
type AuditReport struct {
	// Intervals holds one entry per suppressed cell and per published
	// sensitive cell (whose interval is its value), in cell order.
	Intervals []Interval
	// Failed holds the intervals that are not Protected.
	Failed []Interval
}

// Passed reports whether every sensitive cell is protected.
func (r *AuditReport) Passed() bool { return len(r.Failed) == 0 }

// Audit proves what the published table reveals. For every suppressed cell
// it computes, by two linear programs (gonum's simplex), the least and the
// greatest value x of that cell such that some assignment of non-negative
// values to all suppressed cells satisfies every additivity equation of the
// table (for every line along a dimension with a total: total = sum of the
// other cells) given the published values. It then compares each sensitive
// cell's interval with the protection required (SuppressParams). A published
// sensitive cell fails outright.
//
// Only published values and the structure enter the linear programs; the
// true values of suppressed cells are used only to decide which cells are
// sensitive and how wide their intervals must be. The relaxation is over real
// numbers: an attacker who also uses integrality may narrow an interval by
// less than one. The table must be additive (not perturbed or rounded).
func Audit(t *table.Table, p SuppressParams) (*AuditReport, error) {
	p = p.withDefaults()
	if err := p.check(); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("disclosure: %w", err)
	}
	s := newStructure(t)
	return s.audit(t, p, nil)
}

// structure holds the additivity equations of a table: its lines.
type structure struct {
	lines  []line
	byCell [][]int // line indices through each cell
}

// line is the cells along one dimension with a total, other positions fixed.
type line struct {
	cells []int // in category order
	total int   // the total cell
}

func newStructure(t *table.Table) *structure {
	s := &structure{byCell: make([][]int, t.Len())}
	for off := 0; off < t.Len(); off++ {
		pos := t.Positions(off)
		for k, d := range t.Dims {
			tk := d.Index(d.Total)
			if d.Total == "" || pos[k] != 0 { // start each line at its first cell
				continue
			}
			var l line
			q := append([]int(nil), pos...)
			for c := range d.Categories {
				q[k] = c
				l.cells = append(l.cells, t.Offset(q...))
			}
			l.total = l.cells[tk]
			for _, c := range l.cells {
				s.byCell[c] = append(s.byCell[c], len(s.lines))
			}
			s.lines = append(s.lines, l)
		}
	}
	return s
}

// audit computes the intervals; if only is not nil, it solves the linear
// programs only for the suppressed cells in only.
func (s *structure) audit(t *table.Table, p SuppressParams, only map[int]bool) (*AuditReport, error) {
	for i, v := range t.Values {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("disclosure: table %s: cell %d is not a non-negative count", t.ID, i)
		}
	}
	// Variables: the suppressed cells.
	varOf := make([]int, t.Len())
	var vars []int
	for i := range varOf {
		varOf[i] = -1
		if t.Status[i] == table.StatusSuppressed {
			varOf[i] = len(vars)
			vars = append(vars, i)
		}
	}
	// One equation per line: Σ coef·x = rhs, coef +1 for a part, −1 for the total.
	var rows [][]float64
	var rhs []float64
	for _, l := range s.lines {
		row := make([]float64, len(vars))
		b, any := 0.0, false
		for _, c := range l.cells {
			coef := 1.0
			if c == l.total {
				coef = -1
			}
			if v := varOf[c]; v >= 0 {
				row[v] += coef
				any = true
			} else {
				b -= coef * t.Values[c]
			}
		}
		if !any {
			if math.Abs(b) > 1e-6 {
				return nil, fmt.Errorf("disclosure: table %s: not additive: total cell %d differs from the sum of its parts by %g", t.ID, l.total, -b)
			}
			continue
		}
		rows = append(rows, row)
		rhs = append(rhs, b)
	}
	sys, err := reduce(rows, rhs, len(vars))
	if err != nil {
		return nil, fmt.Errorf("disclosure: table %s: %w", t.ID, err)
	}

	rep := &AuditReport{}
	for i, v := range t.Values {
		iv := Interval{Cell: i, Suppressed: varOf[i] >= 0, Sensitive: p.sensitive(v)}
		if iv.Sensitive {
			iv.Required = p.required(v)
		}
		switch {
		case !iv.Suppressed && !iv.Sensitive:
			continue
		case !iv.Suppressed:
			iv.Lo, iv.Hi = v, v
		case only != nil && !only[i]:
			continue
		default:
			if iv.Lo, iv.Hi, err = sys.bounds(varOf[i]); err != nil {
				return nil, fmt.Errorf("disclosure: table %s: cell %d: %w", t.ID, i, err)
			}
		}
		rep.Intervals = append(rep.Intervals, iv)
		if !iv.Protected() {
			rep.Failed = append(rep.Failed, iv)
		}
	}
	return rep, nil
}

// system is A x = b, x ≥ 0, in reduced row echelon form with full row
// rank, split into independent components (sets of variables linked by
// equations), each solved as its own smaller linear program.
type system struct {
	comp  []int // variable → component, or −1 if the variable is in no equation
	col   []int // variable → column within its component
	comps []component
}

type component struct {
	a *mat.Dense
	b []float64
	// basis is a feasible basis found by the first linear program of the
	// component; later ones start from it instead of solving phase one
	// again (which dominates the cost).
	basis   []int
	noBasis bool
}

// reduce brings the equations to reduced row echelon form, drops the
// dependent ones (tables with margins in several dimensions always have some,
// e.g. the grand total is reached along every dimension) and checks that the
// rest are consistent.
func reduce(rows [][]float64, rhs []float64, nvar int) (*system, error) {
	const eps = 1e-9
	m := len(rows)
	r := 0
	var pivotCol []int // pivot column of each row of the echelon form
	for c := 0; c < nvar && r < m; c++ {
		piv := r
		for i := r + 1; i < m; i++ {
			if math.Abs(rows[i][c]) > math.Abs(rows[piv][c]) {
				piv = i
			}
		}
		if math.Abs(rows[piv][c]) < eps {
			continue
		}
		rows[r], rows[piv] = rows[piv], rows[r]
		rhs[r], rhs[piv] = rhs[piv], rhs[r]
		f := rows[r][c]
		for j := range rows[r] {
			rows[r][j] /= f
		}
		rhs[r] /= f
		for i := 0; i < m; i++ {
			if i == r || rows[i][c] == 0 {
				continue
			}
			g := rows[i][c]
			for j := range rows[i] {
				rows[i][j] -= g * rows[r][j]
				if math.Abs(rows[i][j]) < eps {
					rows[i][j] = 0
				}
			}
			rhs[i] -= g * rhs[r]
			if math.Abs(rhs[i]) < eps {
				rhs[i] = 0
			}
		}
		pivotCol = append(pivotCol, c)
		r++
	}
	for i := r; i < m; i++ {
		if math.Abs(rhs[i]) > 1e-6 {
			return nil, errors.New("published cells contradict the additivity equations")
		}
	}
	// Components: union of the variables of each remaining row.
	parent := make([]int, nvar)
	for v := range parent {
		parent[v] = v
	}
	var find func(int) int
	find = func(v int) int {
		for parent[v] != v {
			parent[v] = parent[parent[v]]
			v = parent[v]
		}
		return v
	}
	used := make([]bool, nvar)
	for i := 0; i < r; i++ {
		first := -1
		for v := range nvar {
			if rows[i][v] == 0 {
				continue
			}
			used[v] = true
			if first < 0 {
				first = v
			} else {
				parent[find(v)] = find(first)
			}
		}
	}
	s := &system{comp: make([]int, nvar), col: make([]int, nvar)}
	compOf := map[int]int{} // root → component
	var ncols []int
	for v := range nvar {
		s.comp[v] = -1
		if !used[v] {
			continue
		}
		c, ok := compOf[find(v)]
		if !ok {
			c = len(ncols)
			compOf[find(v)] = c
			ncols = append(ncols, 0)
		}
		s.comp[v], s.col[v] = c, ncols[c]
		ncols[c]++
	}
	rowsOf := make([][]int, len(ncols))
	for i := 0; i < r; i++ {
		for v := range nvar {
			if rows[i][v] != 0 {
				rowsOf[s.comp[v]] = append(rowsOf[s.comp[v]], i)
				break
			}
		}
	}
	for c, rs := range rowsOf {
		k := component{a: mat.NewDense(len(rs), ncols[c], nil), b: make([]float64, len(rs))}
		// The pivot columns are the identity: if b ≥ 0 they are a
		// feasible basis and phase one is not needed.
		basis, feasible := make([]int, len(rs)), true
		for ri, i := range rs {
			basis[ri] = s.col[pivotCol[i]]
			feasible = feasible && rhs[i] >= 0
			k.b[ri] = rhs[i]
			for v := range nvar {
				if rows[i][v] != 0 {
					k.a.Set(ri, s.col[v], rows[i][v])
				}
			}
		}
		if feasible {
			k.basis = basis
		}
		s.comps = append(s.comps, k)
	}
	return s, nil
}

// bounds returns the least and greatest value of variable v over the
// feasible set.
func (s *system) bounds(v int) (lo, hi float64, err error) {
	if s.comp[v] < 0 { // in no equation: anything non-negative
		return 0, math.Inf(1), nil
	}
	k, c := s.comps[s.comp[v]], s.col[v]
	r, n := k.a.Dims()
	if r == n {
		// Square and in reduced row echelon form: A is the identity and the
		// published cells determine every variable of the component.
		return k.b[c], k.b[c], nil
	}
	obj := make([]float64, n)
	obj[c] = 1
	lo, err = k.simplex(obj)
	if err != nil {
		return 0, 0, fmt.Errorf("minimising: %w", err)
	}
	obj[c] = -1
	neg, err := k.simplex(obj)
	switch {
	case errors.Is(err, lp.ErrUnbounded):
		hi = math.Inf(1)
	case err != nil:
		return 0, 0, fmt.Errorf("maximising: %w", err)
	default:
		hi = -neg
	}
	return math.Max(lo, 0), hi, nil
}

// simplex minimises obj·x over the component, starting from the cached
// feasible basis when there is one.
func (k *component) simplex(obj []float64) (float64, error) {
	if k.basis != nil {
		if f, err, ok := simplexFrom(obj, k.a, k.b, k.basis); ok {
			return f, err
		}
		k.basis, k.noBasis = nil, true
	}
	f, x, err := lp.Simplex(obj, k.a, k.b, 1e-10, nil)
	if err == nil && !k.noBasis {
		k.basis = feasibleBasis(k.a, k.b, x)
		k.noBasis = k.basis == nil
	}
	return f, err
}

// simplexFrom runs the simplex from basis; ok is false if gonum rejected
// the basis (it panics on an infeasible or singular one).
func simplexFrom(obj []float64, a *mat.Dense, b []float64, basis []int) (f float64, err error, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	f, _, err = lp.Simplex(obj, a, b, 1e-10, basis)
	return f, err, true
}

// feasibleBasis returns a basis (r independent columns of a) whose basic
// solution is the vertex x, or nil: the columns where x is positive,
// completed with other independent columns.
func feasibleBasis(a *mat.Dense, b, x []float64) []int {
	r, n := a.Dims()
	var basis []int
	var reduced [][]float64 // chosen columns, reduced against each other
	var pivots []int
	try := func(j int) {
		v := mat.Col(nil, j, a)
		for q, w := range reduced {
			if f := v[pivots[q]] / w[pivots[q]]; f != 0 {
				for i := range v {
					v[i] -= f * w[i]
				}
			}
		}
		p := 0
		for i := range v {
			if math.Abs(v[i]) > math.Abs(v[p]) {
				p = i
			}
		}
		if math.Abs(v[p]) > 1e-9 {
			basis = append(basis, j)
			reduced = append(reduced, v)
			pivots = append(pivots, p)
		}
	}
	for j := 0; j < n && len(basis) < r; j++ {
		if x[j] > 1e-9 {
			try(j)
		}
	}
	for j := 0; j < n && len(basis) < r; j++ {
		if !(x[j] > 1e-9) {
			try(j)
		}
	}
	if len(basis) != r {
		return nil
	}
	ab := mat.NewDense(r, r, nil)
	for q, j := range basis {
		ab.SetCol(q, mat.Col(nil, j, a))
	}
	var xb mat.VecDense
	if err := xb.SolveVec(ab, mat.NewVecDense(r, slices.Clone(b))); err != nil {
		return nil
	}
	for i := range r {
		if xb.AtVec(i) < -1e-12 {
			return nil
		}
	}
	return basis
}

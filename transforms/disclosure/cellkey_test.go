package disclosure

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gallra/gallra/transforms/table"
)

func keyOf(f float64) Key { return Key(f * (1 << 64)) }

var ptableCases = []Params{
	{MaxDeviation: 2, Variance: 1},
	{MaxDeviation: 3, Variance: 2},
	{MaxDeviation: 3, Variance: 1.5, SmallCounts: 3},
	{MaxDeviation: 5, Variance: 4},
	{MaxDeviation: 2, Variance: 1, SmallCounts: -1},
	{MaxDeviation: 4, Variance: 16},
}

func smallCounts(p Params) int {
	switch {
	case p.SmallCounts == 0:
		return 2
	case p.SmallCounts < 0:
		return 0
	}
	return p.SmallCounts
}

func TestPTableRowsAreUnbiasedDistributions(t *testing.T) {
	for _, par := range ptableCases {
		pt, err := NewPTable(par)
		if err != nil {
			t.Fatalf("%+v: %v", par, err)
		}
		js := smallCounts(par)
		last := par.MaxDeviation + js + 1
		for i := 0; i <= last+3; i++ {
			noise, prob := pt.Row(i)
			var sum, mean, vari float64
			for k, d := range noise {
				if d < -par.MaxDeviation || d > par.MaxDeviation {
					t.Errorf("%+v count %d: noise %d beyond maximum deviation", par, i, d)
				}
				if j := i + d; j < 0 || (j >= 1 && j <= js) {
					t.Errorf("%+v count %d: perturbed value %d is forbidden", par, i, j)
				}
				if prob[k] <= 0 {
					t.Errorf("%+v count %d: zero-probability noise %d kept", par, i, d)
				}
				sum += prob[k]
				mean += prob[k] * float64(d)
				vari += prob[k] * float64(d*d)
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Errorf("%+v count %d: probabilities sum to %g", par, i, sum)
			}
			if math.Abs(mean) > 1e-9 {
				t.Errorf("%+v count %d: mean noise %g, want 0", par, i, mean)
			}
			if i == 0 && (len(noise) != 1 || noise[0] != 0) {
				t.Errorf("%+v: zero is perturbed: %v %v", par, noise, prob)
			}
			// From the first symmetric row on, every noise in [-D, D] is
			// allowed and the variance must be the requested one.
			if i >= last && math.Abs(vari-par.Variance) > 1e-9 {
				t.Errorf("%+v count %d: variance %g, want %g", par, i, vari, par.Variance)
			}
		}
	}
}

// TestPTableHandRows checks rows worked out by hand for D = 2, V = 1, js = 2.
func TestPTableHandRows(t *testing.T) {
	pt, err := NewPTable(Params{MaxDeviation: 2, Variance: 1})
	if err != nil {
		t.Fatal(err)
	}
	third := 1.0 / 3
	want := map[int]map[int]float64{
		// 1 may become 0 (d=-1) or 3 (d=+2) only; mean 0 forces
		// P(-1)·1 = P(+2)·2, so P(-1) = 2/3, P(+2) = 1/3 (variance 2 > V:
		// the gap forces it).
		1: {-1: 2 * third, 2: third},
		// 2 may become 0 (d=-2), 3 or 4; the least variance with mean 0 is
		// on {-2, +1}: P(-2) = 1/3, P(+1) = 2/3, variance 2.
		2: {-2: third, 1: 2 * third},
		// 3 cannot go down (2 and 1 forbidden, 0 is 3 away), so an unbiased
		// noise must be 0.
		3: {0: 1},
	}
	for count, w := range want {
		noise, prob := pt.Row(count)
		if len(noise) != len(w) {
			t.Errorf("count %d: noise %v prob %v, want %v", count, noise, prob, w)
			continue
		}
		for k, d := range noise {
			if math.Abs(prob[k]-w[d]) > 1e-12 {
				t.Errorf("count %d noise %d: p = %g, want %g", count, d, prob[k], w[d])
			}
		}
	}
	// Intervals: count 1 gets -1 for keys in [0, 2/3) and +2 in [2/3, 1).
	for _, c := range []struct {
		key  float64
		want int
	}{{0, 0}, {0.6, 0}, {0.66, 0}, {0.67, 3}, {0.999999, 3}} {
		if got := pt.Perturb(1, keyOf(c.key)); got != c.want {
			t.Errorf("Perturb(1, %g) = %d, want %d", c.key, got, c.want)
		}
	}
}

func TestPerturbConstraints(t *testing.T) {
	for _, par := range ptableCases {
		pt, err := NewPTable(par)
		if err != nil {
			t.Fatal(err)
		}
		js := smallCounts(par)
		r := rand.New(rand.NewPCG(1, 2))
		for n := 0; n < 20000; n++ {
			count := r.IntN(40)
			k := Key(r.Uint64())
			got := pt.Perturb(count, k)
			if count == 0 && got != 0 {
				t.Fatalf("%+v: zero perturbed to %d", par, got)
			}
			if got >= 1 && got <= js {
				t.Fatalf("%+v: %d published as %d", par, count, got)
			}
			if d := got - count; d < -par.MaxDeviation || d > par.MaxDeviation {
				t.Fatalf("%+v: noise %d", par, d)
			}
			if again := pt.Perturb(count, k); again != got {
				t.Fatalf("%+v: same key gave %d then %d", par, got, again)
			}
		}
		if edge := pt.Perturb(7, Key(math.MaxUint64)); edge-7 != par.MaxDeviation {
			t.Errorf("%+v: largest key gave noise %d, want the largest noise %d", par, edge-7, par.MaxDeviation)
		}
	}
}

// TestEmpiricalNoise draws many uniform cell keys and checks that the noise
// has mean about 0 and variance about V.
func TestEmpiricalNoise(t *testing.T) {
	par := Params{MaxDeviation: 3, Variance: 2}
	pt, err := NewPTable(par)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(42, 7))
	const n = 400000
	for _, count := range []int{1, 4, 10, 1000} {
		var s, s2 float64
		for range n {
			d := float64(pt.Perturb(count, Key(r.Uint64())) - count)
			s += d
			s2 += d * d
		}
		mean := s / n
		vari := s2/n - mean*mean
		_, prob := pt.Row(count)
		noise, _ := pt.Row(count)
		wantVar := 0.0
		for k, d := range noise {
			wantVar += prob[k] * float64(d*d)
		}
		if count >= 6 && wantVar != par.Variance && math.Abs(wantVar-par.Variance) > 1e-9 {
			t.Errorf("count %d: row variance %g, want %g", count, wantVar, par.Variance)
		}
		if math.Abs(mean) > 0.015 || math.Abs(vari-wantVar) > 0.03 {
			t.Errorf("count %d: empirical mean %g variance %g, want 0 and %g", count, mean, vari, wantVar)
		}
	}
}

func TestCellKeyExactAndOrderFree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	keys := make([]Key, 1000)
	for i := range keys {
		var b [16]byte
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		keys[i] = RecordKey(b)
	}
	want := CellKey(keys)
	for range 20 {
		r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		if got := CellKey(keys); got != want {
			t.Fatalf("order changed the cell key: %d vs %d", got, want)
		}
	}
	half := RecordKey([16]byte{0x80})
	if half.Float() != 0.5 {
		t.Errorf("RecordKey(0x80 00..) = %g, want 0.5", half.Float())
	}
	if got := CellKey([]Key{half, half, half}); got.Float() != 0.5 {
		t.Errorf("0.5+0.5+0.5 mod 1 = %g, want 0.5", got.Float())
	}
	if got := half.Add(half); got != 0 {
		t.Errorf("0.5+0.5 mod 1 = %d, want 0", got)
	}
	if f := Key(math.MaxUint64).Float(); f >= 1 {
		t.Errorf("largest key maps to %g, want < 1", f)
	}
	if CellKey(nil) != 0 {
		t.Error("empty cell key is not 0")
	}
}

func TestNewPTableErrors(t *testing.T) {
	for _, c := range []struct {
		p    Params
		want string
	}{
		{Params{MaxDeviation: 0, Variance: 1}, "maximum deviation 0"},
		{Params{MaxDeviation: 2, Variance: 0}, "variance 0"},
		{Params{MaxDeviation: 2, Variance: math.NaN()}, "variance NaN"},
		{Params{MaxDeviation: 2, Variance: 5}, "variance 5 exceeds maximum deviation 2"},
		{Params{MaxDeviation: 2, Variance: 1, SmallCounts: 3}, "maximum deviation 2 is below small-count limit 3"},
	} {
		_, err := NewPTable(c.p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.p, err, c.want)
		}
	}
}

func twoByTwo() *table.Table {
	t := table.New(
		table.Dimension{Code: "sex", Categories: []table.Category{{Code: "M"}, {Code: "K"}, {Code: "T"}}, Total: "T"},
		table.Dimension{Code: "year", Categories: []table.Category{{Code: "2024"}, {Code: "2025"}, {Code: "T"}}, Total: "T"},
	)
	t.ID = "test"
	copy(t.Values, []float64{
		1, 20, 21,
		30, 0, 30,
		31, 20, 51,
	})
	return t
}

func TestApply(t *testing.T) {
	pt, err := NewPTable(Params{MaxDeviation: 3, Variance: 2})
	if err != nil {
		t.Fatal(err)
	}
	tab := twoByTwo()
	tab.Status[4] = table.StatusSuppressed
	keys := make([]Key, tab.Len())
	r := rand.New(rand.NewPCG(5, 6))
	for i := range keys {
		keys[i] = Key(r.Uint64())
	}
	orig := append([]float64(nil), tab.Values...)
	if err := Apply(tab, keys, pt); err != nil {
		t.Fatal(err)
	}
	for i, v := range tab.Values {
		want := float64(pt.Perturb(int(orig[i]), keys[i]))
		if i == 4 {
			want = orig[i]
		}
		if v != want {
			t.Errorf("cell %d: %g, want %g", i, v, want)
		}
	}
	if tab.Values[0] == 1 || tab.Values[0] == 2 {
		t.Errorf("a 1 was published as %g", tab.Values[0])
	}
	if !strings.HasPrefix(tab.Method, "cell key method (maximum deviation 3, variance 2") || len(tab.Notes) != 1 {
		t.Errorf("method %q notes %q", tab.Method, tab.Notes)
	}
	if err := Apply(tab, keys[:3], pt); err == nil {
		t.Error("Apply accepted too few keys")
	}
	tab.Values[1] = 2.5
	if err := Apply(tab, keys, pt); err == nil {
		t.Error("Apply accepted a fractional count")
	}
}

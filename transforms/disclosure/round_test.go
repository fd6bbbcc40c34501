package disclosure

import (
	"testing"

	"github.com/gallra/gallra/transforms/table"
)

func TestRound(t *testing.T) {
	in := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 44}
	want := map[int][]float64{
		3:  {0, 0, 3, 3, 3, 6, 6, 6, 9, 9, 9, 15, 15, 15, 45},
		5:  {0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10, 15, 15, 15, 45},
		10: {0, 0, 0, 0, 0, 10, 10, 10, 10, 10, 10, 10, 20, 20, 40},
	}
	for base, w := range want {
		cats := make([]table.Category, len(in))
		for i := range cats {
			cats[i] = table.Category{Code: string(rune('a' + i))}
		}
		tab := table.New(table.Dimension{Code: "x", Categories: cats})
		copy(tab.Values, in)
		tab.Status[len(in)-1] = table.StatusSuppressed
		if err := Round(tab, base); err != nil {
			t.Fatal(err)
		}
		for i := range in {
			exp := w[i]
			if i == len(in)-1 {
				exp = in[i] // suppressed cells are left alone
			}
			if tab.Values[i] != exp {
				t.Errorf("base %d: %g rounded to %g, want %g", base, in[i], tab.Values[i], exp)
			}
		}
		if tab.Method == "" || len(tab.Notes) != 1 {
			t.Errorf("base %d: method %q notes %q", base, tab.Method, tab.Notes)
		}
	}
}

// TestRoundMarginsIndependently shows the documented loss of additivity:
// 1+1+1 = 3 rounds to 0+0+0 but the total 3 rounds to 5.
func TestRoundMarginsIndependently(t *testing.T) {
	tab := table.New(table.Dimension{Code: "x", Total: "T",
		Categories: []table.Category{{Code: "a"}, {Code: "b"}, {Code: "c"}, {Code: "T"}}})
	copy(tab.Values, []float64{1, 1, 1, 3})
	if err := Round(tab, 5); err != nil {
		t.Fatal(err)
	}
	if got := tab.Values; got[0] != 0 || got[1] != 0 || got[2] != 0 || got[3] != 5 {
		t.Errorf("got %v, want [0 0 0 5]", got)
	}
}

func TestRoundErrors(t *testing.T) {
	tab := twoByTwo()
	if err := Round(tab, 1); err == nil {
		t.Error("base 1 accepted")
	}
	tab.Values[0] = -1
	if err := Round(tab, 5); err == nil {
		t.Error("negative count accepted")
	}
	if tab.Values[1] != 20 {
		t.Error("table changed by a failing Round")
	}
}

package merge

import (
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomRefs returns n refs over the given sources; keys share their first
// `same` bytes (keys not spread evenly) and repeat (versions) now and then.
func randomRefs(rng *rand.Rand, b *Batch, sources []string, n, same int) []ref {
	refs := make([]ref, n)
	for i := range refs {
		r := &refs[i]
		if i > 0 && rng.IntN(8) == 0 {
			*r = refs[rng.IntN(i)] // another version of an earlier entry
		} else {
			r.src = b.tab.id(sources[rng.IntN(len(sources))])
			binary.BigEndian.PutUint64(r.key[:8], rng.Uint64())
			binary.BigEndian.PutUint64(r.key[8:], rng.Uint64())
			clear(r.key[:same])
		}
		r.seq = uint64(i)
	}
	rng.Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
	return refs
}

func TestSortRefsOrdersBySourceNameKeyAndSeq(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 255, 256, 257, 1000, 50000} {
		for _, same := range []int{0, 1, 2, 16} {
			b := NewBatch()
			// string numbers not in name order, and strings that are not sources
			b.tab.id("zz-measure")
			sources := []string{"uka", "amea", "skills", "aksel"}
			refs := randomRefs(rng, b, sources, n, same)
			want := slices.Clone(refs)
			rank := b.tab.ranks()
			slices.SortFunc(want, func(x, y ref) int { return compareRefs(rank, &x, &y) })
			b.refs = refs
			b.sortRefs()
			if !slices.Equal(b.refs, want) {
				t.Fatalf("n=%d, %d leading key bytes equal: radix order differs from the comparison sort", n, same)
			}
			for i := 1; i < len(b.refs); i++ {
				x, y := b.refs[i-1], b.refs[i]
				if x.src != y.src && b.tab.strs[x.src] > b.tab.strs[y.src] {
					t.Fatalf("n=%d: source %q sorted before %q", n, b.tab.strs[x.src], b.tab.strs[y.src])
				}
			}
		}
	}
}

// BenchmarkSortRefs sorts one spill's worth of refs (a 48 MiB budget holds
// about 350,000) over seven sources.
func BenchmarkSortRefs(b *testing.B) {
	rng := rand.New(rand.NewPCG(8, 8))
	bt := NewBatch()
	refs := randomRefs(rng, bt, []string{"amea", "aksel", "skills", "uka", "feriejobb", "jobbtorg", "af_program"}, 350000, 0)
	bt.refs = make([]ref, len(refs))
	for b.Loop() {
		copy(bt.refs, refs)
		bt.sortRefs()
	}
}

// BenchmarkSortRefsComparison is the baseline of BenchmarkSortRefs: the same
// refs through slices.SortFunc, what sortRefs did before its radix pass.
func BenchmarkSortRefsComparison(b *testing.B) {
	rng := rand.New(rand.NewPCG(8, 8))
	bt := NewBatch()
	refs := randomRefs(rng, bt, []string{"amea", "aksel", "skills", "uka", "feriejobb", "jobbtorg", "af_program"}, 350000, 0)
	rank := bt.tab.ranks()
	sorted := make([]ref, len(refs))
	for b.Loop() {
		copy(sorted, refs)
		slices.SortFunc(sorted, func(x, y ref) int { return compareRefs(rank, &x, &y) })
	}
}

// TestYearSetListsEachYearOnceInOrder adds years in random order, with
// repeats, at the bit set's word boundaries and outside it (which the lake
// rejects later, but Apply must still see), and compares the list with a
// map's sorted keys.
func TestYearSetListsEachYearOnceInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 11))
	edges := []int{-5, 0, 1, 63, 64, 127, 128, 1000, 2024, 9983, 9984, 9999, 10000, 12345}
	var s yearSet
	want := map[int]bool{}
	for range 2000 {
		y := 1990 + rng.IntN(40)
		if rng.IntN(10) == 0 {
			y = edges[rng.IntN(len(edges))]
		}
		s.add(y)
		want[y] = true
	}
	for _, y := range edges {
		s.add(y)
		want[y] = true
	}
	wantList := slices.Sorted(maps.Keys(want))
	if got := s.list(); !slices.Equal(got, wantList) {
		t.Fatalf("list() = %v\nwant %v", got, wantList)
	}
}

package slab

import "testing"

// Every pointer New hands out holds its own value, across allocations:
// writing one leaves the others as they were.
func TestNewGivesDistinctValues(t *testing.T) {
	var s Slab[[16]byte]
	n := 2*Size + 3
	ps := make([]*[16]byte, n)
	for i := range ps {
		ps[i] = s.New([16]byte{byte(i), byte(i >> 8)})
	}
	for i, p := range ps {
		if p[0] != byte(i) || p[1] != byte(i>>8) {
			t.Fatalf("value %d: got %v", i, p[:2])
		}
		for j := range i {
			if ps[j] == p {
				t.Fatalf("values %d and %d share a pointer", j, i)
			}
		}
	}
	ps[0][0] = 0xff
	if ps[1][0] != 1 {
		t.Fatal("writing one value changed its neighbour")
	}
}

func BenchmarkNew(b *testing.B) {
	var s Slab[int32]
	b.ReportAllocs()
	for i := range b.N {
		_ = s.New(int32(i))
	}
}

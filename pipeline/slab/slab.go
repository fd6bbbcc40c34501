// Package slab hands out pointers to small values carved out of shared
// allocations, a few hundred values at a time, instead of one allocation
// per value: the rows of the hot paths (ingest's converted rows, the
// merge's decoded entries, the lake's read rows) point to their pseudonym
// and dates, and a pointer each would be an allocation each.
//
// The values share their backing array with the others of the slab, so a
// slab's memory is freed only when none of its values is referenced. A
// Slab is not safe for concurrent use: give each goroutine its own.
package slab

// Size is how many values one allocation holds.
const Size = 512

// Slab hands out pointers to values of type T. The zero value is ready to
// use.
type Slab[T any] struct {
	free []T
}

// New returns a pointer to a copy of v, of the slab's.
func (s *Slab[T]) New(v T) *T {
	if len(s.free) == 0 {
		s.free = make([]T, Size)
	}
	p := &s.free[0]
	*p, s.free = v, s.free[1:]
	return p
}

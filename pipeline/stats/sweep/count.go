package sweep

import (
	"sort"

	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/transforms/period"
)

// counter counts what the three inputs count, a person at a time. Each
// walk worker has its own; add sums them.
type counter struct {
	from, to int
	within   int32
	rank     []uint16 // pair → place in (measure, source) order
	wide     bool     // more than 128 categories: no next_slots
	spanDays [2]int32 // the span's first and last day

	firsts map[firstKey]*firstAgg
	years  map[yearKey]int64
	ends   map[endKey]int64 // keys without padding, so that each hashes as one piece of memory

	// one person's (category, year) and (year, category) entries
	pys   []pyEntry
	pends []endKey
}

// firstKey is a year, a slot and bits for the three anniversaries (bit
// k-1: active k years after the first start), packed.
type firstKey uint64

func newFirstKey(year int, slot uint16, active uint8) firstKey {
	return firstKey(uint64(uint32(year))<<32 | uint64(slot)<<8 | uint64(active))
}

func (k firstKey) parts() (year int, slot int, active uint8) {
	return int(int32(uint32(k >> 32))), int(uint16(k >> 8)), uint8(k)
}

type firstAgg struct {
	persons int64
	last    int32
}

// yearKey is a slot, a year and a month-end mask, packed.
type yearKey uint64

func newYearKey(slot uint16, year int, monthEnds uint16) yearKey {
	return yearKey(uint64(slot)<<48 | uint64(uint32(year))<<16 | uint64(monthEnds))
}

func (k yearKey) parts() (slot, year, monthEnds int) {
	return int(uint16(k >> 48)), int(int32(uint32(k >> 16))), int(uint16(k))
}

// endKey is a year, a slot and whether re-entered (packed in head) and
// the slots started within the transition's days.
type endKey struct {
	head uint64
	next [2]uint64
}

// endHead packs a year and a slot; bit 0 is set for re-entered.
func endHead(year int, slot uint16) uint64 { return uint64(uint32(year))<<32 | uint64(slot)<<16 }

func (k endKey) parts() (year, slot int, reentered bool) {
	return int(int32(uint32(k.head >> 32))), int(uint16(k.head >> 16)), k.head&1 != 0
}

type pyEntry struct {
	slot uint16
	y    int32  // year of the span, from 0
	bits uint16 // month ends (bits 0–11) and activeBit
}

const activeBit = 1 << 12

func (c counter) fresh() *counter {
	c.spanDays = [2]int32{days(c.from, 1, 1), days(c.to, 12, 31)}
	c.firsts = map[firstKey]*firstAgg{}
	c.years = map[yearKey]int64{}
	c.ends = map[endKey]int64{}
	c.pys, c.pends = nil, nil
	return &c
}

// person counts one person's rows, sorted by start.
func (c *counter) person(rs []rec) {
	c.first(rs)
	c.personYears(rs)
	c.personEnds(rs)
}

// first counts the person in stats_firsts: the first participation (on a
// tie of days, the alphabetically first measure, then source, then
// category: the lower slot, as stats_categories numbers them in that order,
// a NULL last) and whether one of the person's participations covers each
// of its first three anniversaries.
func (c *counter) first(rs []rec) {
	f := 0
	for i := 1; i < len(rs) && rs[i].start == rs[0].start; i++ {
		if ri, rf := c.rank[rs[i].pair], c.rank[rs[f].pair]; ri < rf || ri == rf && rs[i].slot < rs[f].slot {
			f = i
		}
	}
	start := rs[f].start
	y := lake.YearOf(start)
	if y < c.from || y > c.to {
		return
	}
	var active uint8
	for k := 1; k <= 3; k++ {
		ann := addYears(start, k)
		for _, r := range rs {
			if r.start > ann {
				break
			}
			if r.end >= ann { // noEnd is above every day
				active |= 1 << (k - 1)
				break
			}
		}
	}
	key := newFirstKey(y, rs[f].slot, active)
	a := c.firsts[key]
	if a == nil {
		a = &firstAgg{last: start}
		c.firsts[key] = a
	}
	a.persons++
	a.last = max(a.last, start)
}

// personYears counts the person in stats_person_years: once per category
// and year of the span it was in a participation of, with the month ends
// of that year it was in one at. A month end counts from the month of the
// start to the month of the end, less that month when the end is before
// its last day.
func (c *counter) personYears(rs []rec) {
	spanStart, spanEnd := c.spanDays[0], c.spanDays[1]
	months := (c.to - c.from + 1) * 12
	c.pys = c.pys[:0]
	for _, r := range rs {
		if r.start > spanEnd {
			break // sorted by start
		}
		if r.end != noEnd && r.end < spanStart {
			continue
		}
		sy, sm, _ := civil(r.start)
		ya, ma := max(sy, c.from)-c.from, max((sy-c.from)*12+sm-1, 0)
		yb, mb := c.to-c.from, months-1
		if r.end != noEnd {
			ey, em, ed := civil(r.end)
			yb = min(ey, c.to) - c.from
			mb = (ey-c.from)*12 + em - 1
			if ed != period.DaysIn(ey, em) {
				mb--
			}
			mb = min(mb, months-1)
		}
		for y := ya; y <= yb; y++ {
			bits := uint16(activeBit)
			if lo, hi := max(ma, y*12), min(mb, y*12+11); lo <= hi {
				bits |= uint16((1<<(hi-lo+1))-1) << (lo - y*12)
			}
			c.addYear(r.slot, int32(y), bits)
		}
	}
	for _, e := range c.pys {
		c.years[newYearKey(e.slot, c.from+int(e.y), e.bits&^activeBit)]++
	}
}

func (c *counter) addYear(slot uint16, y int32, bits uint16) {
	for i := range c.pys {
		if e := &c.pys[i]; e.slot == slot && e.y == y {
			e.bits |= bits
			return
		}
	}
	c.pys = append(c.pys, pyEntry{slot: slot, y: y, bits: bits})
}

// personEnds counts the person in stats_ends: once per year of the span and
// category of a participation that ended in it, with whether one of the
// person's participations (any category) started 1 to 365 days after such
// an end and the categories of those that started 1 to within days after.
func (c *counter) personEnds(rs []rec) {
	c.pends = c.pends[:0]
	for _, r := range rs {
		if r.end == noEnd {
			continue
		}
		y := lake.YearOf(r.end)
		if y < c.from || y > c.to {
			continue
		}
		j := sort.Search(len(rs), func(k int) bool { return rs[k].start > r.end })
		key := endKey{head: endHead(y, r.slot)}
		if j < len(rs) && rs[j].start-r.end <= 365 {
			key.head |= 1
		}
		if !c.wide {
			for k := j; k < len(rs) && rs[k].start-r.end <= c.within; k++ {
				key.next[rs[k].slot/64] |= 1 << (rs[k].slot % 64)
			}
		}
		c.addEnd(key)
	}
	for _, k := range c.pends {
		c.ends[k]++
	}
}

func (c *counter) addEnd(k endKey) {
	for i := range c.pends {
		if e := &c.pends[i]; e.head>>16 == k.head>>16 {
			e.head |= k.head
			e.next[0] |= k.next[0]
			e.next[1] |= k.next[1]
			return
		}
	}
	c.pends = append(c.pends, k)
}

// add sums another worker's counts into c.
func (c *counter) add(o *counter) {
	for k, a := range o.firsts {
		b := c.firsts[k]
		if b == nil {
			b = &firstAgg{last: a.last}
			c.firsts[k] = b
		}
		b.persons += a.persons
		b.last = max(b.last, a.last)
	}
	for k, n := range o.years {
		c.years[k] += n
	}
	for k, n := range o.ends {
		c.ends[k] += n
	}
}

func (c *counter) result() *Result {
	res := &Result{NextSlotsNull: c.wide}
	for k, a := range c.firsts {
		year, slot, active := k.parts()
		res.Firsts = append(res.Firsts, First{
			Year: year, Slot: slot, Persons: a.persons, LastFirst: a.last,
			Active: [3]bool{active&1 != 0, active&2 != 0, active&4 != 0},
		})
	}
	for k, n := range c.years {
		slot, year, monthEnds := k.parts()
		res.PersonYears = append(res.PersonYears, PersonYear{Slot: slot, Year: year, MonthEnds: monthEnds, Persons: n})
	}
	for k, n := range c.ends {
		year, slot, reentered := k.parts()
		res.Ends = append(res.Ends, End{Year: year, Slot: slot, Reentered: reentered, NextSlots: k.next, Persons: n})
	}
	return res
}

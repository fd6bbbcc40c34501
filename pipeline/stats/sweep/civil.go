package sweep

import (
	"sync"

	"github.com/gallra/gallra/transforms/period"
)

// Dates here are the lake's: int32 days since 1970-01-01 (lake.Date). The
// pass turns millions of them into years and months, which time.Time does
// several times slower than a table lookup or the arithmetic below (the
// proleptic Gregorian calendar's civil-from-days, as in Howard Hinnant's
// "chrono-Compatible Low-Level Date Algorithms"; its inverse is
// period.DaysFromCivil).

// civil returns the year, month (1–12) and day (1–31) of day d.
func civil(d int32) (year, month, day int) {
	if i := d - tableFrom; i >= 0 && int(i) < len(table) {
		v := table[i]
		return int(v >> 9), int(v>>5) & 15, int(v) & 31
	}
	return civilOf(d)
}

// table holds civil's answer, year<<9 | month<<5 | day, for the days from
// 1900 to 2199 once loadTable has run: a lookup is several times faster
// than the arithmetic, and the pass asks for millions. It is built on the
// first Run, not when a program that imports the package starts.
var (
	tableFrom = days(1900, 1, 1)
	table     []uint32
	tableOnce sync.Once
)

// loadTable builds table. Run calls it before it starts any goroutine.
func loadTable() {
	tableOnce.Do(func() {
		t := make([]uint32, days(2200, 1, 1)-tableFrom)
		for i := range t {
			y, m, d := civilOf(tableFrom + int32(i))
			t[i] = uint32(y)<<9 | uint32(m)<<5 | uint32(d)
		}
		table = t
	})
}

// civilOf computes civil's answer.
func civilOf(d int32) (year, month, day int) {
	z := int64(d) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11], from March
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	year = int(yoe + era*400)
	if month <= 2 {
		year++
	}
	return year, month, day
}

// days returns the day of year, month (1–12) and day (1–31).
func days(year, month, day int) int32 { return int32(period.DaysFromCivil(year, month, day)) }

// addYears returns day d k years later as DuckDB's date + to_years(k)
// gives it: the same month and day, or the month's last day where the day
// does not exist (29 February + 1 year = 28 February).
func addYears(d int32, k int) int32 {
	y, m, dd := civil(d)
	y += k
	return days(y, m, min(dd, period.DaysIn(y, m)))
}

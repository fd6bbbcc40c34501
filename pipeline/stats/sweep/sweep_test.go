package sweep

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/testlake"
)

// civil and days agree with package time on every day from 1600 to 2400,
// inside the lookup table and outside it, and civilOf alone does too.
func TestCivilAgreesWithTime(t *testing.T) {
	loadTable()
	if len(table) == 0 {
		t.Fatal("no lookup table")
	}
	for d := days(1600, 1, 1); d < days(2400, 1, 1); d++ {
		want := time.Unix(int64(d)*86400, 0).UTC()
		y, m, dd := civil(d)
		if y != want.Year() || m != int(want.Month()) || dd != want.Day() {
			t.Fatalf("civil(%d) = %d-%d-%d, want %s", d, y, m, dd, want.Format(time.DateOnly))
		}
		if y2, m2, d2 := civilOf(d); y2 != y || m2 != m || d2 != dd {
			t.Fatalf("civilOf(%d) = %d-%d-%d, civil %d-%d-%d", d, y2, m2, d2, y, m, dd)
		}
		if back := days(y, m, dd); back != d {
			t.Fatalf("days(%d, %d, %d) = %d, want %d", y, m, dd, back, d)
		}
	}
}

// addYears is DuckDB's date + to_years(k): a day that does not exist in
// the later year becomes the month's last (time.AddDate would give 1 March).
func TestAddYears(t *testing.T) {
	for _, c := range []struct {
		from string
		k    int
		want string
	}{
		{"2020-02-29", 1, "2021-02-28"},
		{"2020-02-29", 4, "2024-02-29"},
		{"2019-03-01", 1, "2020-03-01"},
		{"2023-12-31", 3, "2026-12-31"},
		{"1999-01-15", 2, "2001-01-15"},
	} {
		from, _ := time.Parse(time.DateOnly, c.from)
		if got := lake.DateOf(addYears(lake.Date(from), c.k)).Format(time.DateOnly); got != c.want {
			t.Errorf("%s + %d years = %s, want %s", c.from, c.k, got, c.want)
		}
	}
}

// sorter puts each person's rows together in start order whatever the
// groups' sizes: here
// with many rows of few persons, so that groups pass the insertion sort's
// limit, and with persons spread wide.
func TestSortRecs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, persons := range []int{3, 50, 100000} {
		var recs []rec
		ids := make([][2]uint64, persons)
		for i := range ids {
			ids[i] = [2]uint64{rng.Uint64(), rng.Uint64()}
		}
		for range 200000 {
			p := ids[rng.IntN(persons)]
			recs = append(recs, rec{hi: p[0], lo: p[1], start: int32(rng.IntN(20000)), slot: uint16(rng.IntN(9))})
		}
		want := slices.Clone(recs)
		slices.SortStableFunc(want, func(a, b rec) int {
			return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo), cmp.Compare(a.start, b.start))
		})
		var srt sorter
		got := srt.sort(recs)
		// Each person's rows together and in start order (persons need not
		// be in any order), and a permutation of the input.
		seen := map[[2]uint64]bool{}
		for i := range got {
			p := [2]uint64{got[i].hi, got[i].lo}
			if i > 0 && p == [2]uint64{got[i-1].hi, got[i-1].lo} {
				if got[i].start < got[i-1].start {
					t.Fatalf("%d persons: record %d starts before record %d of the same person", persons, i, i-1)
				}
				continue
			}
			if seen[p] {
				t.Fatalf("%d persons: a person's rows are apart (record %d)", persons, i)
			}
			seen[p] = true
		}
		sortAll := func(rs []rec) []rec {
			rs = slices.Clone(rs)
			slices.SortFunc(rs, func(a, b rec) int {
				return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo), cmp.Compare(a.start, b.start), cmp.Compare(a.slot, b.slot))
			})
			return rs
		}
		if !slices.Equal(sortAll(got), sortAll(want)) {
			t.Fatalf("%d persons: sorting lost or changed records", persons)
		}
	}
}

// writeFiles writes rows to a new lake, a file per start year under
// source=<src>/, and returns their paths.
func writeFiles(t *testing.T, src string, rows []lake.Row) []string {
	t.Helper()
	parts := map[lake.Partition][]lake.Row{}
	for _, r := range rows {
		p := lake.Partition{Source: src, StartYear: lake.DateOf(r.PeriodStart).Year()}
		parts[p] = append(parts[p], r)
	}
	dir, files := testlake.WriteRows(t, "sweep-test", parts)
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(dir, filepath.FromSlash(f.Path)))
	}
	return paths
}

func day(s string) int32 {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return lake.Date(d)
}

func row(person byte, measure, start, end string) lake.Row {
	p := [16]byte{person, 1, 2, 3}
	r := lake.Row{Pseudonym: &p, KeyID: "gk1-00000000test0000", IDKind: lake.IDPersonnummer, Measure: measure,
		PeriodStart: day(start), RunID: "sweep-test"}
	r.RecordKey = [16]byte{person, byte(len(measure)), byte(r.PeriodStart), byte(r.PeriodStart >> 8)}
	if end != "" {
		e := day(end)
		r.PeriodEnd = &e
	}
	return r
}

// Two persons, counted by hand: the first in PRAKTIK 2024-01-10 to
// 2024-03-31 (month ends of January, February and March), then SFI from
// 2024-04-20, ongoing (a re-entry 20 days after the end, a transition within
// 30 days); the second in SFI from 2023-06-01 to 2024-02-29, a leap day and
// a month end, nothing after.
func TestRunCountsByHand(t *testing.T) {
	tmp := t.TempDir()
	files := writeFiles(t, "amea", []lake.Row{
		row(1, "PRAKTIK", "2024-01-10", "2024-03-31"),
		row(1, "SFI", "2024-04-20", ""),
		row(2, "SFI", "2023-06-01", "2024-02-29"),
	})
	res, err := Run(context.Background(), Options{
		Files: files, FromYear: 2024, ToYear: 2024, WithinDays: 30, By: "measure",
		Categories: []Category{{Name: "PRAKTIK"}, {Name: "SFI"}}, TempDir: tmp,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 {
		t.Errorf("read %d rows, want 3", res.Rows)
	}
	// The first person's first start is in the span; the second's is not.
	if want := []First{{Year: 2024, Slot: 0, Persons: 1, LastFirst: day("2024-01-10"), Active: [3]bool{true, true, true}}}; !slices.Equal(res.Firsts, want) {
		t.Errorf("firsts %+v, want %+v", res.Firsts, want)
	}
	slices.SortFunc(res.PersonYears, func(a, b PersonYear) int { return cmp.Compare(a.Slot*10000+a.MonthEnds, b.Slot*10000+b.MonthEnds) })
	wantYears := []PersonYear{
		{Slot: 0, Year: 2024, MonthEnds: 0b111, Persons: 1},            // PRAKTIK: January–March
		{Slot: 1, Year: 2024, MonthEnds: 0b11, Persons: 1},             // SFI, second person: January, February
		{Slot: 1, Year: 2024, MonthEnds: 0b1111_1111_1000, Persons: 1}, // SFI, first person: April–December
	}
	if !slices.Equal(res.PersonYears, wantYears) {
		t.Errorf("person years %+v, want %+v", res.PersonYears, wantYears)
	}
	slices.SortFunc(res.Ends, func(a, b End) int { return cmp.Compare(a.Slot, b.Slot) })
	wantEnds := []End{
		{Year: 2024, Slot: 0, Reentered: true, NextSlots: [2]uint64{0b10}, Persons: 1},
		{Year: 2024, Slot: 1, Persons: 1},
	}
	if !slices.Equal(res.Ends, wantEnds) {
		t.Errorf("ends %+v, want %+v", res.Ends, wantEnds)
	}
	// The bucket files are gone.
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}
}

// A file that is not Parquet, and a category not among those given (the
// lake changed since they were read), are errors that name the file; the
// pass leaves nothing behind.
func TestRunErrors(t *testing.T) {
	tmp := t.TempDir()
	good := writeFiles(t, "amea", []lake.Row{row(1, "PRAKTIK", "2024-01-10", "")})[0]
	bad := filepath.Join(filepath.Dir(good), "broken.parquet")
	if err := os.WriteFile(bad, []byte("not parquet"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{FromYear: 2024, ToYear: 2024, By: "measure", Categories: []Category{{Name: "PRAKTIK"}}, TempDir: tmp}
	for _, c := range []struct {
		files []string
		cats  []Category
		want  string
	}{
		{[]string{good, bad}, o.Categories, bad},
		{[]string{good}, []Category{{Name: "SFI"}}, `measure "PRAKTIK" is not among the breakdown's categories`},
	} {
		o.Files, o.Categories = c.files, c.cats
		_, err := Run(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want one that says %q", err, c.want)
		}
		if c.files[0] == good && len(c.files) == 1 && !strings.Contains(err.Error(), good) {
			t.Errorf("err = %v, want one that names %s", err, good)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o.Files, o.Categories = []string{good}, []Category{{Name: "PRAKTIK"}}
	if _, err := Run(ctx, o); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled pass: err = %v", err)
	}
}

// A bucket holds at most bucketRows rows up to the cap on open files.
func TestNumBuckets(t *testing.T) {
	for _, c := range []struct {
		rows int64
		want int
	}{{0, 64}, {64 * bucketRows, 64}, {64*bucketRows + 1, 128}, {200 * bucketRows, 256}, {1 << 40, 256}} {
		if got := numBuckets(c.rows); got != c.want {
			t.Errorf("numBuckets(%d) = %d, want %d", c.rows, got, c.want)
		}
	}
}

package merge

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/lake"
)

// commitBatch merges a prepared batch into the lake and publishes it.
func commitBatch(t *testing.T, dir, runID string, b *Batch) (*lake.Manifest, *Result) {
	t.Helper()
	base, err := lake.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := lake.NewWriter(dir, runID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(dir, base, b, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	staged, err := w.Stage()
	if err != nil {
		t.Fatal(err)
	}
	m, err := lake.Publish(dir, base, lake.Change{RunID: runID, Add: staged, Remove: res.Superseded})
	if err != nil {
		t.Fatal(err)
	}
	return m, res
}

// night makes one night's entries: new participations, later versions of
// earlier ones (end dates, corrected measures, start dates moved across
// years under a record ID) and repeats within the night.
func night(rng *rand.Rand, n, keys int) []Entry {
	measures := []string{"PRAKTIK", "SFI", "ARBETSTRANING", "LONEBIDRAG"}
	var out []Entry
	for range n {
		k := rng.IntN(keys)
		src := []string{"amea", "af", "uka"}[k%3]
		r := row(byte(k), measures[rng.IntN(len(measures))], day(2018+rng.IntN(8), time.Month(1+rng.IntN(12)), 1+rng.IntN(28)), nil)
		r.RecordKey = [16]byte{0xBB, byte(k >> 8), byte(k)}
		if rng.IntN(2) == 0 {
			r.PeriodEnd = ptr(r.PeriodStart + int32(rng.IntN(400)))
		}
		if rng.IntN(5) == 0 {
			r.Sex = ptr("K")
		}
		if rng.IntN(7) == 0 {
			r.Pseudonym, r.KeyID, r.IDKind = nil, "", "reserve"
		}
		out = append(out, Entry{Source: src, Row: r, ByRecordID: src == "af"})
	}
	return out
}

// TestSpillingBatchMergesLikeAnInMemoryOne runs the same nights through a
// batch that never spills and one that spills every few entries, and wants
// the same lake and the same statistics.
func TestSpillingBatchMergesLikeAnInMemoryOne(t *testing.T) {
	memDir, spillDir := t.TempDir(), t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 4 {
		entries := night(rng, 600, 300)
		mem := NewBatch()
		spill := NewSpillingBatch(filepath.Join(t.TempDir(), "spill"), 2000) // a few dozen entries per run
		for _, e := range entries {
			if err := mem.Add(e); err != nil {
				t.Fatal(err)
			}
			if err := spill.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		if len(spill.runs) < 5 {
			t.Fatalf("night %d: %d spilled runs; the test wants many", i, len(spill.runs))
		}
		runID := fmt.Sprintf("run%d", i)
		m1, res1 := commitBatch(t, memDir, runID, mem)
		m2, res2 := commitBatch(t, spillDir, runID, spill)
		if !reflect.DeepEqual(res1.Stats, res2.Stats) {
			t.Fatalf("night %d: stats differ:\nin memory %+v\nspilling  %+v", i, res1.Stats, res2.Stats)
		}
		c1, c2 := contents(t, memDir, m1), contents(t, spillDir, m2)
		if !reflect.DeepEqual(c1, c2) {
			t.Fatalf("night %d: lakes differ (%d and %d participations)", i, len(c1), len(c2))
		}
		for k, rs := range c1 {
			if len(rs) != 1 {
				t.Fatalf("night %d: record %x has %d rows", i, k, len(rs))
			}
		}
		if _, err := os.Stat(spill.dir); !os.IsNotExist(err) {
			t.Errorf("night %d: spill directory left behind after Close: %v", i, err)
		}
	}
}

// TestLaterVersionWinsAcrossSpilledRuns: the latest Add wins even when the
// versions lie in different runs and the latest moved to another year.
func TestLaterVersionWinsAcrossSpilledRuns(t *testing.T) {
	dir := t.TempDir()
	b := NewSpillingBatch(filepath.Join(t.TempDir(), "spill"), 1)
	first := row(1, "PRAKTIK", day(2023, 5, 1), nil)
	second := first
	second.PeriodStart = day(2024, 2, 1)
	second.Measure = "SFI"
	third := row(2, "SFI", day(2022, 1, 1), nil)
	for _, e := range []Entry{{Source: "af", Row: first, ByRecordID: true}, {Source: "af", Row: third, ByRecordID: true}, {Source: "af", Row: second, ByRecordID: true}} {
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.waitSpill(); err != nil { // the last run is written behind
		t.Fatal(err)
	}
	if len(b.runs) != 3 {
		t.Fatalf("%d runs, want one per entry", len(b.runs))
	}
	m, res := commitBatch(t, dir, "run1", b)
	rows := contents(t, dir, m)
	if got := rows[first.RecordKey]; len(got) != 1 || got[0].Measure != "SFI" || got[0].PeriodStart != second.PeriodStart {
		t.Fatalf("rows %+v: want only the last version", got)
	}
	if s := stat(res, "af", 2023); s != (Stats{}) {
		t.Errorf("2023 has stats %+v, but only a replaced version pointed there", s)
	}
}

// TestDiscardDropsOneFilesEntries: entries added after a mark disappear,
// spilled or not, and the versions they replaced come back.
func TestDiscardDropsOneFilesEntries(t *testing.T) {
	for _, budget := range []int64{0, 1, 300} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			dir := t.TempDir()
			var b *Batch
			if budget == 0 {
				b = NewBatch()
			} else {
				b = NewSpillingBatch(filepath.Join(t.TempDir(), "spill"), budget)
			}
			kept := row(1, "PRAKTIK", day(2024, 1, 1), nil)
			other := row(2, "SFI", day(2024, 3, 1), nil)
			b.Mark()
			b.Add(Entry{Source: "amea", Row: kept})
			b.Add(Entry{Source: "amea", Row: other})
			mark := b.Mark()
			replaced := kept
			replaced.PeriodEnd = ptr(day(2024, 6, 1))
			b.Add(Entry{Source: "amea", Row: replaced})
			b.Add(Entry{Source: "amea", Row: row(3, "SFI", day(2025, 1, 1), nil)})
			b.Add(Entry{Source: "uka", Row: row(4, "SFI", day(2025, 1, 1), nil)})
			b.Discard(mark)
			if b.Len() != 2 {
				t.Errorf("Len = %d after Discard, want 2", b.Len())
			}
			b.Mark()
			again := other
			again.Measure = "LONEBIDRAG"
			b.Add(Entry{Source: "amea", Row: again})
			m, _ := commitBatch(t, dir, "run1", b)
			rows := contents(t, dir, m)
			if len(rows) != 2 {
				t.Fatalf("%d participations, want 2", len(rows))
			}
			if got := rows[kept.RecordKey]; len(got) != 1 || got[0].PeriodEnd != nil {
				t.Errorf("kept = %+v: the discarded version must not win", got)
			}
			if got := rows[other.RecordKey]; len(got) != 1 || got[0].Measure != "LONEBIDRAG" {
				t.Errorf("other = %+v: the version added after the discard must win", got)
			}
		})
	}
}

// TestStoredFileOutOfKeyOrder: a partition written by another tool, in no
// particular order and with a key twice, is still merged right, and the
// rewritten file is in record key order.
func TestStoredFileOutOfKeyOrder(t *testing.T) {
	for _, spill := range []bool{false, true} {
		t.Run(fmt.Sprint("spill=", spill), func(t *testing.T) { testStoredOutOfOrder(t, spill) })
	}
}

func testStoredOutOfOrder(t *testing.T, spill bool) {
	dir := t.TempDir()
	w, err := lake.NewWriter(dir, "other")
	if err != nil {
		t.Fatal(err)
	}
	p := lake.Partition{Source: "amea", StartYear: 2024}
	var stored []lake.Row
	for i := 40; i > 0; i-- {
		r := row(byte(i), "PRAKTIK", day(2024, 1, 1+i%28), nil)
		stored = append(stored, r)
		if err := w.Write(p, r); err != nil {
			t.Fatal(err)
		}
	}
	dup := row(5, "SFI", day(2024, 2, 2), nil) // the same key as row 5, another tool's duplicate
	if err := w.Write(p, dup); err != nil {
		t.Fatal(err)
	}
	staged, err := w.Stage()
	if err != nil {
		t.Fatal(err)
	}
	base, err := lake.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lake.Publish(dir, base, lake.Change{RunID: "other", Add: staged}); err != nil {
		t.Fatal(err)
	}

	{
		upd := stored[10] // key 30
		upd.PeriodEnd = ptr(day(2024, 12, 1))
		var b *Batch
		if spill {
			b = NewSpillingBatch(filepath.Join(t.TempDir(), "spill"), 500)
		} else {
			b = NewBatch()
		}
		b.Add(Entry{Source: "amea", Row: upd})
		b.Add(Entry{Source: "amea", Row: stored[20]}) // unchanged
		b.Add(Entry{Source: "amea", Row: row(99, "SFI", day(2024, 5, 5), nil)})
		runID := fmt.Sprintf("run-%v", spill)
		m, res := commitBatch(t, dir, runID, b)
		if s := stat(res, "amea", 2024); s.Updated != 1 || s.Unchanged != 1 || s.Inserted != 1 || !s.Rewritten {
			t.Errorf("spill=%v: stats %+v", spill, s)
		}
		rows := contents(t, dir, m)
		if len(rows) != 41 {
			t.Errorf("spill=%v: %d participations, want 41", spill, len(rows))
		}
		if len(rows[dup.RecordKey]) != 2 {
			t.Errorf("spill=%v: the stored duplicate was lost: %d rows", spill, len(rows[dup.RecordKey]))
		}
		if got := rows[upd.RecordKey]; len(got) != 1 || got[0].PeriodEnd == nil {
			t.Errorf("spill=%v: update lost: %+v", spill, got)
		}
		var keys [][16]byte
		for _, f := range m.Files {
			lake.ReadFile(filepath.Join(dir, f.Path), func(r lake.Row) error {
				keys = append(keys, r.RecordKey)
				return nil
			})
		}
		if !slices.IsSortedFunc(keys, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) }) {
			t.Errorf("spill=%v: the rewritten file is not in record key order", spill)
		}
	}
}

// TestCodecCoversRow fills every field of lake.Row, including any added
// after this package was written, and wants it back unchanged from a record.
func TestCodecCoversRow(t *testing.T) {
	var r lake.Row
	v := reflect.ValueOf(&r).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		fill(t, v.Type().Field(i).Name, f, i)
	}
	tab := newStrtab()
	e := Entry{Source: "amea", Row: r, ByRecordID: true}
	rec := tab.encode(nil, 77, &e)
	got, seq, err := tab.decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	if seq != 77 || !reflect.DeepEqual(got, e) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, e)
	}
	h, err := head(rec)
	if err != nil || h.seq != 77 || h.key != r.RecordKey {
		t.Errorf("head = %+v, %v", h, err)
	}
	if _, _, err := tab.decode(rec[:len(rec)-1]); err == nil {
		t.Error("a truncated record decoded without error")
	}
}

func fill(t *testing.T, name string, f reflect.Value, i int) {
	if f.Kind() == reflect.Pointer {
		f.Set(reflect.New(f.Type().Elem()))
		f = f.Elem()
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(fmt.Sprintf("value-%d", i))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f.SetInt(int64(1000 + i))
	case reflect.Bool:
		f.SetBool(true)
	case reflect.Array:
		for j := range f.Len() {
			f.Index(j).SetUint(uint64(i + j + 1))
		}
	default:
		t.Fatalf("lake.Row.%s has kind %s, which merge's codec does not carry", name, f.Kind())
	}
}

// TestAddAtInterleavedMergesLikeAddInOrder: three files' entries added
// interleaved with AddAt (each file numbering its own range, held until
// settled, one file discarded after part of it spilled) merge into the same
// lake as the kept files' entries added one file after the other with Add.
func TestAddAtInterleavedMergesLikeAddInOrder(t *testing.T) {
	for _, budget := range []int64{0, 2000} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			files := [][]Entry{night(rng, 400, 150), night(rng, 400, 150), night(rng, 400, 150)}
			for f := range files {
				for i := range files[f] {
					k := &files[f][i].Row.RecordKey
					if f == 2 {
						k[0] = 0xCC // participations of its own: they mask nothing
					} else {
						// Files 0 and 1 send each participation once, the same
						// ones: the discarded file's versions must not replace
						// the kept file's, even where they meet in one run.
						k[1], k[2] = byte(i>>8), byte(i)
					}
				}
			}
			const discarded = 1
			seq := func(f, n int) uint64 { return uint64(f)<<40 | uint64(n) }

			inOrder := NewBatch()
			for f, es := range files {
				if f == discarded {
					continue
				}
				for _, e := range es {
					if err := inOrder.Add(e); err != nil {
						t.Fatal(err)
					}
				}
			}

			var b *Batch
			if budget == 0 {
				b = NewBatch()
			} else {
				b = NewSpillingBatch(filepath.Join(t.TempDir(), "spill"), budget)
			}
			for f := range files {
				b.Hold(seq(f, 0), seq(f+1, 0))
			}
			// The last file first, then the others, a few entries at a time.
			next := make([]int, len(files))
			order := []int{2, 2}
			for range 30 {
				order = append(order, 0, 1) // the same participations side by side
			}
			order = append(order, 2, 1, 0)
			for _, f := range order {
				for range 5 {
					if next[f] < len(files[f]) {
						if err := b.AddAt(seq(f, next[f]), files[f][next[f]]); err != nil {
							t.Fatal(err)
						}
						next[f]++
					}
				}
			}
			b.Release(seq(2, 0), seq(3, 0))
			for f := range files {
				for ; next[f] < len(files[f]); next[f]++ {
					if err := b.AddAt(seq(f, next[f]), files[f][next[f]]); err != nil {
						t.Fatal(err)
					}
				}
			}
			if budget > 0 && len(b.runs) < 5 {
				t.Fatalf("%d spilled runs; the test wants many", len(b.runs))
			}
			b.DiscardRange(seq(discarded, 0), seq(discarded+1, 0))
			b.Release(seq(0, 0), seq(1, 0))
			if b.Len() != inOrder.Len() {
				t.Errorf("Len = %d, want %d", b.Len(), inOrder.Len())
			}

			d1, d2 := t.TempDir(), t.TempDir()
			m1, res1 := commitBatch(t, d1, "run1", inOrder)
			m2, res2 := commitBatch(t, d2, "run1", b)
			if !reflect.DeepEqual(res1.Stats, res2.Stats) {
				t.Fatalf("stats differ:\nin order    %+v\ninterleaved %+v", res1.Stats, res2.Stats)
			}
			if c1, c2 := contents(t, d1, m1), contents(t, d2, m2); !reflect.DeepEqual(c1, c2) {
				t.Fatalf("lakes differ (%d and %d participations)", len(c1), len(c2))
			}
		})
	}
}

// TestRunReadBuffersStayWithinTheirShare: however many runs a night spills,
// their read buffers together stay within mergeReadMemory (or 4 KiB each
// past 2048 runs), so the merge's memory does not grow with the night.
func TestRunReadBuffersStayWithinTheirShare(t *testing.T) {
	for _, n := range []int{0, 1, 2, 30, 128, 129, 300, 2048, 5000} {
		size := runReadBuffer(n)
		if size < 4<<10 || size > 64<<10 {
			t.Errorf("%d runs: buffer %d outside 4-64 KiB", n, size)
		}
		if n*size > max(mergeReadMemory, n*(4<<10)) {
			t.Errorf("%d runs × %d bytes is more than %d", n, size, mergeReadMemory)
		}
	}
}

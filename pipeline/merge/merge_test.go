package merge

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/lake"
)

func day(y int, m time.Month, d int) int32 {
	return lake.Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

func ptr[T any](v T) *T { return &v }

func row(k byte, measure string, start int32, end *int32) lake.Row {
	p := [16]byte{0xAA, k}
	return lake.Row{Pseudonym: &p, KeyID: "gk1-0000000000000000", IDKind: "personnummer", Measure: measure,
		PeriodStart: start, PeriodEnd: end, RecordKey: [16]byte{0xBB, k}}
}

// commit merges a batch into the lake and publishes it, as a run does.
func commit(t *testing.T, dir, runID string, entries ...Entry) (*lake.Manifest, *Result) {
	t.Helper()
	base, err := lake.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch()
	for _, e := range entries {
		b.Add(e)
	}
	w, err := lake.NewWriter(dir, runID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(dir, base, b, w)
	if err != nil {
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

// contents reads every row of the lake, keyed by record key.
func contents(t *testing.T, dir string, m *lake.Manifest) map[[16]byte][]lake.Row {
	t.Helper()
	out := map[[16]byte][]lake.Row{}
	for _, f := range m.Files {
		err := lake.ReadFile(filepath.Join(dir, f.Path), func(r lake.Row) error {
			out[r.RecordKey] = append(out[r.RecordKey], r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func stat(res *Result, src string, year int) Stats {
	for _, s := range res.Stats {
		if s.Partition == (lake.Partition{Source: src, StartYear: year}) {
			return s
		}
	}
	return Stats{}
}

func TestUpsertKeepsHistoryAndRewritesOnlyChanges(t *testing.T) {
	dir := t.TempDir()
	a := row(1, "PRAKTIK", day(2023, 3, 1), ptr(day(2023, 6, 1)))
	b := row(2, "ARBETSTRANING", day(2024, 1, 10), nil)
	c := row(3, "SFI", day(2024, 2, 1), nil)
	m1, res := commit(t, dir, "run1", Entry{Source: "amea", Row: a}, Entry{Source: "amea", Row: b}, Entry{Source: "amea", Row: c})
	if s := stat(res, "amea", 2024); s.Inserted != 2 || !s.Rewritten {
		t.Fatalf("night 1, 2024: %+v", s)
	}
	file2023 := m1.PartitionFiles(lake.Partition{Source: "amea", StartYear: 2023})[0].Path

	// Night 2: a snapshot without A; B has ended; C is unchanged.
	b2 := b
	b2.PeriodEnd = ptr(day(2024, 5, 31))
	m2, res := commit(t, dir, "run2", Entry{Source: "amea", Row: b2}, Entry{Source: "amea", Row: c})
	s := stat(res, "amea", 2024)
	if s.Updated != 1 || s.Unchanged != 1 || s.Inserted != 0 || !s.Rewritten {
		t.Errorf("night 2, 2024: %+v", s)
	}
	if got := m2.PartitionFiles(lake.Partition{Source: "amea", StartYear: 2023}); len(got) != 1 || got[0].Path != file2023 {
		t.Errorf("the 2023 partition was rewritten though nothing in it changed: %v", got)
	}
	rows := contents(t, dir, m2)
	if len(rows) != 3 {
		t.Fatalf("lake holds %d participations, want 3 (A's history stays)", len(rows))
	}
	for k, rs := range rows {
		if len(rs) != 1 {
			t.Errorf("record %x has %d rows", k, len(rs))
		}
	}
	if got := rows[b.RecordKey][0]; got.PeriodEnd == nil || *got.PeriodEnd != *b2.PeriodEnd || got.RunID != "run2" {
		t.Errorf("B = %+v, want the end date from night 2, written by run2", got)
	}
	if got := rows[c.RecordKey][0]; got.RunID != "run1" {
		t.Errorf("C was rewritten by %s though unchanged", got.RunID)
	}

	// Night 3: the same snapshot again changes nothing at all.
	m3, res := commit(t, dir, "run3", Entry{Source: "amea", Row: b2}, Entry{Source: "amea", Row: c})
	if len(res.Superseded) != 0 || len(m3.Files) != len(m2.Files) {
		t.Errorf("an unchanged snapshot rewrote %v", res.Superseded)
	}
}

func TestLaterVersionWinsWithinABatch(t *testing.T) {
	dir := t.TempDir()
	first := row(1, "PRAKTIK", day(2024, 1, 1), nil)
	second := first
	second.PeriodEnd = ptr(day(2024, 2, 1))
	m, res := commit(t, dir, "run1", Entry{Source: "amea", Row: first}, Entry{Source: "amea", Row: second})
	rows := contents(t, dir, m)
	if got := rows[first.RecordKey]; len(got) != 1 || got[0].PeriodEnd == nil {
		t.Fatalf("rows %+v: want one, the later version", got)
	}
	if s := stat(res, "amea", 2024); s.Inserted != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestRecordIDMovesAcrossPartitions(t *testing.T) {
	dir := t.TempDir()
	r := row(7, "NYSTARTSJOBB", day(2023, 12, 15), nil)
	other := row(8, "LONEBIDRAG", day(2022, 5, 1), nil)
	commit(t, dir, "run1", Entry{Source: "af", Row: r, ByRecordID: true}, Entry{Source: "af", Row: other, ByRecordID: true})
	// The start date is corrected into 2024 and the measure too, same record ID.
	moved := r
	moved.PeriodStart = day(2024, 1, 8)
	moved.Measure = "LONEBIDRAG"
	m, res := commit(t, dir, "run2", Entry{Source: "af", Row: moved, ByRecordID: true})
	rows := contents(t, dir, m)
	if got := rows[r.RecordKey]; len(got) != 1 || got[0].PeriodStart != moved.PeriodStart || got[0].Measure != "LONEBIDRAG" {
		t.Fatalf("moved record: %+v", got)
	}
	if s := stat(res, "af", 2023); s.MovedOut != 1 || !s.Rewritten {
		t.Errorf("2023: %+v", s)
	}
	if s := stat(res, "af", 2024); s.Updated != 1 {
		t.Errorf("2024: %+v", s)
	}
	if _, ok := rows[other.RecordKey]; !ok {
		t.Error("an unrelated record of the source was lost")
	}
	var parts []string
	for _, p := range m.Partitions() {
		parts = append(parts, p.Dir())
	}
	sort.Strings(parts)
	if len(parts) != 2 || parts[0] != "source=af/start_year=2022" || parts[1] != "source=af/start_year=2024" {
		t.Errorf("partitions %v: the emptied 2023 partition must be gone", parts)
	}
}

func TestUnlinkedRowsMerge(t *testing.T) {
	dir := t.TempDir()
	r := row(9, "FERIEJOBB", day(2025, 6, 20), nil)
	r.Pseudonym, r.KeyID, r.IDKind = nil, "", "reserve"
	m, _ := commit(t, dir, "run1", Entry{Source: "uka", Row: r})
	m, res := commit(t, dir, "run2", Entry{Source: "uka", Row: r})
	if len(res.Superseded) != 0 || len(contents(t, dir, m)) != 1 {
		t.Errorf("an unchanged unlinked row was rewritten: %v", res.Superseded)
	}
}

// TestCodecStringsByMemory encodes entries whose strings share memory
// (one backing string, cut) and whose strings have their own, with many
// values of one length per field, and decodes them: every string must come
// back as it went in, whichever way idAt found its number.
func TestCodecStringsByMemory(t *testing.T) {
	var codes []string
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "%04d", i)
	}
	shared := b.String()
	for i := range 1000 {
		codes = append(codes, shared[i*4:i*4+4]) // one memory, many strings
	}
	tab := newStrtab()
	var recs [][]byte
	var want []Entry
	for i := range 5000 {
		m := codes[(i*7)%len(codes)]
		if i%3 == 0 {
			m = fmt.Sprintf("%04d", (i*11)%1000) // memory of its own
		}
		band := codes[(i*13)%len(codes)]
		e := Entry{Source: codes[i%5], Row: lake.Row{KeyID: "k", IDKind: lake.IDPersonnummer,
			Measure: codes[(i*17)%len(codes)], RunID: "r", Municipality: &m, AgeBand: &band}}
		e.Row.RecordKey[0] = byte(i)
		recs = append(recs, tab.encode(nil, uint64(i), &e))
		want = append(want, e)
	}
	for i, rec := range recs {
		got, seq, err := tab.decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if seq != uint64(i) || got.Source != w.Source || got.Row.Measure != w.Row.Measure ||
			*got.Row.Municipality != *w.Row.Municipality || *got.Row.AgeBand != *w.Row.AgeBand {
			t.Fatalf("entry %d came back as source %q measure %q municipality %q age band %q, want %q %q %q %q", i,
				got.Source, got.Row.Measure, *got.Row.Municipality, *got.Row.AgeBand,
				w.Source, w.Row.Measure, *w.Row.Municipality, *w.Row.AgeBand)
		}
	}
}

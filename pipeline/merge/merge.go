// Package merge folds a run's rows into the lake: an upsert by record key.
//
// Every lake row has a record key, a keyed hash of the participation's
// identity: the source's own record ID where the schema declares one, or
// else source + person + measure + period start. A later version of the
// same participation (an end date filled in, a corrected measure under the
// same record ID) replaces the earlier one; a participation that a later
// export no longer contains is kept, because the lake keeps history that
// the source systems cull. Within one run, a later file wins over an earlier
// one and a later line over an earlier line.
//
// Merging rewrites only the partitions it changes: a partition whose
// incoming rows all equal what it already holds is left alone, so a nightly
// full snapshot of an unchanged register writes nothing.
package merge

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/gallra/gallra/pipeline/lake"
)

// Entry is one incoming version of a participation.
type Entry struct {
	Source string
	Row    lake.Row
	// ByRecordID is set when the record key comes from the source's own
	// record ID: such a participation may move to another start year (its
	// start date corrected), so every partition of its source is searched
	// for its earlier version.
	ByRecordID bool
}

func (e *Entry) partition() lake.Partition {
	return lake.Partition{Source: e.Source, StartYear: lake.DateOf(e.Row.PeriodStart).Year()}
}

// Batch collects a run's entries; a later Add of the same record key
// replaces the earlier one.
type Batch struct {
	entries map[[16]byte]*state
	order   [][16]byte // first-seen order, for deterministic output
	movable map[string]bool
}

type state struct {
	Entry
	existed   bool // an earlier version was found in the lake
	unchanged bool // ... and it holds the same content: keep it as it is
}

// NewBatch returns an empty batch.
func NewBatch() *Batch {
	return &Batch{entries: map[[16]byte]*state{}, movable: map[string]bool{}}
}

// Add puts an entry into the batch, replacing any earlier entry with the same
// record key.
func (b *Batch) Add(e Entry) {
	k := e.Row.RecordKey
	if s, ok := b.entries[k]; ok {
		s.Entry = e
	} else {
		b.entries[k] = &state{Entry: e}
		b.order = append(b.order, k)
	}
	if e.ByRecordID {
		b.movable[e.Source] = true
	}
}

// Len is the number of distinct participations in the batch.
func (b *Batch) Len() int { return len(b.entries) }

// Stats counts what a merge did to one partition.
type Stats struct {
	Partition lake.Partition `json:"partition"`
	Inserted  int            `json:"inserted"`  // participations new to the lake
	Updated   int            `json:"updated"`   // participations whose stored version was replaced
	Unchanged int            `json:"unchanged"` // incoming rows equal to what was stored
	MovedOut  int            `json:"moved_out"` // rows that moved to another partition (start year corrected)
	Rewritten bool           `json:"rewritten"`
}

// Result is what Apply produced.
type Result struct {
	Superseded []string // data files replaced by new ones (paths relative to the lake)
	Stats      []Stats  // per partition the batch touched, in partition order
}

// Apply merges the batch into the lake described by base. It reads the
// stored rows of every partition the batch may touch and writes, through w,
// one new file for each partition that changes: its stored rows that the
// batch does not replace, then the batch's new and updated rows. The caller
// publishes w's staged files together with Result.Superseded.
func Apply(lakeDir string, base *lake.Manifest, b *Batch, w *lake.Writer) (*Result, error) {
	stats := map[lake.Partition]*Stats{}
	st := func(p lake.Partition) *Stats {
		if stats[p] == nil {
			stats[p] = &Stats{Partition: p}
		}
		return stats[p]
	}
	incoming := map[lake.Partition][][16]byte{}
	for _, k := range b.order {
		p := b.entries[k].partition()
		incoming[p] = append(incoming[p], k)
		st(p)
	}
	candidates := map[lake.Partition]bool{}
	for p := range incoming {
		candidates[p] = true
	}
	for _, p := range base.Partitions() {
		if b.movable[p.Source] {
			candidates[p] = true
		}
	}
	parts := sortedPartitions(candidates)

	// Pass 1: find the stored versions of incoming participations.
	for _, p := range parts {
		err := readPartition(lakeDir, base, p, func(r lake.Row) error {
			s, ok := b.entries[r.RecordKey]
			if !ok {
				return nil
			}
			s.existed = true
			if s.partition() == p && lake.SameContent(&r, &s.Row) {
				s.unchanged = true
			} else if s.partition() != p {
				st(p).MovedOut++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}

	// Pass 2: rewrite the partitions that change.
	res := &Result{}
	for _, p := range parts {
		s := st(p)
		for _, k := range incoming[p] {
			e := b.entries[k]
			switch {
			case e.unchanged:
				s.Unchanged++
			case e.existed:
				s.Updated++
			default:
				s.Inserted++
			}
		}
		if s.Inserted == 0 && s.Updated == 0 && s.MovedOut == 0 {
			if s.Unchanged == 0 {
				delete(stats, p) // searched for moved rows, none found
			}
			continue
		}
		s.Rewritten = true
		err := readPartition(lakeDir, base, p, func(r lake.Row) error {
			if e, ok := b.entries[r.RecordKey]; ok && !e.unchanged {
				return nil // replaced by the incoming version
			}
			return w.Write(p, r)
		})
		if err != nil {
			return nil, err
		}
		for _, k := range incoming[p] {
			if e := b.entries[k]; !e.unchanged {
				if err := w.Write(p, e.Row); err != nil {
					return nil, fmt.Errorf("merge: %s: %w", p, err)
				}
			}
		}
		for _, f := range base.PartitionFiles(p) {
			res.Superseded = append(res.Superseded, f.Path)
		}
	}
	for _, p := range sortedPartitions(keys(stats)) {
		res.Stats = append(res.Stats, *stats[p])
	}
	return res, nil
}

func readPartition(lakeDir string, base *lake.Manifest, p lake.Partition, fn func(lake.Row) error) error {
	for _, f := range base.PartitionFiles(p) {
		if err := lake.ReadFile(filepath.Join(lakeDir, filepath.FromSlash(f.Path)), fn); err != nil {
			return fmt.Errorf("merge: reading %s: %w", f.Path, err)
		}
	}
	return nil
}

func keys[V any](m map[lake.Partition]V) map[lake.Partition]bool {
	out := make(map[lake.Partition]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func sortedPartitions(m map[lake.Partition]bool) []lake.Partition {
	out := make([]lake.Partition, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b lake.Partition) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.StartYear, b.StartYear))
	})
	return out
}

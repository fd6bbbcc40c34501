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
//
// Memory stays bounded whatever the night's size: a Batch made by
// NewSpillingBatch writes its entries out as runs sorted by source and record
// key once it passes its budget, and Apply merges one source at a time by
// walking the runs and the stored partitions together in record key order
// (the files merge writes are in that order), so neither the night nor the
// lake is ever held whole.
package merge

import (
	"cmp"
	"errors"
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
	// PastRetention is set when the row's pseudonymised tier had already
	// ended on the run's reference date. Such an entry only updates a
	// version the lake still holds (an end date arriving for a participation
	// that retention will cull right after the night); with none stored it
	// is dropped, not inserted: it was culled before and a snapshot export
	// sent it again, and storing it would count it twice.
	PastRetention bool
}

func (e *Entry) partition() lake.Partition {
	return lake.Partition{Source: e.Source, StartYear: lake.YearOf(e.Row.PeriodStart)}
}

// Stats counts what a merge did to one partition.
type Stats struct {
	Partition lake.Partition `json:"partition"`
	Inserted  int            `json:"inserted"`  // participations new to the lake
	Updated   int            `json:"updated"`   // participations whose stored version was replaced
	Unchanged int            `json:"unchanged"` // incoming rows equal to what was stored
	MovedOut  int            `json:"moved_out"` // rows that moved to another partition (start year corrected)
	// Dropped counts incoming rows past retention with no stored version
	// (see Entry.PastRetention): not inserted.
	Dropped   int  `json:"dropped_past_retention,omitempty"`
	Rewritten bool `json:"rewritten"`
}

// Result is what Apply produced.
type Result struct {
	Superseded []string // data files replaced by new ones (paths relative to the lake)
	Stats      []Stats  // per partition the batch touched, in partition order
}

// Apply merges the batch into the lake described by base and writes, through
// w, one new file for each partition that changes: its stored rows that the
// batch does not replace and the batch's new and updated rows, in record key
// order. The caller publishes w's staged files together with
// Result.Superseded.
//
// Apply works one source at a time, in bounded memory: the batch's entries of
// the source (merged from its spilled runs) and the stored rows of the
// partitions they may touch are walked together in record key order. A first
// walk finds which partitions change; a second rewrites just those. Files
// that gallra wrote are in record key order already; a stored file that is
// not (written by another tool) is sorted once, through the batch's spill
// directory, and merged from there. Only partitions of the participation
// table itself are considered (a lake.Partition with any field besides
// Source and StartYear set belongs to another table).
func Apply(lakeDir string, base *lake.Manifest, b *Batch, w *lake.Writer) (*Result, error) {
	if err := b.prepare(); err != nil {
		return nil, err
	}
	aw := newAsyncWriter(w)
	defer aw.close()
	m := &applier{lakeDir: lakeDir, base: base, b: b, w: aw,
		stats:  map[lake.Partition]*Stats{},
		sorted: &sortedStored{budget: b.budget}}
	if b.dir != "" {
		m.sorted.dir = filepath.Join(b.dir, "stored")
	}
	defer m.sorted.close()
	baseParts := base.Partitions()
	res := &Result{}
	var rewritten []lake.Partition
	for _, src := range b.sources() {
		cands := map[lake.Partition]bool{}
		for _, p := range b.partitions(src) {
			cands[p] = true
		}
		if b.movable[src] {
			for _, p := range baseParts {
				if p.Source == src && plain(p) {
					cands[p] = true
				}
			}
		}
		parts := sortedPartitions(cands)
		var storedParts []lake.Partition
		for _, p := range parts {
			if len(base.PartitionFiles(p)) > 0 {
				storedParts = append(storedParts, p)
			}
		}
		changed, err := m.source(src, storedParts)
		if err != nil {
			return nil, err
		}
		rewritten = append(rewritten, changed...)
		// The source's files are complete: finish them while the next
		// source is merged, rather than all of them at the end.
		for _, p := range parts {
			if err := aw.Finish(p); err != nil {
				return nil, err
			}
		}
	}
	if err := aw.close(); err != nil {
		return nil, err
	}
	for _, p := range sortedPartitions(keys(m.stats)) {
		res.Stats = append(res.Stats, *m.stats[p])
	}
	slices.SortFunc(rewritten, comparePartitions)
	for _, p := range rewritten {
		for _, f := range base.PartitionFiles(p) {
			res.Superseded = append(res.Superseded, f.Path)
		}
	}
	return res, nil
}

// plain reports whether p is a partition of the participation table: no
// field set besides Source and StartYear.
func plain(p lake.Partition) bool {
	return p == lake.Partition{Source: p.Source, StartYear: p.StartYear}
}

type applier struct {
	lakeDir string
	base    *lake.Manifest
	b       *Batch
	w       *asyncWriter
	stats   map[lake.Partition]*Stats
	sorted  *sortedStored
}

// source merges one source's entries and returns the partitions it rewrote.
func (m *applier) source(src string, storedParts []lake.Partition) ([]lake.Partition, error) {
	stats := map[lake.Partition]*Stats{}
	// st is called for every entry, in record key order, so the partition
	// changes from one entry to the next; src's own partitions differ only
	// in their year, a cheaper map key than a Partition's two strings.
	byYear := map[int]*Stats{}
	st := func(p lake.Partition) *Stats {
		own := p.Source == src && plain(p)
		if own {
			if s := byYear[p.StartYear]; s != nil {
				return s
			}
		}
		s := stats[p]
		if s == nil {
			s = &Stats{Partition: p}
			stats[p] = s
		}
		if own {
			byYear[p.StartYear] = s
		}
		return s
	}
	commitStats := func() {
		for p, s := range stats {
			m.stats[p] = s
		}
	}

	if len(storedParts) == 0 {
		// Nothing stored to merge with: every entry is new.
		in, err := m.b.iter(src)
		if err != nil {
			return nil, err
		}
		defer in.close()
		for {
			e, ok, err := in.next()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			p := e.partition()
			s := st(p)
			if e.PastRetention {
				s.Dropped++
				continue
			}
			s.Inserted++
			s.Rewritten = true
			if err := m.w.Write(p, e.Row); err != nil {
				return nil, err
			}
		}
		commitStats()
		return nil, nil
	}

	// Pass 1: find what changes. A stored file found out of record key
	// order is sorted and the pass starts over.
	for {
		clear(stats)
		clear(byYear)
		in, err := m.b.iter(src)
		if err != nil {
			return nil, err
		}
		err = m.join(in, storedParts, func(e *Entry, vs []stored) error {
			if e == nil {
				return nil
			}
			p := e.partition()
			unchanged := false
			for i := range vs {
				v := &vs[i]
				if v.part == p && lake.SameContent(&v.row, &e.Row) {
					unchanged = true
				} else if v.part != p {
					st(v.part).MovedOut++
				}
			}
			s := st(p)
			switch {
			case unchanged:
				s.Unchanged++
			case len(vs) > 0:
				s.Updated++
			case e.PastRetention:
				s.Dropped++
			default:
				s.Inserted++
			}
			return nil
		})
		in.close()
		var ue *unsortedError
		if errors.As(err, &ue) {
			if m.sorted.sorters[ue.file] != nil {
				return nil, err // sorted and still out of order: a bug
			}
			if err := m.sorted.sort(ue.file, partitionOf(m, storedParts, ue.file)); err != nil {
				return nil, fmt.Errorf("merge: sorting %s: %w", ue.file, err)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	changed := map[lake.Partition]bool{}
	for p, s := range stats {
		if s.Inserted == 0 && s.Updated == 0 && s.MovedOut == 0 {
			if s.Unchanged == 0 && s.Dropped == 0 {
				delete(stats, p)
			}
			continue
		}
		s.Rewritten = true
		changed[p] = true
	}
	commitStats()
	if len(changed) == 0 {
		return nil, nil
	}

	// Pass 2: rewrite the partitions that change, reading only those.
	var readParts []lake.Partition
	for _, p := range storedParts {
		if changed[p] {
			readParts = append(readParts, p)
		}
	}
	in, err := m.b.iter(src)
	if err != nil {
		return nil, err
	}
	defer in.close()
	err = m.join(in, readParts, func(e *Entry, vs []stored) error {
		replace := false
		if e != nil && e.PastRetention && len(vs) == 0 {
			return nil // culled before and sent again: not stored
		}
		if e != nil && changed[e.partition()] {
			replace = true
			for i := range vs {
				if vs[i].part == e.partition() && lake.SameContent(&vs[i].row, &e.Row) {
					replace = false // unchanged: the stored version stays as it is
					break
				}
			}
		}
		if !replace {
			for i := range vs {
				if err := m.w.Write(vs[i].part, vs[i].row); err != nil {
					return err
				}
			}
			return nil
		}
		if err := m.w.Write(e.partition(), e.Row); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sortedPartitions(changed), nil
}

// partitionOf returns the partition of a stored file's path.
func partitionOf(m *applier, parts []lake.Partition, path string) lake.Partition {
	for _, p := range parts {
		for _, f := range m.base.PartitionFiles(p) {
			if filepath.Join(m.lakeDir, filepath.FromSlash(f.Path)) == path {
				return p
			}
		}
	}
	return lake.Partition{}
}

func keys[V any](m map[lake.Partition]V) map[lake.Partition]bool {
	out := make(map[lake.Partition]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func comparePartitions(a, b lake.Partition) int {
	return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.StartYear, b.StartYear))
}

func sortedPartitions(m map[lake.Partition]bool) []lake.Partition {
	out := make([]lake.Partition, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, comparePartitions)
	return out
}

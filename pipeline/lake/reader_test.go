package lake

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestReadFileKeepsRows writes realistic rows into files of several row
// groups and pages (page boundaries fall at different rows in each column),
// keeps every Row ReadFile hands over, and wants them equal to what was
// written, with no pseudonym or date pointer shared between two rows.
func TestReadFileKeepsRows(t *testing.T) {
	parts, rows := nightRows(120000)
	// Two partitions only, so files span many pages.
	for i := range parts {
		parts[i].Source, parts[i].StartYear = "amea", 2016+i%2
		rows[i].PeriodStart = day(parts[i].StartYear, 1, 1) + int32(i%365)
		if rows[i].PeriodEnd != nil {
			rows[i].PeriodEnd = ptr(rows[i].PeriodStart + int32(i%500))
		}
	}
	dir := t.TempDir()
	w, err := NewWriter(dir, "read", MaxRowsPerRowGroup(25000))
	if err != nil {
		t.Fatal(err)
	}
	want := map[Partition][]Row{}
	for i := range rows {
		if err := w.Write(parts[i], rows[i]); err != nil {
			t.Fatal(err)
		}
		r := deepCopy(rows[i])
		r.RunID = "read"
		want[parts[i]] = append(want[parts[i]], r)
	}
	files, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[any]bool{}
	strs := map[*string]string{}
	for _, f := range files {
		var got []Row
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := ReadFile(path, func(r Row) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if w := want[f.Partition]; len(got) != len(w) {
			t.Fatalf("%s: read %d rows, wrote %d", f.Path, len(got), len(w))
		}
		if n, err := FileRows(path); err != nil || n != int64(len(got)) {
			t.Fatalf("%s: FileRows = %d, %v; read %d", f.Path, n, err, len(got))
		}
		for i, r := range got {
			w := want[f.Partition][i]
			lu := (r.LinkableUntil == nil) == (w.LinkableUntil == nil) && (r.LinkableUntil == nil || *r.LinkableUntil == *w.LinkableUntil)
			if !rowsEqual(r, w) || !lu {
				t.Fatalf("%s row %d: read %+v, wrote %+v", f.Path, i, r, w)
			}
			// Pseudonyms and dates have pointers of their own; the strings
			// may be shared, but only between equal values.
			for _, p := range []any{r.Pseudonym, r.PeriodEnd, r.LinkableUntil} {
				switch p := p.(type) {
				case *[16]byte:
					if p == nil {
						continue
					}
				case *int32:
					if p == nil {
						continue
					}
				}
				if seen[p] {
					t.Fatalf("%s row %d: a pointer is shared with an earlier row", f.Path, i)
				}
				seen[p] = true
			}
			for _, p := range []*string{r.Sex, r.AgeBand, r.Municipality} {
				if p == nil {
					continue
				}
				if v, ok := strs[p]; ok && v != *p {
					t.Fatalf("%s row %d: a string pointer shared with an earlier row changed from %q to %q", f.Path, i, v, *p)
				}
				strs[p] = *p
			}
		}
	}

	// ReadFileColumns gives the columns asked for, as ReadFile does, and
	// zero for the others.
	cols := []string{"pseudonym", "measure", "period_end", "municipality"}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		i := 0
		err := ReadFileColumns(path, cols, func(r Row) error {
			w := want[f.Partition][i]
			proj := Row{Pseudonym: w.Pseudonym, Measure: w.Measure, PeriodEnd: w.PeriodEnd, Municipality: w.Municipality}
			if !rowsEqual(r, proj) || r.LinkableUntil != nil {
				t.Fatalf("%s row %d: read %+v of columns %v, want %+v", f.Path, i, r, cols, proj)
			}
			i++
			return nil
		})
		if err != nil || i != len(want[f.Partition]) {
			t.Fatalf("%s: ReadFileColumns read %d rows, err %v", f.Path, i, err)
		}
	}
	if err := ReadFileColumns(filepath.Join(dir, filepath.FromSlash(files[0].Path)), []string{"nickname"}, func(Row) error { return nil }); err == nil {
		t.Error("ReadFileColumns of a column the lake does not have: no error")
	}

	// An error from the callback stops the read and comes back as is.
	stop := errors.New("enough")
	n := 0
	err = ReadFile(filepath.Join(dir, filepath.FromSlash(files[0].Path)), func(Row) error {
		n++
		if n == 30000 {
			return stop
		}
		return nil
	})
	if err != stop || n != 30000 {
		t.Errorf("callback error: got %v after %d rows, want %v after 30000", err, n, stop)
	}
}

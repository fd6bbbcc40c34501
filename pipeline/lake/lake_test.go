package lake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

func ptr[T any](v T) *T { return &v }

// key returns a non-zero 16-byte value derived from i.
func key(tag byte, i int) [16]byte {
	var k [16]byte
	k[0] = tag
	k[12], k[13], k[14], k[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	return k
}

func day(y int, m time.Month, d int) int32 {
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

func testRow(year, i int) Row {
	p := key(0xA0, i)
	return Row{
		Pseudonym:   &p,
		KeyID:       "gk1-0123456789abcdef",
		IDKind:      IDPersonnummer,
		Measure:     "M01",
		PeriodStart: day(year, time.March, 1+i%28),
		RecordKey:   key(0xB0, i),
	}
}

// parquetFiles lists the files a reader glob '**/*.parquet' would match.
func parquetFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDate(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		days int32
	}{
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC), -1},
		{time.Date(1999, 12, 31, 12, 0, 0, 0, time.UTC), 10956},
		{time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC), 11016},
		{time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC), 19797},
		// The calendar date in t's own location counts, not the UTC instant.
		{time.Date(2024, 3, 15, 0, 30, 0, 0, time.FixedZone("CET", 3600)), 19797},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), -25567},
	} {
		if got := Date(c.t); got != c.days {
			t.Errorf("Date(%v) = %d, want %d", c.t, got, c.days)
		}
		y, m, d := c.t.Date()
		if got := DateOf(c.days); !got.Equal(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("DateOf(%d) = %v, want %d-%02d-%02d", c.days, got, y, m, d)
		}
	}
}

func TestPartition(t *testing.T) {
	for _, c := range []struct {
		p   Partition
		dir string
	}{
		{Partition{Source: "amea_jkpg", StartYear: 2024}, "source=amea_jkpg/start_year=2024"},
		{Partition{Source: "uka", StartYear: 2019, Table: TableAnonymised}, "anonymised/source=uka/start_year=2019"},
		{Partition{StartYear: 2021, Table: TableAggregates}, "aggregates/year=2021"},
	} {
		if got := c.p.Dir(); got != c.dir {
			t.Errorf("Dir() = %q, want %q", got, c.dir)
		}
		q, err := ParsePartition(c.dir)
		if err != nil || q != c.p {
			t.Errorf("ParsePartition(%q) = %+v, %v", c.dir, q, err)
		}
	}
	for _, bad := range []Partition{
		{Source: ""}, {Source: "AMEA"}, {Source: "a-b"}, {Source: "a/b"}, {Source: ".."},
		{Source: strings.Repeat("a", 65)}, {Source: "amea", StartYear: 999}, {Source: "amea", StartYear: 10000},
		{Source: "amea", StartYear: 2024, Table: "other"}, {Source: "amea", StartYear: 2024, Table: TableAggregates},
		{StartYear: 2024, Table: TableAnonymised}, {StartYear: 999, Table: TableAggregates},
	} {
		if bad.StartYear == 0 {
			bad.StartYear = 2024
		}
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want error", bad)
		}
	}
	for _, bad := range []string{"source=a", "source=a/start_year=24", "src=a/start_year=2024", "source=A/start_year=2024",
		"anonymised/source=a", "aggregates/year=24", "aggregates/source=a/start_year=2024", "other/source=a/start_year=2024", "aggregates/year=2024/x"} {
		if _, err := ParsePartition(bad); err == nil {
			t.Errorf("ParsePartition(%q) = nil error", bad)
		}
	}
}

func TestWriteRejects(t *testing.T) {
	lakeDir := t.TempDir()
	w, err := NewWriter(lakeDir, "r1")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	p := Partition{Source: "src", StartYear: 2024}
	zero := [16]byte{}
	for _, c := range []struct {
		field, reason string
		edit          func(*Row)
	}{
		{"pseudonym", "zero", func(r *Row) { r.Pseudonym = &zero }},
		{"key_id", "missing", func(r *Row) { r.KeyID = "" }},
		{"id_kind", "unknown", func(r *Row) { r.IDKind = "passport" }},
		{"id_kind", "missing", func(r *Row) { r.IDKind = "" }},
		{"measure", "missing", func(r *Row) { r.Measure = "" }},
		{"period_start", "not_in_partition_year", func(r *Row) { r.PeriodStart = day(2023, 12, 31) }},
		{"period_end", "before_start", func(r *Row) { r.PeriodEnd = ptr(r.PeriodStart - 1) }},
		{"sex", "not_K_or_M", func(r *Row) { r.Sex = ptr("X") }},
		{"age_band", "empty", func(r *Row) { r.AgeBand = ptr("") }},
		{"municipality", "not_4_digits", func(r *Row) { r.Municipality = ptr("0680x") }},
		{"record_key", "zero", func(r *Row) { r.RecordKey = [16]byte{} }},
	} {
		r := testRow(2024, 1)
		c.edit(&r)
		err := w.Write(p, r)
		var re *RowError
		if !errors.As(err, &re) || re.Field != c.field || re.Reason != c.reason {
			t.Errorf("%s/%s: got %v", c.field, c.reason, err)
		}
	}
	if err := w.Write(Partition{Source: "Bad", StartYear: 2024}, testRow(2024, 1)); err == nil {
		t.Error("invalid partition accepted")
	}
	// An unlinked row needs no key ID; rejected rows left the writer usable.
	r := testRow(2024, 2)
	r.Pseudonym, r.KeyID = nil, ""
	if err := w.Write(p, r); err != nil {
		t.Fatalf("unlinked row: %v", err)
	}
	files, err := w.Commit()
	if err != nil || len(files) != 1 || files[0].Rows != 1 {
		t.Fatalf("Commit() = %+v, %v; want one file of one row", files, err)
	}
	if err := w.Write(p, testRow(2024, 3)); err == nil {
		t.Error("Write after Commit succeeded")
	}
}

func TestBadRunID(t *testing.T) {
	for _, id := range []string{"", "a/b", "..", ".x", "a b", strings.Repeat("x", 129)} {
		if _, err := NewWriter(t.TempDir(), id); err == nil {
			t.Errorf("NewWriter(run ID %q) succeeded", id)
		}
	}
}

// TestRoundTrip writes rows into several partitions, commits, and reads every
// file back with parquet-go: values, paths, sizes and hashes must match.
func TestRoundTrip(t *testing.T) {
	lakeDir := t.TempDir()
	w, err := NewWriter(lakeDir, "20240315T010203Z-ab12", MaxOpenFiles(2))
	if err != nil {
		t.Fatal(err)
	}
	want := map[Partition][]Row{}
	// Alternate blocks of rows between three partitions with room for two
	// open files: the writer has to finish files early and start new ones.
	parts := []Partition{{Source: "amea", StartYear: 2023}, {Source: "amea", StartYear: 2024}, {Source: "aksel", StartYear: 2024}}
	var scratch struct {
		pseudonym [16]byte
		end       int32
		sex       string
	}
	for i := range 3000 {
		p := parts[i/100%3]
		r := testRow(p.StartYear, i)
		if i%7 == 0 {
			r.Pseudonym, r.KeyID, r.IDKind = nil, "", IDReserve
		}
		if i%5 == 0 {
			r.PeriodEnd = ptr(r.PeriodStart + int32(i%400))
			r.Sex, r.AgeBand, r.Municipality = ptr("K"), ptr("20-24"), ptr("0680")
		}
		// The writer must copy what r points to: reuse one set of variables
		// for every row, as a streaming caller does.
		want[p] = append(want[p], deepCopy(r))
		scratch.pseudonym, scratch.end, scratch.sex = [16]byte{}, 0, ""
		if r.Pseudonym != nil {
			scratch.pseudonym, r.Pseudonym = *r.Pseudonym, &scratch.pseudonym
		}
		if r.PeriodEnd != nil {
			scratch.end, r.PeriodEnd = *r.PeriodEnd, &scratch.end
		}
		if r.Sex != nil {
			scratch.sex, r.Sex = *r.Sex, &scratch.sex
		}
		if err := w.Write(p, r); err != nil {
			t.Fatal(err)
		}
		scratch.pseudonym, scratch.end, scratch.sex = [16]byte{0xFF}, -1, "M"
		want[p][len(want[p])-1].RunID = w.RunID()
	}
	files, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("got %d files, want more than one per partition with MaxOpenFiles(2)", len(files))
	}
	if got := parquetFiles(t, lakeDir); len(got) != len(files) {
		t.Fatalf("lake holds %d parquet files, Commit reported %d", len(got), len(files))
	}
	if _, err := os.Stat(filepath.Join(lakeDir, StagingDir, w.RunID())); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging directory left after Commit: %v", err)
	}

	got := map[Partition][]Row{}
	for _, fi := range files {
		if dir := fi.Partition.Dir() + "/part-" + w.RunID() + "-"; !strings.HasPrefix(fi.Path, dir) || !strings.HasSuffix(fi.Path, ".parquet") {
			t.Errorf("file path %q, want %s<n>.parquet", fi.Path, dir)
		}
		full := filepath.Join(lakeDir, filepath.FromSlash(fi.Path))
		data, err := os.ReadFile(full)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if fi.SHA256 != hex.EncodeToString(sum[:]) || fi.Bytes != int64(len(data)) {
			t.Errorf("%s: FileInfo says %d bytes sha256 %s; file has %d bytes sha256 %x", fi.Path, fi.Bytes, fi.SHA256, len(data), sum)
		}
		rows := readRows(t, full)
		if int64(len(rows)) != fi.Rows {
			t.Errorf("%s: %d rows, FileInfo says %d", fi.Path, len(rows), fi.Rows)
		}
		got[fi.Partition] = append(got[fi.Partition], rows...)
	}
	for _, p := range parts {
		if len(got[p]) != len(want[p]) {
			t.Fatalf("%s: read %d rows, wrote %d", p, len(got[p]), len(want[p]))
		}
		for i := range want[p] {
			if !rowsEqual(got[p][i], want[p][i]) {
				t.Fatalf("%s row %d: read %+v, wrote %+v", p, i, got[p][i], want[p][i])
			}
		}
	}
}

// readRows reads a lake file back value by value, without parquet-go's
// struct mapping, so that a null is told apart from a zero value.
func readRows(t *testing.T, path string) []Row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range pf.Schema().Columns() {
		col[c[0]] = i
	}
	var out []Row
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rr.ReadRows(buf)
			for _, pr := range buf[:n] {
				v := func(name string) parquet.Value { return pr[col[name]] }
				str := func(name string) *string {
					if v(name).IsNull() {
						return nil
					}
					return ptr(string(v(name).ByteArray()))
				}
				r := Row{
					IDKind:      v("id_kind").String(),
					Measure:     v("measure").String(),
					PeriodStart: v("period_start").Int32(),
					RecordKey:   [16]byte(v("record_key").ByteArray()),
					RunID:       v("run_id").String(),
					Sex:         str("sex"), AgeBand: str("age_band"), Municipality: str("municipality"),
				}
				if !v("pseudonym").IsNull() {
					r.Pseudonym = ptr([16]byte(v("pseudonym").ByteArray()))
				}
				if k := str("key_id"); k != nil {
					if *k == "" {
						t.Errorf("%s: key_id stored as an empty string, want null", path)
					}
					r.KeyID = *k
				}
				if !v("period_end").IsNull() {
					r.PeriodEnd = ptr(v("period_end").Int32())
				}
				out = append(out, r)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		rr.Close()
	}
	return out
}

func deepCopy(r Row) Row {
	if r.Pseudonym != nil {
		r.Pseudonym = ptr(*r.Pseudonym)
	}
	if r.PeriodEnd != nil {
		r.PeriodEnd = ptr(*r.PeriodEnd)
	}
	for _, p := range []**string{&r.Sex, &r.AgeBand, &r.Municipality} {
		if *p != nil {
			*p = ptr(**p)
		}
	}
	return r
}

func rowsEqual(a, b Row) bool {
	eqp := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return (a.Pseudonym == nil) == (b.Pseudonym == nil) && (a.Pseudonym == nil || *a.Pseudonym == *b.Pseudonym) &&
		a.KeyID == b.KeyID && a.IDKind == b.IDKind && a.Measure == b.Measure &&
		a.PeriodStart == b.PeriodStart &&
		(a.PeriodEnd == nil) == (b.PeriodEnd == nil) && (a.PeriodEnd == nil || *a.PeriodEnd == *b.PeriodEnd) &&
		eqp(a.Sex, b.Sex) && eqp(a.AgeBand, b.AgeBand) && eqp(a.Municipality, b.Municipality) &&
		a.RecordKey == b.RecordKey && a.RunID == b.RunID
}

// TestFileMetadata checks the Parquet footer: schema and logical types, zstd
// on every column, dictionary encoding where declared, statistics, and row
// groups bounded by MaxRowsPerRowGroup.
func TestFileMetadata(t *testing.T) {
	lakeDir := t.TempDir()
	const cap, n = 1000, 4321
	w, err := NewWriter(lakeDir, "meta", MaxRowsPerRowGroup(cap))
	if err != nil {
		t.Fatal(err)
	}
	p := Partition{Source: "src", StartYear: 2000}
	for i := range n {
		r := testRow(2000, i)
		if i%2 == 0 {
			r.Pseudonym, r.KeyID = nil, ""
			r.Sex = ptr("M")
		}
		if err := w.Write(p, r); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("got %d files, want 1", len(files))
	}
	f, err := os.Open(filepath.Join(lakeDir, files[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}

	wantSchema := map[string]string{
		"pseudonym":      "optional fixed_len_byte_array(16) pseudonym (UUID)",
		"key_id":         "optional binary key_id (STRING)",
		"id_kind":        "required binary id_kind (STRING)",
		"measure":        "required binary measure (STRING)",
		"period_start":   "required int32 period_start (DATE)",
		"period_end":     "optional int32 period_end (DATE)",
		"sex":            "optional binary sex (STRING)",
		"age_band":       "optional binary age_band (STRING)",
		"municipality":   "optional binary municipality (STRING)",
		"record_key":     "required fixed_len_byte_array(16) record_key (UUID)",
		"run_id":         "required binary run_id (STRING)",
		"linkable_until": "optional int32 linkable_until (DATE)",
	}
	schema := pf.Schema().String()
	for _, line := range wantSchema {
		if !strings.Contains(schema, line+";") {
			t.Errorf("schema lacks %q:\n%s", line, schema)
		}
	}
	for i, c := range pf.Schema().Fields() {
		if c.Name() != Columns[i] {
			t.Errorf("column %d is %q, want %q", i, c.Name(), Columns[i])
		}
	}

	md := pf.Metadata()
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if md.NumRows != n {
		t.Errorf("file has %d rows, want %d", md.NumRows, n)
	}
	if got, want := len(md.RowGroups), (n+cap-1)/cap; got != want {
		t.Errorf("%d row groups, want %d", got, want)
	}
	dict := map[string]bool{"key_id": true, "id_kind": true, "measure": true, "sex": true, "age_band": true, "municipality": true, "run_id": true}
	for g, rg := range md.RowGroups {
		if rg.NumRows > cap {
			t.Errorf("row group %d has %d rows, cap %d", g, rg.NumRows, cap)
		}
		for _, cc := range rg.Columns {
			m := cc.MetaData
			name := strings.Join(m.PathInSchema, ".")
			if m.Codec != format.Zstd {
				t.Errorf("row group %d column %s: codec %v, want ZSTD", g, name, m.Codec)
			}
			if m.Statistics.MinValue == nil || m.Statistics.MaxValue == nil {
				if name != "age_band" && name != "municipality" && name != "period_end" && name != "linkable_until" { // all null here
					t.Errorf("row group %d column %s: no min/max statistics", g, name)
				}
			}
			hasDict := m.DictionaryPageOffset != 0 || containsEncoding(m.Encoding, format.RLEDictionary)
			if dict[name] != hasDict {
				t.Errorf("row group %d column %s: dictionary encoding %v, want %v", g, name, hasDict, dict[name])
			}
		}
		// Statistics live in the column chunk and the column index, not
		// in the data page headers (see the DataPageStatistics option).
		for _, cc := range rg.Columns {
			m := cc.MetaData
			var h format.PageHeader
			r := new(thrift.CompactProtocol).NewReader(bytes.NewReader(data[m.DataPageOffset:]))
			if err := thrift.NewDecoder(r).Decode(&h); err != nil {
				t.Fatalf("row group %d column %s: data page header: %v", g, m.PathInSchema[0], err)
			}
			if !h.DataPageHeaderV2.Valid {
				t.Errorf("row group %d column %s: first data page is not v2", g, m.PathInSchema[0])
			} else if st := h.DataPageHeaderV2.V.Statistics; st.MinValue != nil || st.MaxValue != nil {
				t.Errorf("row group %d column %s: data page header carries statistics", g, m.PathInSchema[0])
			}
		}
		// Null counts: exactly the unlinked rows, all period_end.
		nulls := map[string]int64{}
		for _, cc := range rg.Columns {
			nulls[cc.MetaData.PathInSchema[0]] = cc.MetaData.Statistics.NullCount
		}
		wantNull := int64(0) // rows with an even index are unlinked
		for i := int64(g) * cap; i < int64(g)*cap+rg.NumRows; i++ {
			if i%2 == 0 {
				wantNull++
			}
		}
		if nulls["period_end"] != rg.NumRows || nulls["pseudonym"] != wantNull || nulls["key_id"] != wantNull || nulls["record_key"] != 0 {
			t.Errorf("row group %d: null counts %v", g, nulls)
		}
	}
}

// TestBufferedRowsBound writes rows alternating between four partitions with a
// small MaxBufferedRows: row groups end early, and no row group exceeds it.
func TestBufferedRowsBound(t *testing.T) {
	lakeDir := t.TempDir()
	const budget, n = 100, 4000
	w, err := NewWriter(lakeDir, "budget", MaxBufferedRows(budget))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		p := Partition{Source: "src", StartYear: 2020 + i%4}
		if err := w.Write(p, testRow(p.StartYear, i)); err != nil {
			t.Fatal(err)
		}
		if w.inRG > budget {
			t.Fatalf("after row %d the writer holds %d unfinished rows, bound %d", i, w.inRG, budget)
		}
	}
	files, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("got %d files, want 4", len(files))
	}
	var total int64
	for _, fi := range files {
		f, err := os.Open(filepath.Join(lakeDir, fi.Path))
		if err != nil {
			t.Fatal(err)
		}
		pf, err := parquet.OpenFile(f, fi.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		rgs := pf.Metadata().RowGroups
		if len(rgs) < 2 {
			t.Errorf("%s: %d row groups, want the bound to split them", fi.Path, len(rgs))
		}
		for _, rg := range rgs {
			if rg.NumRows > budget {
				t.Errorf("%s: row group of %d rows, bound %d", fi.Path, rg.NumRows, budget)
			}
			total += rg.NumRows
		}
		f.Close()
	}
	if total != n {
		t.Errorf("files hold %d rows, wrote %d", total, n)
	}
}

func containsEncoding(encs []format.Encoding, e format.Encoding) bool {
	for _, x := range encs {
		if x == e {
			return true
		}
	}
	return false
}

// TestStagingInvisible checks that nothing a reader glob matches exists before
// Commit, that Abort and CleanStaging leave nothing, and that a committed file
// is never replaced.
func TestStagingInvisible(t *testing.T) {
	lakeDir := t.TempDir()
	p := Partition{Source: "src", StartYear: 2024}

	w, err := NewWriter(lakeDir, "run1", MaxRowsPerRowGroup(10))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 { // several row groups already flushed to the staged file
		if err := w.Write(p, testRow(2024, i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := parquetFiles(t, lakeDir); len(got) != 0 {
		t.Fatalf("before Commit a reader sees %v", got)
	}
	if _, err := NewWriter(lakeDir, "run1"); err == nil {
		t.Fatal("second writer with the same run ID succeeded")
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	assertOnlyEmptyStaging(t, lakeDir)

	// A crashed run leaves staged files; CleanStaging removes them.
	crashed, err := NewWriter(lakeDir, "crashed")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := crashed.Write(p, testRow(2024, i)); err != nil {
			t.Fatal(err)
		}
	}
	crashed.finish(crashed.open[p]) // a finished but never committed file
	if ents, _ := os.ReadDir(filepath.Join(lakeDir, StagingDir, "crashed")); len(ents) != 1 {
		t.Fatalf("crashed run staged %d files, want 1", len(ents))
	}
	if err := CleanStaging(lakeDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(lakeDir, StagingDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("CleanStaging left %s: %v", StagingDir, err)
	}

	// Commit makes exactly the written files visible; the same run ID cannot
	// replace them later.
	for round := range 2 {
		w, err := NewWriter(lakeDir, "run2")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(p, testRow(2024, 1)); err != nil {
			t.Fatal(err)
		}
		files, err := w.Commit()
		if round == 0 {
			if err != nil || len(files) != 1 || len(parquetFiles(t, lakeDir)) != 1 {
				t.Fatalf("Commit() = %v, %v; lake has %d files", files, err, len(parquetFiles(t, lakeDir)))
			}
			continue
		}
		if err == nil {
			t.Fatal("Commit replaced an existing lake file")
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
	}
	if got := parquetFiles(t, lakeDir); len(got) != 1 {
		t.Fatalf("lake has %d files, want 1", len(got))
	}
}

func assertOnlyEmptyStaging(t *testing.T, lakeDir string) {
	t.Helper()
	err := filepath.WalkDir(lakeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != lakeDir && p != filepath.Join(lakeDir, StagingDir) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEmptyCommit(t *testing.T) {
	lakeDir := t.TempDir()
	w, err := NewWriter(lakeDir, "empty")
	if err != nil {
		t.Fatal(err)
	}
	files, err := w.Commit()
	if err != nil || len(files) != 0 {
		t.Fatalf("Commit() = %v, %v", files, err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	assertOnlyEmptyStaging(t, lakeDir)
}

// BenchmarkWrite writes 1M rows into one partition and reports rows/s.
func BenchmarkWrite(b *testing.B) {
	const n = 1 << 20
	rows := make([]Row, 4096)
	for i := range rows {
		rows[i] = testRow(2024, i)
		if i%3 == 0 {
			rows[i].Sex, rows[i].AgeBand, rows[i].Municipality = ptr("K"), ptr("25-29"), ptr("0180")
			rows[i].PeriodEnd = ptr(rows[i].PeriodStart + 90)
		}
	}
	p := Partition{Source: "bench", StartYear: 2024}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		dir := b.TempDir()
		w, err := NewWriter(dir, "bench"+string(rune('a'+i%26)))
		if err != nil {
			b.Fatal(err)
		}
		for j := range n {
			r := rows[j%len(rows)]
			r.RecordKey = key(0xB0, j)
			if err := w.Write(p, r); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestNullsAfterValue guards against parquet-go v0.32's batch writer for
// "optional" non-pointer fields, which stores the nulls of the pattern
// null, value, null, null as zero values.
func TestNullsAfterValue(t *testing.T) {
	lakeDir := t.TempDir()
	w, err := NewWriter(lakeDir, "nulls")
	if err != nil {
		t.Fatal(err)
	}
	p := Partition{Source: "src", StartYear: 2024}
	linked := []bool{false, true, false, false, true, true, false, false, false}
	for i, l := range linked {
		r := testRow(2024, i)
		if !l {
			r.Pseudonym, r.KeyID = nil, ""
		}
		if err := w.Write(p, r); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	rows := readRows(t, filepath.Join(lakeDir, files[0].Path))
	for i, r := range rows {
		if (r.Pseudonym != nil) != linked[i] || (r.KeyID != "") != linked[i] {
			t.Errorf("row %d: pseudonym set %v, key_id %q; want linked %v", i, r.Pseudonym != nil, r.KeyID, linked[i])
		}
	}
}

// TestFinishEarly: a partition finished before Stage is a complete file, with
// its rows, hash and size, on disk already; a later row for it starts a
// second file; finishing a partition with no open file changes nothing.
func TestFinishEarly(t *testing.T) {
	lakeDir := t.TempDir()
	w, err := NewWriter(lakeDir, "finish")
	if err != nil {
		t.Fatal(err)
	}
	a, b := Partition{Source: "amea", StartYear: 2023}, Partition{Source: "amea", StartYear: 2024}
	write := func(p Partition, from, to int) {
		for i := from; i < to; i++ {
			if err := w.Write(p, testRow(p.StartYear, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(a, 0, 700)
	write(b, 0, 300)
	if err := w.Finish(a); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(Partition{Source: "aksel", StartYear: 2020}); err != nil {
		t.Fatalf("Finish of a partition never written: %v", err)
	}
	write(b, 300, 400)
	write(a, 700, 750)
	staged, err := w.Stage()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[Partition][]int64{}
	for _, sf := range staged {
		data, err := os.ReadFile(filepath.Join(lakeDir, filepath.FromSlash(sf.Staged)))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); sf.SHA256 != hex.EncodeToString(sum[:]) || sf.Bytes != int64(len(data)) {
			t.Errorf("%s: StagedFile says %d bytes sha256 %s; the file has %d bytes sha256 %x", sf.Path, sf.Bytes, sf.SHA256, len(data), sum)
		}
		if n := int64(len(readRows(t, filepath.Join(lakeDir, filepath.FromSlash(sf.Staged))))); n != sf.Rows {
			t.Errorf("%s: %d rows, StagedFile says %d", sf.Path, n, sf.Rows)
		}
		rows[sf.Partition] = append(rows[sf.Partition], sf.Rows)
	}
	if !slices.Equal(rows[a], []int64{700, 50}) || !slices.Equal(rows[b], []int64{400}) || len(rows) != 2 {
		t.Fatalf("files' rows by partition %v; want %s: 700 then 50 (finished, then a new file), %s: 400", rows, a, b)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
}

// TestSameRowsSameBytes: the encoder's workers encode files side by side;
// the same rows, written twice, must still give byte for byte the same
// files (the hashes the manifest records).
func TestSameRowsSameBytes(t *testing.T) {
	write := func() []string {
		w, err := NewWriter(t.TempDir(), "same", MaxRowsPerRowGroup(500), MaxBufferedRows(700))
		if err != nil {
			t.Fatal(err)
		}
		parts := []Partition{{Source: "amea", StartYear: 2022}, {Source: "amea", StartYear: 2023}, {Source: "aksel", StartYear: 2023}}
		for i := range 6000 {
			p := parts[i%len(parts)]
			r := testRow(p.StartYear, i)
			if i%4 == 0 {
				r.Sex, r.Municipality = ptr("M"), ptr("2580")
			}
			if err := w.Write(p, r); err != nil {
				t.Fatal(err)
			}
			if i == 4000 {
				if err := w.Finish(parts[0]); err != nil {
					t.Fatal(err)
				}
			}
		}
		staged, err := w.Stage()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		var sums []string
		for _, sf := range staged {
			sums = append(sums, sf.Path+" "+sf.SHA256)
		}
		return sums
	}
	first, second := write(), write()
	if len(first) < 4 || !slices.Equal(first, second) {
		t.Fatalf("the same rows wrote different files:\n%v\n%v", first, second)
	}
}

// TestYearOf checks YearOf against DateOf's time for every day from 1960
// to 2210, across the ends of its table, and at the ends of int32.
func TestYearOf(t *testing.T) {
	check := func(d int32) {
		if got, want := YearOf(d), DateOf(d).Year(); got != want {
			t.Fatalf("YearOf(%d) = %d, want %d", d, got, want)
		}
	}
	from := Date(time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC))
	to := Date(time.Date(2210, 1, 1, 0, 0, 0, 0, time.UTC))
	for d := from; d < to; d++ {
		check(d)
	}
	for _, d := range []int32{math.MinInt32, math.MinInt32 + 1, math.MaxInt32 - 1, math.MaxInt32} {
		check(d)
	}
}

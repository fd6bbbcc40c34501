package duck

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/lake"
	"github.com/google/uuid"
)

func ptr[T any](v T) *T { return &v }

func day(s string) int32 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return lake.Date(t)
}

// want is a written row with its partition, as DuckDB should render it.
type want struct {
	part lake.Partition
	row  lake.Row
}

// roundTripRows covers the edge dates, null end dates, unlinked rows and
// declared attributes present and absent.
func roundTripRows() []want {
	id := func(b byte) *[16]byte {
		var u [16]byte
		for i := range u {
			u[i] = b + byte(i)*17
		}
		return &u
	}
	rk := func(b byte) [16]byte { u := *id(b); u[0] ^= 0xFF; return u }
	const key = "gk1-0123456789abcdef"
	return []want{
		{lake.Partition{Source: "amea", StartYear: 1970}, lake.Row{Pseudonym: id(1), KeyID: key, IDKind: lake.IDPersonnummer, Measure: "M01",
			PeriodStart: day("1970-01-01"), PeriodEnd: ptr(day("1999-12-31")), Sex: ptr("K"), AgeBand: ptr("16-19"), Municipality: ptr("0680"), RecordKey: rk(1),
			LinkableUntil: ptr(day("1975-12-31"))}},
		{lake.Partition{Source: "amea", StartYear: 1999}, lake.Row{Pseudonym: id(2), KeyID: key, IDKind: lake.IDSamordningsnummer, Measure: "M02",
			PeriodStart: day("1999-12-31"), PeriodEnd: ptr(day("2000-02-29")), Sex: ptr("M"), RecordKey: rk(2)}},
		{lake.Partition{Source: "amea", StartYear: 2000}, lake.Row{Pseudonym: id(1), KeyID: key, IDKind: lake.IDPersonnummer, Measure: "M01",
			PeriodStart: day("2000-02-29"), RecordKey: rk(3)}},
		{lake.Partition{Source: "aksel", StartYear: 2024}, lake.Row{IDKind: lake.IDBirthdate, Measure: "M03",
			PeriodStart: day("2024-03-15"), AgeBand: ptr("65+"), RecordKey: rk(4)}},
		{lake.Partition{Source: "aksel", StartYear: 2024}, lake.Row{Pseudonym: id(0xF0), KeyID: key, IDKind: lake.IDReserve, Measure: "M03",
			PeriodStart: day("2024-03-15"), PeriodEnd: ptr(day("2024-03-15")), Municipality: ptr("2580"), RecordKey: rk(5)}},
		{lake.Partition{Source: "aksel", StartYear: 2024}, lake.Row{IDKind: lake.IDReserve, KeyID: key, Measure: "M04",
			PeriodStart: day("2024-12-31"), RecordKey: rk(6)}},
	}
}

// expected renders w as Query should show the columns of the lake view.
func (w want) expected(runID string) []string {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	date := func(p *int32) string {
		if p == nil {
			return ""
		}
		return lake.DateOf(*p).Format(time.DateOnly)
	}
	pseud := ""
	if w.row.Pseudonym != nil {
		pseud = uuid.UUID(*w.row.Pseudonym).String()
	}
	return []string{
		pseud, w.row.KeyID, w.row.IDKind, w.row.Measure,
		date(&w.row.PeriodStart), date(w.row.PeriodEnd),
		str(w.row.Sex), str(w.row.AgeBand), str(w.row.Municipality),
		uuid.UUID(w.row.RecordKey).String(), runID, date(w.row.LinkableUntil),
		w.part.Source, fmt.Sprint(w.part.StartYear),
	}
}

func writeLake(t *testing.T, lakeDir, runID string, rows []want) []lake.FileInfo {
	t.Helper()
	w, err := lake.NewWriter(lakeDir, runID)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, r := range rows {
		if err := w.Write(r.part, r.row); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func open(t *testing.T, opt Options) *sql.DB {
	t.Helper()
	db, err := Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func query(t *testing.T, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	_, rows, err := Query(context.Background(), db, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return rows
}

func one(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	rows := query(t, db, q, args...)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: got %v, want one value", q, rows)
	}
	return rows[0][0]
}

// TestRoundTrip writes rows with lake.Writer, reads them back through DuckDB,
// and compares every column exactly. The lake path contains a single quote
// and a space to exercise the SQL quoting.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	lakeDir := filepath.Join(t.TempDir(), "o'neil lake")
	rows := roundTripRows()
	const runID = "20240315T000000Z-rt"
	files := writeLake(t, lakeDir, runID, rows)
	if len(files) != 4 {
		t.Fatalf("got %d files, want one per partition (4)", len(files))
	}

	db := open(t, Options{MemoryLimit: "512MB", Threads: 2, TempDir: filepath.Join(t.TempDir(), "spill")})
	if err := LakeView(ctx, db, lakeDir); err != nil {
		t.Fatal(err)
	}

	// Every value, rendered by Query, ordered by record key.
	cols, got, err := Query(ctx, db, "SELECT * FROM lake ORDER BY record_key")
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]string{}, lake.Columns...), "source", "start_year"); strings.Join(cols, ",") != strings.Join(want, ",") {
		t.Fatalf("columns %v, want %v", cols, want)
	}
	byKey := map[string][]string{}
	for _, r := range got {
		byKey[r[9]] = r
	}
	if len(got) != len(rows) || len(byKey) != len(rows) {
		t.Fatalf("read %d rows (%d distinct record keys), wrote %d", len(got), len(byKey), len(rows))
	}
	for _, w := range rows {
		exp := w.expected(runID)
		if g := byKey[exp[9]]; strings.Join(g, "|") != strings.Join(exp, "|") {
			t.Errorf("row mismatch:\n got %q\nwant %q", g, exp)
		}
	}

	// Independent of Query's rendering: dates compare equal as DATE, UUIDs as
	// text, partition columns have their types, NULLs are NULL.
	for _, w := range rows {
		pseudonymIsNull := w.row.Pseudonym == nil
		var pseudonymText any
		if !pseudonymIsNull {
			pseudonymText = uuid.UUID(*w.row.Pseudonym).String()
		}
		var endText any
		if w.row.PeriodEnd != nil {
			endText = lake.DateOf(*w.row.PeriodEnd).Format(time.DateOnly)
		}
		n := one(t, db, `SELECT count(*) FROM lake
			WHERE record_key::VARCHAR = ?
			  AND period_start = CAST(? AS DATE)
			  AND period_end IS NOT DISTINCT FROM CAST(? AS DATE)
			  AND (pseudonym IS NULL) = ?
			  AND pseudonym::VARCHAR IS NOT DISTINCT FROM ?
			  AND source = ? AND start_year = ?
			  AND typeof(source) = 'VARCHAR' AND typeof(start_year) = 'INTEGER'
			  AND typeof(period_start) = 'DATE' AND typeof(pseudonym) = 'UUID'`,
			uuid.UUID(w.row.RecordKey).String(),
			lake.DateOf(w.row.PeriodStart).Format(time.DateOnly),
			endText, pseudonymIsNull, pseudonymText,
			w.part.Source, w.part.StartYear)
		if n != "1" {
			t.Errorf("row %x: typed comparison matched %s rows, want 1", w.row.RecordKey, n)
		}
	}

	// Pseudonym 1 occurs twice, two rows are unlinked: 3 distinct persons.
	if n := one(t, db, "SELECT count(DISTINCT pseudonym) FROM lake"); n != "3" {
		t.Errorf("count(DISTINCT pseudonym) = %s, want 3", n)
	}
	if n := one(t, db, "SELECT count(*) FROM lake WHERE pseudonym IS NULL"); n != "2" {
		t.Errorf("unlinked rows = %s, want 2", n)
	}

	// The plain analyst query, without LakeView's hive_types, sees the same
	// rows; DuckDB then guesses start_year as BIGINT.
	plain := "SELECT count(*), sum(start_year), min(period_start), max(period_start), any_value(typeof(start_year)) FROM read_parquet(" +
		LakeGlob(lakeDir) + ", hive_partitioning = true)"
	if r := query(t, db, plain)[0]; strings.Join(r, ",") != "6,12041,1970-01-01,2024-12-31,BIGINT" {
		t.Errorf("plain read_parquet: got %v", r)
	}
}

// TestSchema compares DESCRIBE of the lake view over real files with the
// documented schema, and with the view over an empty lake.
func TestSchema(t *testing.T) {
	ctx := context.Background()
	db := open(t, Options{})

	describe := func(dir string) string {
		if err := LakeView(ctx, db, dir); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, r := range query(t, db, "SELECT column_name, column_type FROM (DESCRIBE lake)") {
			fmt.Fprintf(&b, "%s %s\n", r[0], r[1])
		}
		return b.String()
	}
	var doc strings.Builder
	for _, c := range lakeSchema {
		fmt.Fprintf(&doc, "%s %s\n", c[0], c[1])
	}

	full := t.TempDir()
	writeLake(t, full, "schema", roundTripRows())
	if got := describe(full); got != doc.String() {
		t.Errorf("DESCRIBE lake over files:\n%s\nwant:\n%s", got, doc.String())
	}
	t.Logf("DESCRIBE lake:\n%s", describe(full))

	for _, empty := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		if got := describe(empty); got != doc.String() {
			t.Errorf("DESCRIBE lake over an empty lake:\n%s\nwant:\n%s", got, doc.String())
		}
		if n := one(t, db, "SELECT count(*) FROM lake"); n != "0" {
			t.Errorf("empty lake has %s rows", n)
		}
	}
	if err := LakeView(ctx, db, filepath.Join(t.TempDir(), "a*b")); err == nil {
		t.Error("LakeView accepted a path with a glob character")
	}
}

// TestStagedInvisible checks through DuckDB that staged files are not matched
// by the reader glob before Commit, and are after.
func TestStagedInvisible(t *testing.T) {
	ctx := context.Background()
	lakeDir := t.TempDir()
	db := open(t, Options{})
	count := func() string { return one(t, db, "SELECT count(*) FROM glob("+LakeGlob(lakeDir)+")") }

	// A committed file from an earlier run.
	writeLake(t, lakeDir, "earlier", roundTripRows()[:1])

	w, err := lake.NewWriter(lakeDir, "staged", lake.MaxRowsPerRowGroup(2))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, r := range roundTripRows() {
		if err := w.Write(r.part, r.row); err != nil {
			t.Fatal(err)
		}
	}
	// Staged data is on disk (row groups of 2 rows are flushed already), but
	// readers see only the earlier file, and hive partitioning is not confused
	// by the _staging directory.
	if staged, _ := filepath.Glob(filepath.Join(lakeDir, lake.StagingDir, "staged", "*")); len(staged) == 0 {
		t.Fatal("nothing staged on disk")
	}
	if n := count(); n != "1" {
		t.Fatalf("before Commit the glob matches %s files, want 1", n)
	}
	if err := LakeView(ctx, db, lakeDir); err != nil {
		t.Fatal(err)
	}
	if n := one(t, db, "SELECT count(*) FROM lake"); n != "1" {
		t.Fatalf("before Commit the lake has %s rows, want 1", n)
	}
	files, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if n := count(); n != fmt.Sprint(1+len(files)) {
		t.Fatalf("after Commit the glob matches %s files, want %d", n, 1+len(files))
	}
	if err := LakeView(ctx, db, lakeDir); err != nil {
		t.Fatal(err)
	}
	if n := one(t, db, "SELECT count(*) FROM lake"); n != "7" {
		t.Fatalf("after Commit the lake has %s rows, want 7", n)
	}
	// LakeFiles names the files the view reads, never a staged one.
	lf, err := LakeFiles(lakeDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(lf) != 1+len(files) {
		t.Fatalf("LakeFiles gives %d files, want %d", len(lf), 1+len(files))
	}
	list := make([]string, len(lf))
	for i, f := range lf {
		if !filepath.IsAbs(f) || strings.Contains(f, lake.StagingDir) {
			t.Fatalf("LakeFiles gives %s", f)
		}
		list[i] = Literal(filepath.ToSlash(f))
	}
	if n := one(t, db, "SELECT count(*) FROM read_parquet(["+strings.Join(list, ", ")+"])"); n != "7" {
		t.Fatalf("the files LakeFiles names hold %s rows, want 7", n)
	}
}

// TestHardening checks the session settings, and that a ReadOnlyLake session
// reads the lake but nothing else and cannot loosen its configuration.
func TestHardening(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lakeDir := filepath.Join(dir, "lake")
	writeLake(t, lakeDir, "hard", roundTripRows())
	secret := filepath.Join(dir, "outside.csv")
	if err := os.WriteFile(secret, []byte("a\n1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spill := filepath.Join(dir, "spill")

	// A normal session: hardened and locked, but may read local files.
	db := open(t, Options{MemoryLimit: "300MB", Threads: 1, TempDir: spill})
	settings := "SELECT current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions'), " +
		"current_setting('allow_community_extensions'), current_setting('threads'), current_setting('temp_directory'), " +
		"current_setting('lock_configuration'), current_setting('enable_external_access')"
	if r := query(t, db, settings)[0]; strings.Join(r, "|") != "false|false|false|1|"+spill+"|true|true" {
		t.Errorf("settings: %q", r)
	}
	if m := one(t, db, "SELECT current_setting('memory_limit')"); !strings.HasPrefix(m, "286") { // 300 MB = 286.1 MiB
		t.Errorf("memory_limit = %q, want 300MB", m)
	}
	if one(t, db, "SELECT count(*) FROM read_csv(?)", secret) != "1" {
		t.Error("normal session cannot read a local file")
	}
	for _, q := range []string{"SET memory_limit = '8GB'", "SET lock_configuration = false", "SET autoload_known_extensions = true"} {
		if _, err := db.ExecContext(ctx, q); err == nil {
			t.Errorf("%s succeeded in a locked session", q)
		}
	}

	// A read-only lake session, with several pooled connections.
	ro := open(t, Options{ReadOnlyLake: true, LakeDir: lakeDir, TempDir: spill})
	ro.SetMaxIdleConns(4)
	if err := LakeView(ctx, ro, lakeDir); err != nil {
		t.Fatal(err)
	}
	if n := one(t, ro, "SELECT count(*) FROM lake"); n != "6" {
		t.Errorf("read-only session reads %s lake rows, want 6", n)
	}
	conns := make([]*sql.Conn, 3) // hold several connections at once
	for i := range conns {
		c, err := ro.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		for _, q := range []string{
			"SELECT count(*) FROM read_csv(" + Literal(secret) + ")",
			"SELECT count(*) FROM read_csv(" + Literal(lakeDir+"/../outside.csv") + ")",
			"COPY (SELECT 1) TO " + Literal(filepath.Join(dir, "out.csv")),
			"ATTACH " + Literal(filepath.Join(dir, "x.duckdb")),
			"INSTALL httpfs",
			"LOAD httpfs",
			"SET enable_external_access = true",
			"SET allowed_directories = ['/']",
		} {
			if _, err := c.ExecContext(ctx, q); err == nil {
				t.Errorf("connection %d: %s succeeded in a read-only lake session", i, q)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.csv")); err == nil {
		t.Error("read-only session wrote a file outside the lake")
	}
	if _, err := Open(ctx, Options{ReadOnlyLake: true}); err == nil {
		t.Error("ReadOnlyLake without LakeDir accepted")
	}
}

func TestQueryText(t *testing.T) {
	db := open(t, Options{})
	cols, rows, err := Query(context.Background(), db, `SELECT
		NULL AS n, 'å' AS s, DATE '2000-02-29' AS d, 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6'::UUID AS u,
		TIMESTAMP '2024-03-15 10:11:12.5' AS ts, 1.5::DOUBLE AS f, 42::INTEGER AS i, 12345678901234567890::HUGEINT AS h,
		true AS b, '\x01\xff'::BLOB AS bl, 12.30::DECIMAL(5,2) AS dec, TIME '01:02:03' AS tm,
		-0.05::DECIMAL(4,3) AS neg, 7::DECIMAL(3,0) AS d0`)
	if err != nil {
		t.Fatal(err)
	}
	want := "n,s,d,u,ts,f,i,h,b,bl,dec,tm,neg,d0|,å,2000-02-29,f81d4fae-7dec-11d0-a765-00a0c91e6bf6,2024-03-15 10:11:12.5,1.5,42,12345678901234567890,true,01ff,12.30,01:02:03,-0.050,7"
	if got := strings.Join(cols, ",") + "|" + strings.Join(rows[0], ","); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestPrintTable(t *testing.T) {
	var b strings.Builder
	err := PrintTable(&b, []string{"measure", "år", "n"}, [][]string{
		{"M01", "2024", "12"},
		{"Lönebidrag", "2023", ""},
		{"evil\x1b[2J", "", "1234"},
		{"short"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := b.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	exp := []string{
		"measure       år     n",
		"----------  ----  ----",
		"M01         2024    12",
		"Lönebidrag  2023      ",
		"evil?[2J          1234",
		"short                 ",
	}
	if strings.Join(lines, "\n") != strings.Join(exp, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(exp, "\n"))
	}
}

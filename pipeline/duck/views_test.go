package duck_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/gallra/gallra/pipeline/aggregates"
	"github.com/gallra/gallra/pipeline/anonymised"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/transforms/retention"
)

func date(s string) int32 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return lake.Date(t)
}

// describe returns "name type" lines of a view.
func describe(t *testing.T, ctx context.Context, q func(string) [][]string, view string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range q("SELECT column_name, column_type FROM (DESCRIBE " + view + ")") {
		fmt.Fprintf(&b, "%s %s\n", r[0], r[1])
	}
	return b.String()
}

const anonymisedColumns = `measure VARCHAR
period_start DATE
period_end DATE
granularity VARCHAR
sex VARCHAR
age_band VARCHAR
municipality VARCHAR
cell_key UBIGINT
anonymised_by_run VARCHAR
source VARCHAR
start_year INTEGER
`

const aggregatesColumns = `year INTEGER
source VARCHAR
measure VARCHAR
statistic VARCHAR
value BIGINT
cell_key UBIGINT
frozen_by_run VARCHAR
frozen_on DATE
`

// TestTableViews: the views anonymised and aggregates exist with their
// columns over an empty lake and over one with files; the anonymised view
// reads the manifest's anonymised files and the lake view only the
// pseudonymised ones.
func TestTableViews(t *testing.T) {
	ctx := context.Background()
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := func(s string) [][]string {
		t.Helper()
		_, rows, err := duck.Query(ctx, db, s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		return rows
	}
	dir := t.TempDir()
	check := func(pseud, anon, agg string) {
		t.Helper()
		if err := duck.LakeView(ctx, db, dir); err != nil {
			t.Fatal(err)
		}
		if got := describe(t, ctx, q, "anonymised"); got != anonymisedColumns {
			t.Errorf("DESCRIBE anonymised:\n%s\nwant:\n%s", got, anonymisedColumns)
		}
		if got := describe(t, ctx, q, "aggregates"); got != aggregatesColumns {
			t.Errorf("DESCRIBE aggregates:\n%s\nwant:\n%s", got, aggregatesColumns)
		}
		if n := q("SELECT count(*) FROM lake")[0][0]; n != pseud {
			t.Errorf("lake has %s rows, want %s", n, pseud)
		}
		if n := q("SELECT count(*) FROM anonymised")[0][0]; n != anon {
			t.Errorf("anonymised has %s rows, want %s", n, anon)
		}
		if n := q("SELECT count(*) FROM aggregates")[0][0]; n != agg {
			t.Errorf("aggregates has %s rows, want %s", n, agg)
		}
	}
	check("0", "0", "0")

	// One pseudonymised row and two anonymised ones, published together.
	w, err := lake.NewWriter(dir, "r1")
	if err != nil {
		t.Fatal(err)
	}
	rk := [16]byte{1, 2, 3}
	if err := w.Write(lake.Partition{Source: "amea", StartYear: 2024}, lake.Row{IDKind: lake.IDBirthdate, Measure: "M01",
		PeriodStart: date("2024-02-03"), RecordKey: rk}); err != nil {
		t.Fatal(err)
	}
	p := lake.Partition{Source: "uka", StartYear: 2019, Table: lake.TableAnonymised}
	end := date("2020-10-01")
	af, err := w.StageFile(p, "part-r1-0.parquet", func(out io.Writer) (int64, error) {
		aw := anonymised.NewWriter(out, p.Dir(), "r1")
		for _, r := range []anonymised.Row{
			{Measure: "M02", PeriodStart: date("2019-04-01"), PeriodEnd: &end, Granularity: retention.Quarter, CellKey: 1 << 63, AnonymisedByRun: "r1"},
			{Measure: "M02", PeriodStart: date("2019-07-01"), Granularity: retention.Quarter, CellKey: 7, AnonymisedByRun: "r1"},
		} {
			if err := aw.Write(r); err != nil {
				return 0, err
			}
		}
		return aw.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	// A frozen year, as package aggregates writes it.
	cells := []aggregates.Cell{
		{Year: 2019, Source: "TOTAL", Measure: "TOTAL", Statistic: aggregates.Participants, Value: 2, CellKey: 99},
		{Year: 2019, Source: "uka", Measure: "M02", Statistic: aggregates.Participants, Value: 2, CellKey: 99},
	}
	gf, err := w.StageFile(lake.Partition{StartYear: 2019, Table: lake.TableAggregates}, "part-r1.parquet", func(out io.Writer) (int64, error) {
		return aggregates.Write(out, cells, "r1", time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC))
	})
	if err != nil {
		t.Fatal(err)
	}
	staged, err := w.Stage()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lake.Publish(dir, &lake.Manifest{Format: lake.ManifestFormat}, lake.Change{RunID: "r1", Add: append(staged, af, gf)}); err != nil {
		t.Fatal(err)
	}
	check("1", "2", "2")
	var got, want [][]string
	got = q("SELECT year, source, measure, statistic, value, cell_key::VARCHAR, frozen_by_run, strftime(frozen_on, '%Y-%m-%d') FROM aggregates ORDER BY source")
	want = [][]string{{"2019", "TOTAL", "TOTAL", "participants", "2", "99", "r1", "2025-01-02"}, {"2019", "uka", "M02", "participants", "2", "99", "r1", "2025-01-02"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("aggregates rows %v, want %v", got, want)
	}
	// lake.Check knows each table's schema (the aggregates one is declared
	// twice: here the two declarations meet on a real file).
	if err := os.MkdirAll(filepath.Join(dir, lake.MetaDir, "runs"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, lake.MetaDir, "runs", "r1.json"), []byte(`{"run_id":"r1"}`), 0o640); err != nil {
		t.Fatal(err)
	}
	rep, err := lake.Check(dir, true)
	if err != nil || !rep.OK() || rep.Files != 3 {
		t.Errorf("Check: %v %+v", err, rep)
	}
	got = q("SELECT source, start_year, strftime(period_start, '%Y-%m-%d'), coalesce(strftime(period_end, '%Y-%m-%d'), ''), granularity, cell_key::VARCHAR FROM anonymised ORDER BY period_start")
	want = [][]string{{"uka", "2019", "2019-04-01", "2020-10-01", "quarter", "9223372036854775808"}, {"uka", "2019", "2019-07-01", "", "quarter", "7"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("anonymised rows %v, want %v", got, want)
	}
	sqlText, err := duck.ViewsSQL(dir)
	if err != nil || !strings.Contains(sqlText, "VIEW anonymised") || !strings.Contains(sqlText, "VIEW aggregates") {
		t.Errorf("ViewsSQL: %v\n%s", err, sqlText)
	}
}

// TestLakeViewOldFiles: a lake whose files were all written before the
// column linkable_until existed still has the column in its view, as NULL.
func TestLakeViewOldFiles(t *testing.T) {
	type oldRow struct {
		Pseudonym    [16]byte `parquet:"pseudonym,uuid,optional"` // one row: v0.32's batch bug cannot bite
		KeyID        string   `parquet:"key_id,optional,dict"`
		IDKind       string   `parquet:"id_kind,dict"`
		Measure      string   `parquet:"measure,dict"`
		PeriodStart  int32    `parquet:"period_start,date"`
		PeriodEnd    *int32   `parquet:"period_end,date"`
		Sex          *string  `parquet:"sex,dict"`
		AgeBand      *string  `parquet:"age_band,dict"`
		Municipality *string  `parquet:"municipality,dict"`
		RecordKey    [16]byte `parquet:"record_key,uuid"`
		RunID        string   `parquet:"run_id,dict"`
	}
	dir := t.TempDir()
	part := filepath.Join(dir, "source=amea", "start_year=2020")
	if err := os.MkdirAll(part, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(part, "part-old-0.parquet"), []oldRow{{Pseudonym: [16]byte{7}, KeyID: "gk1-0123456789abcdef",
		IDKind: lake.IDPersonnummer, Measure: "M01", PeriodStart: date("2020-01-02"), RecordKey: [16]byte{9}, RunID: "old"}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, dir); err != nil {
		t.Fatal(err)
	}
	_, rows, err := duck.Query(ctx, db, "SELECT count(*), count(linkable_until), min(source), min(start_year), min(run_id) FROM lake")
	if err != nil || fmt.Sprint(rows) != "[[1 0 amea 2020 old]]" {
		t.Errorf("old lake: %v %v", rows, err)
	}
}

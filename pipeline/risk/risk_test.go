package risk

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/duck"
)

// anonView makes the view "anonymised" over literal rows with the columns
// (and types) the lake's view has.
func anonView(t *testing.T, rows []string) *sql.DB {
	t.Helper()
	db, err := duck.Open(context.Background(), duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q := `CREATE VIEW anonymised AS SELECT measure, period_start::DATE AS period_start, period_end::DATE AS period_end,
  granularity, sex, age_band, municipality, cell_key::UBIGINT AS cell_key, 'r1' AS anonymised_by_run,
  source, year(period_start::DATE)::INTEGER AS start_year
FROM (VALUES ` + strings.Join(rows, ",\n") + `) t(source, measure, period_start, period_end, granularity, sex, age_band, municipality, cell_key)`
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestAssessCountsClassesWorkedByHand(t *testing.T) {
	db := anonView(t, []string{
		// amea: PRAKTIK 2023-03 × 6 (one class of 6); ARBETSTRANING 2023-07 × 2 (a class of 2);
		// KARTLAGGNING 2024-02 with sex K × 1 and sex M × 1 (two classes of 1)
		"('amea','PRAKTIK','2023-03-01','2023-06-01','month',NULL,NULL,NULL,1)",
		"('amea','PRAKTIK','2023-03-01','2023-06-01','month',NULL,NULL,NULL,2)",
		"('amea','PRAKTIK','2023-03-01','2023-06-01','month',NULL,NULL,NULL,3)",
		"('amea','PRAKTIK','2023-03-01','2023-06-01','month',NULL,NULL,NULL,4)",
		"('amea','PRAKTIK','2023-03-01','2023-06-01','month',NULL,NULL,NULL,5)",
		"('amea','PRAKTIK','2023-03-01','2023-06-01','month',NULL,NULL,NULL,6)",
		"('amea','ARBETSTRANING','2023-07-01','2024-02-01','month',NULL,NULL,NULL,7)",
		"('amea','ARBETSTRANING','2023-07-01','2024-02-01','month',NULL,NULL,NULL,8)",
		"('amea','KARTLAGGNING','2024-02-01','2024-03-01','month','K',NULL,NULL,9)",
		"('amea','KARTLAGGNING','2024-02-01','2024-03-01','month','M',NULL,NULL,10)",
		// uka: one class of 5 at quarter granularity, ongoing (null end)
		"('uka','KARTLAGGNING','2024-01-01',NULL,'quarter',NULL,'16-19','2580',11)",
		"('uka','KARTLAGGNING','2024-01-01',NULL,'quarter',NULL,'16-19','2580',12)",
		"('uka','KARTLAGGNING','2024-01-01',NULL,'quarter',NULL,'16-19','2580',13)",
		"('uka','KARTLAGGNING','2024-01-01',NULL,'quarter',NULL,'16-19','2580',14)",
		"('uka','KARTLAGGNING','2024-01-01',NULL,'quarter',NULL,'16-19','2580',15)",
	})
	rep, err := Assess(context.Background(), db, 5, -1)
	if err != nil {
		t.Fatal(err)
	}
	// 15 rows in 5 classes (6, 2, 1, 1, 5); small under k=5: the 2 and the two 1s = 3 classes, 4 rows.
	if rep.Rows != 15 || rep.Classes != 5 || rep.MinK != 1 || rep.SmallClasses != 3 || rep.RowsInSmall != 4 || rep.OK() {
		t.Errorf("report %+v", rep)
	}
	if len(rep.Sources) != 2 || rep.Sources[0] != (Summary{"amea", 10, 4, 1, 3, 4}) || rep.Sources[1] != (Summary{"uka", 5, 1, 5, 0, 0}) {
		t.Errorf("sources %+v", rep.Sources)
	}
	// Sizes: 1 → 2 classes/2 rows, 2 → 1/2, 5-9 → 2/11.
	want := []Bucket{{"1", 2, 2}, {"2", 1, 2}, {"5-9", 2, 11}}
	if len(rep.Sizes) != len(want) {
		t.Fatalf("sizes %+v", rep.Sizes)
	}
	for i := range want {
		if rep.Sizes[i] != want[i] {
			t.Errorf("size bucket %d: %+v, want %+v", i, rep.Sizes[i], want[i])
		}
	}
	if len(rep.Small) != 3 || rep.Small[0].Rows != 1 || rep.Small[2].Rows != 2 ||
		strings.Join(rep.Small[0].Values, "|") != "amea|KARTLAGGNING|month|2024-02-01|2024-03-01|K||" {
		t.Errorf("small classes %+v", rep.Small)
	}
	// A lower threshold: k=2 leaves only the two singletons small; the limit caps the list.
	rep, err = Assess(context.Background(), db, 2, 1)
	if err != nil || rep.SmallClasses != 2 || rep.RowsInSmall != 2 || len(rep.Small) != 1 {
		t.Errorf("k=2: %v %+v", err, rep)
	}
	if _, err := Assess(context.Background(), db, 1, -1); err == nil {
		t.Error("k=1 accepted")
	}
}

func TestAssessEmpty(t *testing.T) {
	db := anonView(t, []string{"('amea','PRAKTIK','2023-03-01','2023-06-01','month',NULL,NULL,NULL,1)"})
	if _, err := db.Exec(`CREATE TABLE empty AS SELECT * FROM anonymised WHERE false; CREATE OR REPLACE VIEW anonymised AS SELECT * FROM empty`); err != nil {
		t.Fatal(err)
	}
	rep, err := Assess(context.Background(), db, 5, -1)
	if err != nil || rep.Rows != 0 || rep.Classes != 0 || !rep.OK() {
		t.Errorf("empty: %v %+v", err, rep)
	}
}

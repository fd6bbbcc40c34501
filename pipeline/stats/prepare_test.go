package stats_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/stats"
)

// Every shared input is defined once, as a view in inputs.sql, which
// prepare.sql materialises and at least two statistics read (none defines
// it again), so that a statistic gives the same rows alone and after the
// preparation step.
func TestSharedInputsAreDefinedOnce(t *testing.T) {
	suite, err := stats.Suite()
	if err != nil {
		t.Fatal(err)
	}
	views := regexp.MustCompile(`(?m)^CREATE TEMP VIEW IF NOT EXISTS (\w+) AS$`).FindAllStringSubmatch(stats.InputsSQL(), -1)
	if len(views) < 2 {
		t.Fatalf("inputs.sql defines %d inputs", len(views))
	}
	prep := stats.PrepareSQL()
	for _, v := range views {
		name := v[1]
		if !strings.Contains(prep, "CREATE OR REPLACE TEMP TABLE "+name+"__prepared AS SELECT * FROM "+name+";\nDROP VIEW "+name+";\nALTER TABLE "+name+"__prepared RENAME TO "+name+";\n") {
			t.Errorf("prepare.sql does not materialise %s", name)
		}
		readers := 0
		for _, q := range suite {
			if strings.Contains(q.SQL, "CREATE TEMP VIEW IF NOT EXISTS "+name) {
				t.Errorf("%s defines the shared input %s again", q.Name, name)
			}
			if strings.Contains(q.SQL, name) {
				readers++
			}
		}
		if readers < 2 {
			t.Errorf("shared input %s is read by %d statistics", name, readers)
		}
	}
}

// A prepared session's tables hold its span and breakdown: once it is
// closed, a statistic on the same database (here the only connection of
// the pool) counts for its own span again, and a closed session refuses
// to run.
func TestPreparedTablesDoNotOutliveClose(t *testing.T) {
	d := lakeDB(t)
	d.db.SetMaxOpenConns(1)
	ctx := context.Background()
	suite, err := stats.Suite()
	if err != nil {
		t.Fatal(err)
	}
	bySex := span
	bySex.By = "sex"
	want := map[string][]string{}
	for _, name := range []string{"participants", "new_entrants", "stock_month_end", "cohorts"} {
		want[name] = d.run(name, bySex)
	}
	p, err := stats.Prepare(ctx, d.db, "", span, suite) // by measure
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Inputs, ","); got != "stats_categories,stats_firsts,stats_person_years,stats_ends" {
		t.Fatalf("prepared inputs %s", got)
	}
	if len(p.InputTook) != len(p.Inputs) {
		t.Fatalf("%d inputs, %d times", len(p.Inputs), len(p.InputTook))
	}
	q, err := stats.Lookup("participants")
	if err != nil {
		t.Fatal(err)
	}
	_, rows, err := p.Run(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	byMeasure := d2(rows)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Run(ctx, q); err == nil {
		t.Fatal("a closed Prepared ran a statistic")
	}
	for name, w := range want {
		expect(t, name+" by sex after a prepared session by measure", d.run(name, bySex), w)
	}
	if strings.Join(byMeasure, "\n") == strings.Join(want["participants"], "\n") {
		t.Fatal("participants by measure and by sex agree: the test tests nothing")
	}

	// Only the inputs the statistics read are prepared.
	durations, err := stats.Lookup("durations")
	if err != nil {
		t.Fatal(err)
	}
	p, err = stats.Prepare(ctx, d.db, "", span, []stats.Query{durations, q})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := strings.Join(p.Inputs, ","); got != "stats_person_years" {
		t.Fatalf("prepared inputs for durations and participants: %s", got)
	}
}

func d2(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, "|")
	}
	return out
}

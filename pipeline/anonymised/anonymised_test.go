package anonymised

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gallra/gallra/transforms/retention"
)

func d(s string) int32 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return days(t)
}

func ptr[T any](v T) *T { return &v }

func TestRoundTrip(t *testing.T) {
	rows := []Row{
		{Measure: "M01", PeriodStart: d("2019-04-01"), PeriodEnd: ptr(d("2020-01-01")), Granularity: retention.Quarter,
			Sex: ptr("K"), AgeBand: ptr("16-19"), Municipality: ptr("2580"), CellKey: ^uint64(0), AnonymisedByRun: "r1"},
		{Measure: "M02", PeriodStart: d("2019-03-17"), Granularity: retention.Day, CellKey: 0, AnonymisedByRun: "r1"},
		{Measure: "M03", PeriodStart: d("2019-01-01"), PeriodEnd: ptr(d("2021-01-01")), Granularity: retention.Year, AgeBand: ptr("65+"), CellKey: 42, AnonymisedByRun: "r2"},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, "anonymised/source=uka/start_year=2019", "r1")
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := w.Close(); err != nil || n != 3 {
		t.Fatalf("Close = %d, %v", n, err)
	}
	p := filepath.Join(t.TempDir(), "a.parquet")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []Row
	if err := ReadFile(p, func(r Row) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("read %d rows", len(got))
	}
	for i := range rows {
		if !same(got[i], rows[i]) {
			t.Errorf("row %d: got %+v, want %+v", i, got[i], rows[i])
		}
	}
	stop := errors.New("stop")
	if err := ReadFile(p, func(Row) error { return stop }); err != stop {
		t.Errorf("callback error: %v", err)
	}
}

func same(a, b Row) bool {
	eqs := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqd := func(x, y *int32) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Measure == b.Measure && a.PeriodStart == b.PeriodStart && eqd(a.PeriodEnd, b.PeriodEnd) &&
		a.Granularity == b.Granularity && eqs(a.Sex, b.Sex) && eqs(a.AgeBand, b.AgeBand) &&
		eqs(a.Municipality, b.Municipality) && a.CellKey == b.CellKey && a.AnonymisedByRun == b.AnonymisedByRun
}

func TestRefuses(t *testing.T) {
	ok := Row{Measure: "M01", PeriodStart: d("2019-04-01"), Granularity: retention.Month, AnonymisedByRun: "r"}
	for field, bad := range map[string]func(*Row){
		"measure":           func(r *Row) { r.Measure = "" },
		"granularity":       func(r *Row) { r.Granularity = "week" },
		"period_start":      func(r *Row) { r.PeriodStart = d("2019-04-02") },
		"period_end":        func(r *Row) { r.PeriodEnd = ptr(d("2019-03-01")) },
		"sex":               func(r *Row) { r.Sex = ptr("X") },
		"municipality":      func(r *Row) { r.Municipality = ptr("123") },
		"anonymised_by_run": func(r *Row) { r.AnonymisedByRun = "" },
	} {
		r := ok
		bad(&r)
		var re *RowError
		if err := r.Check(); !errors.As(err, &re) || re.Field != field {
			t.Errorf("%s: Check = %v", field, err)
		}
	}
	if err := ok.Check(); err != nil {
		t.Error(err)
	}
	if NewCellKey() == NewCellKey() {
		t.Error("two cell keys alike")
	}
}

// TestManyRows crosses the writer's batches: every row comes back, in order.
func TestManyRows(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, "anonymised/source=a/start_year=2020", "r")
	const n = 3*batchRows + 7
	for i := 0; i < n; i++ {
		if err := w.Write(Row{Measure: "M01", PeriodStart: d("2020-01-01") + int32(i%300), Granularity: retention.Day, CellKey: uint64(i), AnonymisedByRun: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := w.Close(); err != nil || got != n {
		t.Fatalf("Close = %d, %v", got, err)
	}
	p := filepath.Join(t.TempDir(), "a.parquet")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	i := 0
	err := ReadFile(p, func(r Row) error {
		if r.CellKey != uint64(i) {
			t.Fatalf("row %d has cell key %d", i, r.CellKey)
		}
		i++
		return nil
	})
	if err != nil || i != n {
		t.Fatalf("read %d rows: %v", i, err)
	}
}

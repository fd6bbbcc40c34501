package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConclude(t *testing.T) {
	for _, c := range []struct {
		r    Run
		out  string
		code int
	}{
		{Run{}, OutcomeOK, ExitOK},
		{Run{Totals: Counts{Quarantined: map[string]int{"empty": 1}}}, OutcomeQuarantined, ExitQuarantined},
		{Run{Totals: Counts{RejectedFiles: 1, Quarantined: map[string]int{"empty": 1}}}, OutcomeRejected, ExitRejected},
		{Run{Error: "disk full", Totals: Counts{RejectedFiles: 1}}, OutcomeFailed, ExitFailed},
	} {
		c.r.Conclude()
		if c.r.Outcome != c.out || c.r.ExitCode != c.code {
			t.Errorf("%+v: %s/%d, want %s/%d", c.r.Totals, c.r.Outcome, c.r.ExitCode, c.out, c.code)
		}
	}
}

func TestJSONRoundTripAndSummary(t *testing.T) {
	start := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	r := &Run{RunID: "20261123T020000Z-abcdef", Started: start, Finished: start.Add(1500 * time.Millisecond),
		ReferenceDate: "2026-11-23", KeyID: "gk1-0011223344556677"}
	a := Counts{Files: 2, Read: 10, Accepted: 8, Quarantined: map[string]int{"bad_date": 2}}
	b := Counts{Files: 1, RejectedFiles: 1}
	r.Sources = []*Source{{Name: "amea", Counts: a, Files: []*InputFile{{Path: "amea/x.csv", Status: "rejected", Error: "schema drift"}}}}
	r.Totals.Add(a)
	r.Totals.Add(b)
	r.Conclude()
	if r.Totals.Read != 10 || r.Totals.Files != 3 || r.Totals.QuarantinedTotal() != 2 || r.ExitCode != ExitRejected {
		t.Fatalf("totals %+v exit %d", r.Totals, r.ExitCode)
	}
	p := filepath.Join(t.TempDir(), "run.json")
	if err := r.WriteJSON(p); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(p)
	if err != nil || back.RunID != r.RunID || back.Totals.Quarantined["bad_date"] != 2 || back.Outcome != OutcomeRejected {
		t.Fatalf("read back %+v, %v", back, err)
	}
	var buf bytes.Buffer
	r.Summary(&buf)
	for _, want := range []string{"rejected", "bad_date 2", "rejected file amea/x.csv: schema drift", "1.5s"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
}

package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/report"
)

func job(t *testing.T, dir, extra string) *config.Job {
	t.Helper()
	p := filepath.Join(dir, "gallra.toml")
	body := "reference_date = \"2026-11-23\"\nsettle = \"0s\"\n[[source]]\nname = \"amea\"\nmunicipality = \"0680\"\nkeep = [\"sex\"]\n" + extra
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func lakeRows(t *testing.T, lakeDir, q string) [][]string {
	t.Helper()
	ctx := context.Background()
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, lakeDir); err != nil {
		t.Fatal(err)
	}
	_, rows, err := duck.Query(ctx, db, q)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestFileIsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	good := [][4]string{{"19121212-1212", "Praktik", "2024-01-01", "2024-03-31"}}
	ameaFile(t, filepath.Join(dir, "inbox/amea/a-good.csv"), good)
	// A file cut off inside a quoted field, after one good and one bad row.
	trunc := filepath.Join(dir, "inbox/amea/b-truncated.csv")
	ameaFile(t, trunc, [][4]string{{"19121212-1212", "Arbetsträning", "2024-05-01", ""}, {"19121212-1213", "Praktik", "2024-01-01", ""}})
	b, _ := os.ReadFile(trunc)
	if err := os.WriteFile(trunc, append(b, []byte("\"19121212-1212;Prak")...), 0o644); err != nil {
		t.Fatal(err)
	}
	// An empty file: someone's export job died before writing anything.
	if err := os.WriteFile(filepath.Join(dir, "inbox/amea/c-empty.csv"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	j := job(t, dir, "")
	rep, err := ingest.Run(context.Background(), j, newKey(t), ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != report.ExitRejected || rep.Totals.RejectedFiles != 2 {
		t.Fatalf("exit %d, rejected files %d; want %d, 2", rep.ExitCode, rep.Totals.RejectedFiles, report.ExitRejected)
	}
	reasons := map[string]string{}
	for _, f := range rep.Sources[0].Files {
		reasons[filepath.Base(f.Path)] = f.Reason
	}
	if reasons["a-good.csv"] != "" || reasons["b-truncated.csv"] != "truncated" || reasons["c-empty.csv"] != "empty_file" {
		t.Errorf("file reasons %v", reasons)
	}
	if rep.Totals.Read != 1 || rep.Totals.Accepted != 1 || rep.Totals.QuarantinedTotal() != 0 {
		t.Errorf("totals %+v: the rejected file's rows must not count", rep.Totals)
	}
	rows := lakeRows(t, j.Lake, "SELECT measure FROM lake")
	if len(rows) != 1 || rows[0][0] != "PRAKTIK" {
		t.Errorf("lake rows %v: only the good file's row may be there", rows)
	}
	q, _ := os.ReadFile(rep.Quarantine)
	if strings.Count(string(q), "\n") != 1 {
		t.Errorf("quarantine holds entries of a rejected file:\n%s", q)
	}
	// The ingested export is culled (the default), the rejected ones stay
	// where they were for the next night.
	if _, err := os.Stat(filepath.Join(dir, "inbox/amea/a-good.csv")); !os.IsNotExist(err) {
		t.Errorf("the ingested export was not deleted: %v", err)
	}
	for _, n := range []string{"b-truncated.csv", "c-empty.csv"} {
		if _, err := os.Stat(filepath.Join(dir, "inbox/amea", n)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func TestQuarantineNamesFieldNeverValue(t *testing.T) {
	dir := t.TempDir()
	ameaFile(t, filepath.Join(dir, "inbox/amea/x.csv"), [][4]string{
		{"19121212-1212", "Praktik", "2024-01-01", ""},           // line 2: fine
		{"19121212-1213", "Praktik", "2024-01-01", ""},           // line 3: check digit
		{"19121212-1212", "Trädgårdsarbete", "2024-01-01", ""},   // line 4: unknown measure
		{"19121212-1212", "Praktik", "2024-02-30", ""},           // line 5: no such day
		{"19121212-1212", "Praktik", "2024-03-01", "2024-02-01"}, // line 6: ends before it starts
		{"20120304-TF12", "Praktik", "2024-01-01", ""},           // line 7: reserve number, quarantined by default
	})
	j := job(t, dir, "")
	rep, err := ingest.Run(context.Background(), j, newKey(t), ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != report.ExitQuarantined {
		t.Errorf("exit code %d, want %d", rep.ExitCode, report.ExitQuarantined)
	}
	b, err := os.ReadFile(rep.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{
		"amea/x.csv,3,Personnummer,bad_check_digit",
		"amea/x.csv,4,Åtgärd,unknown_measure",
		"amea/x.csv,5,Startdatum,bad_date",
		"amea/x.csv,6,Slutdatum,end_before_start",
		"amea/x.csv,7,Personnummer,reserve_number",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("quarantine lacks %q:\n%s", want, got)
		}
	}
	for _, leak := range []string{"1212", "TF12", "Trädgård", "Lindqvist", "example.se"} {
		if strings.Contains(got, leak) {
			t.Errorf("quarantine file contains %q", leak)
		}
	}
}

func TestReservePolicies(t *testing.T) {
	for _, c := range []struct {
		policy   string
		accepted int
		nulls    string
	}{
		{"pseudonymise", 2, "0"},
		{"unlinked", 2, "1"},
		{"quarantine", 1, "0"},
	} {
		t.Run(c.policy, func(t *testing.T) {
			dir := t.TempDir()
			ameaFile(t, filepath.Join(dir, "inbox/amea/x.csv"), [][4]string{
				{"19121212-1212", "Praktik", "2024-01-01", ""},
				{"20120304-TF12", "Praktik", "2024-01-01", ""},
			})
			j := job(t, dir, "reserve = \""+c.policy+"\"\n")
			rep, err := ingest.Run(context.Background(), j, newKey(t), ingest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Totals.Accepted != c.accepted {
				t.Fatalf("accepted %d, want %d", rep.Totals.Accepted, c.accepted)
			}
			rows := lakeRows(t, j.Lake, "SELECT count(*) FILTER (WHERE pseudonym IS NULL), count(*) FILTER (WHERE id_kind = 'reserve'), count(sex) FROM lake")
			if rows[0][0] != c.nulls {
				t.Errorf("unlinked rows %s, want %s", rows[0][0], c.nulls)
			}
			if want := map[bool]string{true: "1", false: "0"}[c.policy != "quarantine"]; rows[0][1] != want {
				t.Errorf("reserve rows %s, want %s", rows[0][1], want)
			}
			if rows[0][2] != "1" { // a reserve number carries no sex
				t.Errorf("rows with sex: %s, want 1", rows[0][2])
			}
		})
	}
}

func TestSamePersonAnyFormOnePseudonym(t *testing.T) {
	dir := t.TempDir()
	ameaFile(t, filepath.Join(dir, "inbox/amea/x.csv"), [][4]string{
		// Skatteverket test number 198503012380 in four forms.
		{"19850301-2380", "Praktik", "2020-01-01", "2020-02-01"},
		{"850301-2380", "Praktik", "2021-01-01", "2021-02-01"},
		{" 8503012380 ", "Arbetsträning", "2022-01-01", ""},
		{"198503012380", "Kartläggning", "2023-01-01", ""},
		// 121212-1212 is born 2012 at this reference date, not 1912: another person.
		{"121212-1212", "Praktik", "2024-01-01", ""},
		{"121212+1212", "Praktik", "2024-01-01", ""}, // 19121212-1212, over 100
		{"19121212-1212", "Praktik", "2025-01-01", ""},
	})
	j := job(t, dir, "")
	if _, err := ingest.Run(context.Background(), j, newKey(t), ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	rows := lakeRows(t, j.Lake, "SELECT count(*), count(DISTINCT pseudonym), count(DISTINCT record_key), count(DISTINCT start_year) FROM lake")
	if got := strings.Join(rows[0], ","); got != "7,3,7,6" {
		t.Errorf("rows, persons, record keys, partitions = %s, want 7,3,7,6", got)
	}
}

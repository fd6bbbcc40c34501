package subject_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/aggregates"
	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/pipeline/subject"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/pipeline/verify"
	"github.com/gallra/gallra/schemas"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// rows is the hand-checked lake plus a samordningsnummer (P5, alone in its
// 2022 partition) and a person over 100 exported in the '+' form (P6).
//
//	amea/2022: P5
//	amea/2023: P1 ×2, P3, P6
//	amea/2024: P2 ×2, P4 ×2, U
//	amea/2025: P1
var rows = append(slices.Clone(testlake.HandChecked),
	[4]string{"850286-2397", "Praktik", "2022-05-01", "2022-08-31"},       // P5, samordningsnummer (day 86 = 26 + 60)
	[4]string{"100101+9809", "Arbetsträning", "2023-02-01", "2023-04-30"}, // P6, born 1910
)

// Spellings used in requests.
const (
	p1ten     = "850301-2380"
	p1twelve  = "198503012380"
	p1twelveS = "19850301-2380"
	p3        = "19880101-2397"
	p5twelve  = "19850286-2397"
	p6twelve  = "19100101-9809"
	p6plus    = "100101+9809"
	nobody    = "19880103-2387" // a valid test number that is not in the lake
)

type fixture struct {
	*testlake.Lake
	job *config.Job
	pz  *pseudonym.Pseudonymizer
	ref time.Time
	log *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	l := testlake.Build(t, rows, "")
	job, err := config.Load(filepath.Join(filepath.Dir(l.Dir), "gallra.toml"))
	if err != nil {
		t.Fatal(err)
	}
	pz, err := subject.NewPseudonymizer(job, l.Key)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{Lake: l, job: job, pz: pz, ref: subject.ReferenceDate(job, time.Now()), log: &bytes.Buffer{}}
}

func (f *fixture) opts(ref string, dry bool) subject.Options {
	return subject.Options{Reference: ref, DryRun: dry, Logger: slog.New(slog.NewJSONHandler(f.log, nil))}
}

func (f *fixture) request(t *testing.T, lines ...string) *subject.Request {
	t.Helper()
	q, err := subject.Read(strings.NewReader(strings.Join(lines, "\n")+"\n"), f.pz, f.ref)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// pseudonymOf computes a pseudonym the way the test checks it, independently
// of the package.
func (f *fixture) pseudonymOf(t *testing.T, s string) [16]byte {
	t.Helper()
	id, err := identity.Parse(s, f.ref)
	if err != nil {
		t.Fatal(err)
	}
	return [16]byte(f.pz.Pseudonym(id.Kind.String(), id.Canonical))
}

// secrets are the forms in which the given persons' pseudonyms, and the key,
// could leak.
func (f *fixture) secrets(t *testing.T, ids ...string) []string {
	var out []string
	for _, s := range ids {
		p := f.pseudonymOf(t, s)
		text := pseudonym.Pseudonym(p).String()
		out = append(out, text, strings.ToUpper(text))
		out = append(out, verify.SecretForms(p[:])...)
	}
	return append(out, verify.SecretForms(f.Key.Secret())...)
}

// scanner finds identifiers, e-mail addresses, phone numbers and secrets.
func scanner(secrets []string) *verify.Scanner {
	judge := func(c string) (string, bool) {
		id, err := identity.Parse(c, time.Now())
		if err != nil || (id.Kind != identity.Personnummer && id.Kind != identity.Samordningsnummer) {
			return "", false
		}
		return id.Kind.String(), true
	}
	return &verify.Scanner{Secrets: secrets, IsIdentifier: func(c string) (string, bool) {
		if k, ok := judge(c); ok {
			return k, true
		}
		var d []byte
		for i := 0; i < len(c); i++ {
			if c[i] >= '0' && c[i] <= '9' {
				d = append(d, c[i])
			}
		}
		if len(d) == 12 {
			return judge(string(d[2:]))
		}
		return "", false
	}}
}

func mustBeClean(t *testing.T, s *verify.Scanner, roots ...string) {
	t.Helper()
	findings, stats, err := s.ScanDir(roots...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("found %s", f)
	}
	if len(stats.Unscannable) > 0 {
		t.Errorf("unscannable: %v", stats.Unscannable)
	}
	if stats.Files == 0 {
		t.Error("scanned no file")
	}
}

// lakeRows reads every Parquet file on disk under the lake (not only those
// the manifest lists).
func lakeRows(t *testing.T, dir string) (n int, byPseudonym map[[16]byte]int) {
	t.Helper()
	byPseudonym = map[[16]byte]int{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return err
		}
		return lake.ReadFile(path, func(r lake.Row) error {
			n++
			if r.Pseudonym != nil {
				byPseudonym[*r.Pseudonym]++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, byPseudonym
}

func TestReadSpellingsGiveTheLakesPseudonym(t *testing.T) {
	f := newFixture(t)
	_, inLake := lakeRows(t, f.Dir)
	q := f.request(t, "# KS 2026/17", "", p1ten, "  "+p1twelve+"  ", p1twelveS+"\r", p6plus, p6twelve, p5twelve, "850286-2397", nobody)
	if len(q.Lines) != 8 || q.Persons() != 4 {
		t.Fatalf("%d lines, %d persons; want 8 and 4", len(q.Lines), q.Persons())
	}
	wantSame := []int{0, 3, 3, 0, 6, 0, 8, 0}
	for i, l := range q.Lines {
		if l.Line != i+3 || l.SameAs != wantSame[i] {
			t.Errorf("line %+v, want line %d same as %d", l, i+3, wantSame[i])
		}
	}
	if q.Lines[5].Kind != identity.Samordningsnummer {
		t.Errorf("line 8 kind %v", q.Lines[5].Kind)
	}
	// Each spelling's pseudonym is the one ingest stored.
	for _, s := range []string{p1ten, p1twelve, p6plus, p6twelve, p5twelve} {
		if inLake[f.pseudonymOf(t, s)] == 0 {
			t.Errorf("the pseudonym of a spelling is not in the lake")
		}
	}
	if inLake[f.pseudonymOf(t, nobody)] != 0 {
		t.Error("nobody is in the lake")
	}
	// Printing a request reveals nothing.
	for _, s := range []string{fmt.Sprint(q), fmt.Sprintf("%+v", q), fmt.Sprintf("%#v", *q)} {
		p := pseudonym.Pseudonym(f.pseudonymOf(t, p1ten))
		if strings.Contains(s, p.String()) || strings.Contains(s, fmt.Sprint([16]byte(p))) || strings.Contains(s, "2380") {
			t.Errorf("printing a request leaks: %s", s)
		}
	}
}

func TestReadReportsBadLinesByNumberAndReason(t *testing.T) {
	f := newFixture(t)
	in := strings.Join([]string{
		"# comment with 19850301-2380 in it is skipped",
		p1ten,
		"850301-2381",            // 3: bad check digit
		"Anna Andersson",         // 4: bad format
		"20120304-TF12",          // 5: reserve
		"1985-03-01",             // 6: birth date only
		"",                       // 7
		strings.Repeat("9", 300), // 8: too long
		"19850431-2384",          // 9: impossible date
		"1.98503E+11",            // 10: excel
	}, "\n")
	_, err := subject.Read(strings.NewReader(in), f.pz, f.ref)
	var ie *subject.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err %v, want *InputError", err)
	}
	want := []subject.LineError{{3, "bad_check_digit"}, {4, "bad_format"}, {5, subject.ReasonReserve},
		{6, subject.ReasonBirthDate}, {8, subject.ReasonTooLong}, {9, "impossible_date"}, {10, "excel_scientific"}}
	if !slices.Equal(ie.Lines, want) {
		t.Errorf("lines %v\nwant  %v", ie.Lines, want)
	}
	msg := err.Error()
	for _, leak := range []string{"2381", "Anna", "TF12", "1985", "999", "2384", "E+11"} {
		if strings.Contains(msg, leak) {
			t.Errorf("error message leaks %q: %s", leak, msg)
		}
	}
	if !strings.Contains(msg, "line 3: bad_check_digit") || !strings.Contains(msg, "line 10: excel_scientific") {
		t.Errorf("error message: %s", msg)
	}
	if _, err := subject.Read(strings.NewReader("# only a comment\n\n"), f.pz, f.ref); !errors.Is(err, subject.ErrNoPersons) {
		t.Errorf("empty request: %v", err)
	}
}

func TestCheckReference(t *testing.T) {
	for _, ok := range []string{"KS 2026/0142", "DSO-2026-17", "Dnr 2026:88", "ärende-1"[len("ä"):]} {
		if err := subject.CheckReference(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "19850301-2380", "850301-2380", "198503012380", "KS 850301-2380", "850286-2397",
		"20120304-TF12", "1985-03-01", "070-123 45 67", "anna@example.se", "ärende 1", strings.Repeat("x", 65)} {
		err := subject.CheckReference(bad)
		if !errors.Is(err, subject.ErrReference) {
			t.Errorf("%q accepted", bad)
			continue
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("refusal repeats the reference: %v", err)
		}
	}
}

func TestAccess(t *testing.T) {
	f := newFixture(t)
	before, _ := lake.ReadManifest(f.Dir)
	q := f.request(t, p1ten, p1twelve, p5twelve, p6plus, nobody)
	rep, err := subject.Access(context.Background(), f.job, q, f.opts("KS 2026/0142", false))
	if err != nil {
		t.Fatal(err)
	}
	got := map[int][]string{}
	for _, l := range rep.Lines {
		for _, r := range l.Rows {
			got[l.Line] = append(got[l.Line], r.Source+" "+r.Measure+" "+r.MeasureLabel+" "+r.PeriodStart+" "+r.PeriodEnd)
		}
	}
	p1 := []string{
		"amea PRAKTIK Praktik 2023-03-01 2023-06-30",
		"amea ARBETSTRANING Arbetsträning 2023-07-15 2024-02-29",
		"amea PRAKTIK Praktik 2025-01-10 ",
	}
	want := map[int][]string{
		1: p1, 2: p1,
		3: {"amea PRAKTIK Praktik 2022-05-01 2022-08-31"},
		4: {"amea ARBETSTRANING Arbetsträning 2023-02-01 2023-04-30"},
	}
	for line := 1; line <= 5; line++ {
		if !slices.Equal(got[line], want[line]) {
			t.Errorf("line %d: %q\nwant %q", line, got[line], want[line])
		}
	}
	if rep.Lines[1].SameAs != 1 || rep.Rows() != 5 {
		t.Errorf("same as %d, rows %d", rep.Lines[1].SameAs, rep.Rows())
	}
	c := rep.Log.Counts
	if c["persons_requested"] != 4 || c["persons_found"] != 3 || c["rows_reported"] != 5 || rep.Log.Kind != subject.KindAccess {
		t.Errorf("log %s %v", rep.Log.Kind, c)
	}
	// Access changes nothing.
	after, _ := lake.ReadManifest(f.Dir)
	if after.Generation != before.Generation || rep.Log.Outcome != lakeop.OutcomeNothing {
		t.Errorf("generation %d -> %d, outcome %s", before.Generation, after.Generation, rep.Log.Outcome)
	}

	// The report files: mode 0600, no identifier, no pseudonym; refuse to overwrite.
	out := t.TempDir()
	for _, name := range []string{"r.json", "r.txt", "r.csv"} {
		path := filepath.Join(out, name)
		if err := rep.WriteFile(path, subject.FormatOf(path)); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v", name, err, st.Mode())
		}
		if err := rep.WriteFile(path, subject.FormatOf(path)); err == nil {
			t.Errorf("%s overwritten", name)
		}
	}
	var back subject.AccessReport
	if b, err := os.ReadFile(filepath.Join(out, "r.json")); err != nil || json.Unmarshal(b, &back) != nil || len(back.Lines) != 5 || len(back.Notes) == 0 {
		t.Errorf("json: %v %+v", err, back)
	}
	recs, err := csv.NewReader(mustOpen(t, filepath.Join(out, "r.csv"))).ReadAll()
	if err != nil || len(recs) != 1+3+3+1+1+1 || !slices.Equal(recs[0], subject.CSVHeader) {
		t.Errorf("csv: %v %d records", err, len(recs))
	}
	txt, _ := os.ReadFile(filepath.Join(out, "r.txt"))
	for _, s := range []string{"Request line 2 (personnummer), the same person as line 1: 3 row(s)", "Request line 5 (personnummer): no rows", "hold no link to a person"} {
		if !bytes.Contains(txt, []byte(s)) {
			t.Errorf("text report lacks %q:\n%s", s, txt)
		}
	}
	if err := os.WriteFile(filepath.Join(out, "log.json"), f.log.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	sc := scanner(f.secrets(t, p1ten, p5twelve, p6plus, nobody))
	mustBeClean(t, sc, out, filepath.Join(f.Dir, lake.MetaDir, "runs"))

	// The scan would see a pseudonym or an identifier had one leaked.
	leak := filepath.Join(t.TempDir(), "leak.txt")
	p := pseudonym.Pseudonym(f.pseudonymOf(t, p6plus))
	_ = os.WriteFile(leak, []byte("line 1 "+p.String()+"\nline 2 "+p1ten+"\n"), 0o600)
	if found, err := sc.ScanFile(leak); err != nil || len(found) != 2 {
		t.Errorf("the scan misses leaks: %v %v", err, found)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	return fh
}

// writeExport writes an AMEa export (identifier, measure, start, end per row)
// the way testlake does; drop >= 0 leaves out that column (schema drift).
func writeExport(t *testing.T, path string, rows [][4]string, drop int) {
	t.Helper()
	s, err := schemas.Lookup("amea")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = ';'
	var header []string
	for _, c := range s.Columns {
		header = append(header, c.Name)
	}
	if drop >= 0 {
		header = slices.Delete(header, drop, drop+1)
	}
	_ = w.Write(header)
	for _, r := range rows {
		var rec []string
		for _, c := range s.Columns {
			rec = append(rec, map[string]string{"identifier": r[0], "measure": r[1], "period_start": r[2], "period_end": r[3]}[c.Holds])
		}
		if drop >= 0 {
			rec = slices.Delete(rec, drop, drop+1)
		}
		_ = w.Write(rec)
	}
	w.Flush()
	if err := os.WriteFile(path, b.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestEraseDryRunThenEraseThenAgain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before, _ := lake.ReadManifest(f.Dir)
	n0, inLake := lakeRows(t, f.Dir)
	p1, p6, pp3 := f.pseudonymOf(t, p1ten), f.pseudonymOf(t, p6plus), f.pseudonymOf(t, p3)
	if inLake[p1] != 3 || inLake[p6] != 1 || inLake[pp3] != 1 {
		t.Fatalf("lake before: P1 %d, P6 %d, P3 %d rows", inLake[p1], inLake[p6], inLake[pp3])
	}
	// Exports still on disk: one in the inbox holding P6 (12-digit form),
	// one in the done folder holding nobody of the request, one drifted
	// without its identifier column (unscannable) and one drifted otherwise
	// (scanned by its identifier column) holding P1.
	inbox := filepath.Join(f.job.Inbox, "amea", "late.csv")
	writeExport(t, inbox, [][4]string{{p3, "Praktik", "2026-01-01", ""}, {p6twelve, "Praktik", "2026-02-01", ""}}, -1)
	writeExport(t, filepath.Join(f.job.Done, "amea", "old.csv"), [][4]string{{p3, "Praktik", "2026-01-01", ""}}, -1)
	writeExport(t, filepath.Join(f.job.Inbox, "amea", "drift.csv"), [][4]string{{p1ten, "Praktik", "2026-01-01", ""}}, 0)
	drifted := filepath.Join(f.job.Inbox, "amea", "drift2.csv")
	writeExport(t, drifted, [][4]string{{p3, "Praktik", "2026-01-01", ""}, {p1ten, "Praktik", "2026-01-01", ""}}, 2)
	inboxBefore, _ := os.ReadFile(inbox)

	q := f.request(t, "# erasure, KS 2026/0142", p1twelveS, p1ten, p6twelve, nobody)

	// Dry run: counts, no change.
	res, err := subject.Erase(ctx, f.job, f.Key, q, f.opts("KS 2026/0142", true))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"persons_requested": 3, "persons_found": 2, "rows_erased": 4, "partitions_rewritten": 2,
		"export_files_scanned": 3, "export_files_holding_persons": 2, "export_files_unscannable": 1, "rows_under_other_keys": 0}
	for k, v := range want {
		if res.Log.Counts[k] != v {
			t.Errorf("dry run %s = %d, want %d", k, res.Log.Counts[k], v)
		}
	}
	if res.Log.Outcome != lakeop.OutcomeDryRun {
		t.Errorf("dry run outcome %s", res.Log.Outcome)
	}
	if m, _ := lake.ReadManifest(f.Dir); m.Generation != before.Generation || len(m.Files) != len(before.Files) {
		t.Errorf("dry run changed the lake")
	}
	if n, _ := lakeRows(t, f.Dir); n != n0 {
		t.Errorf("dry run: %d rows, want %d", n, n0)
	}
	if ents, _ := os.ReadDir(filepath.Join(f.Dir, lake.StagingDir)); len(ents) != 0 {
		t.Errorf("dry run left %d staging entries", len(ents))
	}

	// Erase.
	res, err = subject.Erase(ctx, f.job, f.Key, q, f.opts("KS 2026/0142", false))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if res.Log.Counts[k] != v {
			t.Errorf("erase %s = %d, want %d", k, res.Log.Counts[k], v)
		}
	}
	if res.Log.Outcome != lakeop.OutcomeOK || res.Log.Reference != "KS 2026/0142" || res.Log.Kind != subject.KindErase {
		t.Errorf("log %+v", res.Log)
	}
	wantLines := []subject.EraseLine{{Line: 2, Rows: 3}, {Line: 3, SameAs: 2}, {Line: 4, Rows: 1}, {Line: 5}}
	if !slices.Equal(res.Lines, wantLines) {
		t.Errorf("lines %+v, want %+v", res.Lines, wantLines)
	}
	if len(res.Exports) != 2 || res.Exports[0].Path != filepath.ToSlash(drifted) || res.Exports[1].Path != filepath.ToSlash(inbox) || len(res.Unscannable) != 1 || res.Unscannable[0].Reason != "schema_drift" {
		t.Errorf("exports %+v unscannable %+v", res.Exports, res.Unscannable)
	}
	if b, _ := os.ReadFile(inbox); !bytes.Equal(b, inboxBefore) {
		t.Error("erase changed an export")
	}

	// Every Parquet file on disk: the persons' rows are gone, the others stay.
	n1, inLake := lakeRows(t, f.Dir)
	if n1 != n0-4 || inLake[p1] != 0 || inLake[p6] != 0 || inLake[pp3] != 1 {
		t.Errorf("after: %d rows (want %d), P1 %d, P6 %d, P3 %d", n1, n0-4, inLake[p1], inLake[p6], inLake[pp3])
	}
	// Untouched partitions keep their files; 2023 is rewritten, 2025 (only P1) is gone.
	after, _ := lake.ReadManifest(f.Dir)
	kept := map[int]bool{}
	for _, a := range after.Files {
		for _, b := range before.Files {
			if a.Path == b.Path && a.SHA256 == b.SHA256 {
				kept[a.Partition.StartYear] = true
			}
		}
	}
	years := map[int]bool{}
	for _, a := range after.Files {
		years[a.Partition.StartYear] = true
	}
	if !kept[2022] || !kept[2024] || kept[2023] || !years[2023] || years[2025] {
		t.Errorf("kept %v, years %v", kept, years)
	}
	if rep, err := lake.Check(f.Dir, true); err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
	// The run log entry.
	var entry lakeop.Log
	if b, err := os.ReadFile(filepath.Join(f.Dir, lake.MetaDir, "runs", res.Log.RunID+".json")); err != nil || json.Unmarshal(b, &entry) != nil ||
		entry.Kind != subject.KindErase || entry.Counts["rows_erased"] != 4 || len(entry.FilesRemoved) != 2 {
		t.Errorf("run log: %v %+v", err, entry)
	}

	// A second erase finds nothing and commits nothing.
	res, err = subject.Erase(ctx, f.job, f.Key, q, f.opts("KS 2026/0142", false))
	if err != nil {
		t.Fatal(err)
	}
	if res.Log.Outcome != lakeop.OutcomeNothing || res.Log.Counts["persons_found"] != 0 || res.Log.Counts["rows_erased"] != 0 || res.Log.Generation != after.Generation {
		t.Errorf("second erase: %s %v gen %d", res.Log.Outcome, res.Log.Counts, res.Log.Generation)
	}

	// Nothing identifying anywhere: the lake (every Parquet file, the run
	// log, the manifest), the reports and the log; the erased persons'
	// pseudonyms in no form in any file.
	logFile := filepath.Join(t.TempDir(), "log.json")
	if err := os.WriteFile(logFile, f.log.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	mustBeClean(t, scanner(f.secrets(t, p1ten, p6plus, nobody)), f.Dir, f.job.Reports, filepath.Dir(logFile))
	if !strings.Contains(f.log.String(), `"rows_erased":4`) {
		t.Errorf("log lacks counts: %s", f.log.String())
	}
}

func TestEraseNeedsAReference(t *testing.T) {
	f := newFixture(t)
	q := f.request(t, p1ten)
	for _, ref := range []string{"", p1ten, "KS " + p1twelve} {
		if _, err := subject.Erase(context.Background(), f.job, f.Key, q, f.opts(ref, false)); !errors.Is(err, subject.ErrReference) {
			t.Errorf("reference refused? %v", err)
		}
	}
	if _, inLake := lakeRows(t, f.Dir); inLake[f.pseudonymOf(t, p1ten)] != 3 {
		t.Error("erased without a reference")
	}
}

func TestKeyGenerations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k2, err := keyfile.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// A rotated key (the lake's rows still of generation 1) finds the rows
	// by carrying them forward.
	chain, err := f.Key.Extend(k2)
	if err != nil {
		t.Fatal(err)
	}
	pz, _ := subject.NewPseudonymizer(f.job, chain)
	q, err := subject.Read(strings.NewReader(p1ten+"\n"), pz, f.ref)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := subject.Access(ctx, f.job, q, f.opts("", false))
	if err != nil || rep.Rows() != 3 || rep.Log.Counts["rows_under_other_keys"] != 0 {
		t.Errorf("rotated key: %v, %d rows, %v", err, rep.Rows(), rep.Log.Counts)
	}
	// An unrelated key finds nobody and says why.
	pz, _ = subject.NewPseudonymizer(f.job, k2)
	q, _ = subject.Read(strings.NewReader(p1ten+"\n"), pz, f.ref)
	rep, err = subject.Access(ctx, f.job, q, f.opts("", false))
	if err != nil || rep.Rows() != 0 || rep.Log.Counts["rows_under_other_keys"] != int64(len(rows)-1) {
		t.Errorf("other key: %v, %d rows, %v", err, rep.Rows(), rep.Log.Counts)
	}
	if !strings.Contains(f.log.String(), "another key") {
		t.Errorf("no warning logged: %s", f.log.String())
	}
}

// freeze freezes years from the whole lake, as retention does.
func freeze(t *testing.T, f *fixture, years ...int) {
	t.Helper()
	_, err := lakeop.Do(context.Background(), f.Dir, func(ctx context.Context, tx *lakeop.Tx) error {
		for _, y := range years {
			cells, err := aggregates.Compute(ctx, f.DB, f.Key, "lake", y)
			if err != nil {
				return err
			}
			_, err = tx.StageFile(lake.Partition{Table: lake.TableAggregates, StartYear: y}, "part-"+tx.RunID+".parquet",
				func(w io.Writer) (int64, error) { return aggregates.Write(w, cells, tx.RunID, time.Now()) })
			if err != nil {
				return err
			}
		}
		return nil
	}, lakeop.Options{Kind: "test-freeze"})
	if err != nil {
		t.Fatal(err)
	}
}

func frozen(t *testing.T, f *fixture, year int) []aggregates.Cell {
	t.Helper()
	m, err := lake.ReadManifest(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []aggregates.Cell
	for _, fi := range m.TableFiles(lake.TableAggregates) {
		if fi.Partition.StartYear == year {
			cells, _, _, err := aggregates.ReadFile(filepath.Join(f.Dir, filepath.FromSlash(fi.Path)))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, cells...)
		}
	}
	return out
}

func TestEraseSubtractsFromFrozenAggregates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	freeze(t, f, 2023, 2024)
	frozen2023 := frozen(t, f, 2023)
	// After the freeze, a late export gives P1 an earlier start (2022): not
	// counted in the frozen years, so it must not count in what erasure
	// subtracts either (else P1 would no longer be a new entrant of 2023).
	writeExport(t, filepath.Join(f.job.Inbox, "amea", "late.csv"), [][4]string{{p1twelve, "Praktik", "2022-12-01", "2022-12-20"}}, -1)
	if _, err := ingest.Run(ctx, f.job, f.Key, ingest.Options{}); err != nil {
		t.Fatal(err)
	}

	q := f.request(t, p1ten)
	dry, err := subject.Erase(ctx, f.job, f.Key, q, f.opts("KS 2026/0142", true))
	if err != nil {
		t.Fatal(err)
	}
	if dry.Log.Counts["aggregate_years_changed"] != 2 || !slices.Equal(frozen(t, f, 2023), frozen2023) {
		t.Errorf("dry run: %v, or it changed the frozen cells", dry.Log.Counts)
	}
	res, err := subject.Erase(ctx, f.job, f.Key, q, f.opts("KS 2026/0142", false))
	if err != nil {
		t.Fatal(err)
	}
	c := res.Log.Counts
	if c["rows_erased"] != 4 || c["aggregate_years_changed"] != 2 || c["aggregate_cells_changed"] == 0 || c["aggregate_cells_clamped"] != 0 {
		t.Errorf("counts %v", c)
	}
	// Each frozen year now holds exactly what freezing the lake without P1
	// would have given.
	if err := duck.LakeView(ctx, f.DB, f.Dir); err != nil {
		t.Fatal(err)
	}
	for _, y := range []int{2023, 2024} {
		want, err := aggregates.Compute(ctx, f.DB, f.Key, "lake", y)
		if err != nil {
			t.Fatal(err)
		}
		got := frozen(t, f, y)
		if !slices.Equal(got, want) {
			t.Errorf("%d after erasure:\n got %v\nwant %v", y, got, want)
		}
	}
	if n := totalOf(frozen2023, aggregates.NewEntrants) - totalOf(frozen(t, f, 2023), aggregates.NewEntrants); n != 1 {
		t.Errorf("new entrants of 2023 went down by %d, want 1", n)
	}
	if rep, err := lake.Check(f.Dir, true); err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
	// A second erasure changes nothing.
	res, err = subject.Erase(ctx, f.job, f.Key, q, f.opts("KS 2026/0142", false))
	if err != nil || res.Log.Outcome != lakeop.OutcomeNothing || res.Log.Counts["aggregate_cells_changed"] != 0 {
		t.Errorf("second erase: %v %s %v", err, res.Log.Outcome, res.Log.Counts)
	}
}

func totalOf(cells []aggregates.Cell, stat string) int64 {
	for _, c := range cells {
		if c.Statistic == stat && c.Source == tables.Total && c.Measure == tables.Total {
			return c.Value
		}
	}
	return -1
}

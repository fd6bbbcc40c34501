package ingest_test

// Simulated nights: exports arrive in the inbox night after night, as full
// snapshots of a register and as deltas, and the lake must merge them into
// one history, skip what it already holds and say what it did.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/merge"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/verify"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// Three of Skatteverket's test personnummer: never real people.
const (
	personA = "19850301-2380"
	personB = "19121212-1212"
	personC = "19750107-9292"
)

const (
	ameaSource = "[[source]]\nname = \"amea\"\nmunicipality = \"0680\"\nkeep = [\"sex\"]\n"
	afSource   = "[[source]]\nname = \"af_program\"\nkeep = [\"municipality\"]\n"
)

// nightJob writes and loads a job file: top-level settings (settle = "0s"
// unless top names its own), then the sources.
func nightJob(t *testing.T, dir, top, sources string) *config.Job {
	t.Helper()
	if !strings.Contains(top, "settle") {
		top += "settle = \"0s\"\n"
	}
	p := filepath.Join(dir, "gallra.toml")
	body := "reference_date = \"2026-11-23\"\n" + top + sources
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// night runs the job once and fails the test if the run failed.
func night(t *testing.T, j *config.Job, key pseudonym.Key, opt ...ingest.Options) *report.Run {
	t.Helper()
	o := ingest.Options{Version: "test"}
	if len(opt) > 0 {
		o = opt[0]
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rep, err := ingest.Run(context.Background(), j, key, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// partitionFiles maps each partition of the manifest to its files' paths and
// hashes.
func partitionFiles(t *testing.T, lakeDir string) map[string][]string {
	t.Helper()
	m, err := lake.ReadManifest(lakeDir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range m.Files {
		out[f.Partition.Dir()] = append(out[f.Partition.Dir()], f.Path+" "+f.SHA256)
	}
	return out
}

func generation(t *testing.T, lakeDir string) int64 {
	t.Helper()
	m, err := lake.ReadManifest(lakeDir)
	if err != nil {
		t.Fatal(err)
	}
	return m.Generation
}

func stats(rep *report.Run, source string, year int) (merge.Stats, bool) {
	for _, s := range rep.Partitions {
		if s.Partition == (lake.Partition{Source: source, StartYear: year}) {
			return s, true
		}
	}
	return merge.Stats{}, false
}

// globRows runs a query over every Parquet file under the lake (not only the
// manifest's), as the table "files".
func globRows(t *testing.T, lakeDir, q string) [][]string {
	t.Helper()
	ctx := context.Background()
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src := "read_parquet(" + duck.LakeGlob(lakeDir) + ", hive_partitioning = true, hive_types = {'source': VARCHAR, 'start_year': INTEGER})"
	_, rows, err := duck.Query(ctx, db, strings.ReplaceAll(q, "files", src))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func pseudonymOf(t *testing.T, key pseudonym.Key, raw string) string {
	t.Helper()
	pz, err := pseudonym.NewPseudonymizer(key, "lake")
	if err != nil {
		t.Fatal(err)
	}
	id, err := identity.Parse(raw, ref)
	if err != nil {
		t.Fatal(err)
	}
	return pz.Pseudonym(id.Kind.String(), id.Canonical).String()
}

// statuses shows the files of a report: path, status and reason.
func statuses(files []*report.InputFile) string {
	var out []string
	for _, f := range files {
		out = append(out, fmt.Sprintf("%s %s %q", f.Path, f.Status, f.Reason))
	}
	return "[" + strings.Join(out, "; ") + "]"
}

func joinRows(rows [][]string) string {
	var lines []string
	for _, r := range rows {
		lines = append(lines, strings.Join(r, " "))
	}
	return strings.Join(lines, "\n")
}

// TestSnapshotNights: a person who leaves the register keeps their history,
// an ongoing period gets its end date in place, and a partition whose rows
// did not change is not rewritten.
func TestSnapshotNights(t *testing.T) {
	dir := t.TempDir()
	j := nightJob(t, dir, "", ameaSource)
	key := newKey(t)
	ameaFile(t, filepath.Join(dir, "inbox/amea/amea-20261122.csv"), [][4]string{
		{personA, "Praktik", "2023-02-01", "2023-05-31"},
		{personB, "Arbetsträning", "2024-03-01", ""},
		{personC, "Kartläggning", "2022-01-10", "2022-03-10"},
	})
	rep1 := night(t, j, key)
	if rep1.ExitCode != report.ExitOK || rep1.Totals.Accepted != 3 {
		t.Fatalf("night 1: exit %d, accepted %d", rep1.ExitCode, rep1.Totals.Accepted)
	}
	before := partitionFiles(t, j.Lake)

	// Night 2: A has left the register, B's period has ended, C is as it was.
	ameaFile(t, filepath.Join(dir, "inbox/amea/amea-20261123.csv"), [][4]string{
		{personB, "Arbetsträning", "2024-03-01", "2024-09-30"},
		{personC, "Kartläggning", "2022-01-10", "2022-03-10"},
	})
	rep2 := night(t, j, key)
	if rep2.ExitCode != report.ExitOK {
		t.Fatalf("night 2: exit %d (%s)", rep2.ExitCode, rep2.Error)
	}

	want := "KARTLAGGNING 2022-01-10 2022-03-10 2022\nPRAKTIK 2023-02-01 2023-05-31 2023\nARBETSTRANING 2024-03-01 2024-09-30 2024"
	q := "SELECT measure, period_start, period_end, start_year FROM %s ORDER BY period_start"
	if got := joinRows(lakeRows(t, j.Lake, fmt.Sprintf(q, "lake"))); got != want {
		t.Errorf("lake after night 2:\n%s\nwant\n%s", got, want)
	}
	if got := joinRows(globRows(t, j.Lake, fmt.Sprintf(q, "files"))); got != want {
		t.Errorf("every Parquet file under the lake after night 2:\n%s\nwant\n%s", got, want)
	}
	for person, n := range map[string]string{personA: "1", personB: "1", personC: "1"} {
		rows := lakeRows(t, j.Lake, "SELECT count(*) FROM lake WHERE pseudonym = '"+pseudonymOf(t, key, person)+"'")
		if rows[0][0] != n {
			t.Errorf("person %c has %s rows, want %s", 'A'+strings.Index(personA+personB+personC, person)/len(personA), rows[0][0], n)
		}
	}

	after := partitionFiles(t, j.Lake)
	for _, p := range []string{"source=amea/start_year=2022", "source=amea/start_year=2023"} {
		if !slices.Equal(after[p], before[p]) || len(after[p]) != 1 {
			t.Errorf("%s was rewritten: %v -> %v", p, before[p], after[p])
		}
	}
	if p := "source=amea/start_year=2024"; len(after[p]) != 1 || slices.Equal(after[p], before[p]) {
		t.Errorf("%s: %v -> %v, want one new file", p, before[p], after[p])
	}
	if s, ok := stats(rep2, "amea", 2022); !ok || s.Unchanged != 1 || s.Rewritten || s.Inserted+s.Updated != 0 {
		t.Errorf("report for amea/2022: %+v (present %v), want 1 unchanged, not rewritten", s, ok)
	}
	if s, ok := stats(rep2, "amea", 2024); !ok || s.Updated != 1 || !s.Rewritten || s.Inserted != 0 {
		t.Errorf("report for amea/2024: %+v (present %v), want 1 updated, rewritten", s, ok)
	}
	if s, ok := stats(rep2, "amea", 2023); ok {
		t.Errorf("report has amea/2023, which night 2 never touched: %+v", s)
	}
	old2024 := strings.Fields(before["source=amea/start_year=2024"][0])[0]
	if !slices.Equal(rep2.Superseded, []string{old2024}) {
		t.Errorf("superseded %v, want only %s", rep2.Superseded, old2024)
	}
	if _, err := os.Stat(filepath.Join(j.Lake, filepath.FromSlash(old2024))); !os.IsNotExist(err) {
		t.Errorf("superseded file still on disk: %v", err)
	}
}

// TestMunicipalityColumn: a kommunkod column's code is kept (white space
// around it ignored), a blank one leaves the row without a municipality,
// and a code the code list does not have quarantines the row, naming the
// file, line and column, while the rows around it are kept.
func TestMunicipalityColumn(t *testing.T) {
	dir := t.TempDir()
	j := nightJob(t, dir, "", afSource)
	row := func(id, person, kommun string) map[string]string {
		return map[string]string{"record_id": id, "identifier": person, "measure": "Nystartsjobb",
			"period_start": "2024-02-05", "period_end": "", "municipality": kommun}
	}
	exportFile(t, filepath.Join(dir, "inbox/af_program/af-20261123.csv"), "af_program", ',', []map[string]string{
		row("A-1", personA, " 2580 "), // line 2
		row("A-2", personB, "9999"),   // line 3: no such kommunkod
		row("A-3", personC, ""),       // line 4
		row("A-4", personB, "0180"),   // line 5
	})
	rep := night(t, j, newKey(t))
	if rep.ExitCode != report.ExitQuarantined || rep.Totals.Accepted != 3 || rep.Totals.Quarantined["unknown_municipality"] != 1 {
		t.Fatalf("exit %d, accepted %d, quarantined %v: want %d, 3, one unknown_municipality",
			rep.ExitCode, rep.Totals.Accepted, rep.Totals.Quarantined, report.ExitQuarantined)
	}
	q, err := os.ReadFile(rep.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	if want := "af_program/af-20261123.csv,3,Kommunkod,unknown_municipality"; !strings.Contains(string(q), want) {
		t.Errorf("quarantine lacks %q:\n%s", want, q)
	}
	got := joinRows(lakeRows(t, j.Lake, "SELECT coalesce(municipality, 'NULL') FROM lake ORDER BY 1"))
	if want := "0180\n2580\nNULL"; got != want {
		t.Errorf("municipalities in the lake:\n%s\nwant\n%s", got, want)
	}
}

// TestRecordIDCorrections: under the source's own record ID a corrected
// measure replaces the old one, and a corrected start date moves the
// participation to its new start year, leaving nothing in the old one.
func TestRecordIDCorrections(t *testing.T) {
	dir := t.TempDir()
	j := nightJob(t, dir, "", afSource)
	key := newKey(t)
	afFile(t, filepath.Join(dir, "inbox/af_program/af-20261122.csv"), [][5]string{
		{"A-1001", personA, "Nystartsjobb", "2023-05-02", "2023-12-29"},
		{"A-1002", personB, "Lönebidrag", "2024-02-05", ""},
		{"A-1003", personC, "Etableringsprogrammet", "2023-08-01", ""},
	})
	if rep := night(t, j, key); rep.ExitCode != report.ExitOK || rep.Totals.Accepted != 3 {
		t.Fatalf("night 1: exit %d, accepted %d (%s)", rep.ExitCode, rep.Totals.Accepted, rep.Error)
	}
	if got := partitionFiles(t, j.Lake); len(got["source=af_program/start_year=2024"]) != 1 {
		t.Fatalf("night 1 partitions %v", got)
	}

	// Night 2, a delta: A-1001 was registered under the wrong programme,
	// A-1002 really started in November 2023.
	afFile(t, filepath.Join(dir, "inbox/af_program/af-delta-20261123.csv"), [][5]string{
		{"A-1001", personA, "Arbetsmarknadsutbildning", "2023-05-02", "2023-12-29"},
		{"A-1002", personB, "Lönebidrag", "2023-11-15", ""},
	})
	rep := night(t, j, key)
	if rep.ExitCode != report.ExitOK {
		t.Fatalf("night 2: exit %d (%s)", rep.ExitCode, rep.Error)
	}

	want := "ARBETSMARKNADSUTBILDNING 2023-05-02 2023-12-29 2023\nETABLERING 2023-08-01 NULL 2023\nLONEBIDRAG 2023-11-15 NULL 2023"
	q := "SELECT measure, period_start, coalesce(CAST(period_end AS VARCHAR), 'NULL'), start_year FROM %s ORDER BY period_start"
	if got := joinRows(lakeRows(t, j.Lake, fmt.Sprintf(q, "lake"))); got != want {
		t.Errorf("lake after the corrections:\n%s\nwant\n%s", got, want)
	}
	if got := joinRows(globRows(t, j.Lake, fmt.Sprintf(q, "files"))); got != want {
		t.Errorf("every Parquet file under the lake:\n%s\nwant\n%s", got, want)
	}
	if got := lakeRows(t, j.Lake, "SELECT count(*), count(DISTINCT record_key) FROM lake"); strings.Join(got[0], ",") != "3,3" {
		t.Errorf("rows, record keys = %v, want 3,3", got[0])
	}
	if got := partitionFiles(t, j.Lake); len(got["source=af_program/start_year=2024"]) != 0 {
		t.Errorf("the manifest still lists files in the start year the participation left: %v", got)
	}
	if _, err := os.Stat(filepath.Join(j.Lake, "source=af_program", "start_year=2024")); !os.IsNotExist(err) {
		t.Errorf("the emptied partition directory is still there: %v", err)
	}
	if s, ok := stats(rep, "af_program", 2024); !ok || s.MovedOut != 1 || !s.Rewritten {
		t.Errorf("report for af_program/2024: %+v (present %v), want 1 moved out", s, ok)
	}
	if s, ok := stats(rep, "af_program", 2023); !ok || s.Updated != 2 || s.Inserted != 0 {
		t.Errorf("report for af_program/2023: %+v (present %v), want 2 updated, none inserted", s, ok)
	}
}

// TestSameExportInTwoSources: an export that is also delivered to a source
// whose schema it does not fit is the first one's duplicate, not schema
// drift: the copy is not read, so it is hashed before the decision, which
// waits for the first one, hashed only as it is read.
func TestSameExportInTwoSources(t *testing.T) {
	dir := t.TempDir()
	j := nightJob(t, dir, "", ameaSource+afSource)
	rows := [][4]string{{personA, "Praktik", "2023-02-01", "2023-05-31"}}
	ameaFile(t, filepath.Join(dir, "inbox/amea/export.csv"), rows)
	ameaFile(t, filepath.Join(dir, "inbox/af_program/export.csv"), rows)
	rep := night(t, j, newKey(t))
	var got []string
	for _, s := range rep.Sources {
		for _, f := range s.Files {
			got = append(got, f.Path+" "+f.Status+" "+f.Reason)
		}
	}
	want := []string{"amea/export.csv ok ", "af_program/export.csv duplicate same content as amea/export.csv in this run"}
	if !slices.Equal(got, want) {
		t.Errorf("files:\n%q\nwant\n%q", got, want)
	}
}

// TestSameExportTwice: an export delivered twice in one night, and again the
// next night, counts once: a CSV export is hashed as it is read, so the copy
// is read too, but neither its rows nor its quarantined records count or
// reach the lake and the quarantine; a night of duplicates changes nothing.
func TestSameExportTwice(t *testing.T) {
	dir := t.TempDir()
	j := nightJob(t, dir, "", ameaSource)
	key := newKey(t)
	rows := [][4]string{
		{personA, "Praktik", "2023-02-01", "2023-05-31"},
		{personB, "Arbetsträning", "2024-03-01", ""},
		{personB, "Arbetsträning", "2024-13-01", ""}, // quarantined: bad date
	}
	ameaFile(t, filepath.Join(dir, "inbox/amea/export-a.csv"), rows)
	ameaFile(t, filepath.Join(dir, "inbox/amea/export-b.csv"), rows)
	content, err := os.ReadFile(filepath.Join(dir, "inbox/amea/export-a.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rep1 := night(t, j, key)
	files := rep1.Sources[0].Files
	if len(files) != 2 || files[0].Status != report.FileOK || files[1].Status != report.FileDuplicate ||
		!strings.Contains(files[1].Reason, "amea/export-a.csv") {
		t.Fatalf("night 1 files: %s", statuses(files))
	}
	sum := sha256.Sum256(content)
	for _, f := range files {
		if f.SHA256 != hex.EncodeToString(sum[:]) || f.Bytes != int64(len(content)) {
			t.Errorf("%s: recorded sha256 %s, %d bytes; the file's is %x, %d bytes", f.Path, f.SHA256, f.Bytes, sum, len(content))
		}
	}
	if rep1.Totals.Read != 3 || rep1.Totals.Accepted != 2 || rep1.Totals.QuarantinedTotal() != 1 ||
		rep1.Totals.DuplicateFiles != 1 || rep1.ExitCode != report.ExitQuarantined {
		t.Errorf("night 1 totals %+v, exit %d", rep1.Totals, rep1.ExitCode)
	}
	q, err := os.ReadFile(rep1.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(q), "amea/export-a.csv,4,") || strings.Contains(string(q), "export-b.csv") {
		t.Errorf("quarantine: want line 4 of export-a.csv only:\n%s", q)
	}
	if got := lakeRows(t, j.Lake, "SELECT count(*) FROM lake")[0][0]; got != "2" {
		t.Errorf("lake rows %s, want 2", got)
	}
	for _, n := range []string{"export-a.csv", "export-b.csv"} {
		if _, err := os.Stat(filepath.Join(j.Inbox, "amea", n)); !os.IsNotExist(err) {
			t.Errorf("%s was not culled: %v", n, err)
		}
	}

	// Night 2: the same export again, under a new name.
	ameaFile(t, filepath.Join(dir, "inbox/amea/export-c.csv"), rows)
	gen := generation(t, j.Lake)
	lakeBefore := lakeDigest(t, j.Lake)
	rep2 := night(t, j, key)
	f := rep2.Sources[0].Files
	if len(f) != 1 || f[0].Status != report.FileDuplicate || !strings.Contains(f[0].Reason, rep1.RunID) {
		t.Fatalf("night 2 files: %s", statuses(f))
	}
	if rep2.Generation != gen || generation(t, j.Lake) != gen {
		t.Errorf("a night of duplicates moved the lake from generation %d to %d (report %d)", gen, generation(t, j.Lake), rep2.Generation)
	}
	if len(rep2.LakeFiles) != 0 || len(rep2.Superseded) != 0 || rep2.Totals.Read != 0 || rep2.ExitCode != report.ExitOK {
		t.Errorf("night 2 wrote %d files, superseded %d, read %d rows, exit %d", len(rep2.LakeFiles), len(rep2.Superseded), rep2.Totals.Read, rep2.ExitCode)
	}
	sameLake(t, lakeDigest(t, j.Lake), lakeBefore)
	if _, err := os.Stat(filepath.Join(j.Inbox, "amea", "export-c.csv")); !os.IsNotExist(err) {
		t.Errorf("the duplicate was not culled: %v", err)
	}
}

// lakeDigest hashes every file of the lake except its run log and lock.
func lakeDigest(t *testing.T, lakeDir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(lakeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(lakeDir, p)
		rel = filepath.ToSlash(rel)
		if rel == lake.MetaDir+"/runs" || rel == lake.MetaDir+"/"+lake.LockFile {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			out[rel] = "dir"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameLake(t *testing.T, got, want map[string]string) {
	t.Helper()
	for p, h := range want {
		if got[p] != h {
			t.Errorf("lake: %s changed", p)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("lake: %s appeared", p)
		}
	}
}

// driftFile writes an AMEa export whose header has gained a column.
func driftFile(t *testing.T, path string) {
	t.Helper()
	ameaFile(t, path, [][4]string{{personC, "Praktik", "2021-01-01", ""}})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = strings.TrimSuffix(l, "\n") + ";Kommentar\n"
		}
	}
	writeFile(t, path, []byte(strings.Join(lines, "")))
}

// TestAfterIngest: what happens to an export once the lake holds it, and that
// a rejected export is never culled.
func TestAfterIngest(t *testing.T) {
	for _, policy := range []string{"delete", "move", "keep"} {
		t.Run(policy, func(t *testing.T) {
			dir := t.TempDir()
			j := nightJob(t, dir, "after_ingest = \""+policy+"\"\n", ameaSource)
			key := newKey(t)
			good := filepath.Join(j.Inbox, "amea", "good.csv")
			drift := filepath.Join(j.Inbox, "amea", "drift.csv")
			ameaFile(t, good, [][4]string{{personA, "Praktik", "2023-02-01", "2023-05-31"}})
			driftFile(t, drift)
			goodBytes, _ := os.ReadFile(good)
			driftBytes, _ := os.ReadFile(drift)

			rep := night(t, j, key)
			if rep.ExitCode != report.ExitRejected || rep.Totals.RejectedFiles != 1 {
				t.Fatalf("exit %d, rejected %d; want %d, 1", rep.ExitCode, rep.Totals.RejectedFiles, report.ExitRejected)
			}
			if b, err := os.ReadFile(drift); err != nil || !bytes.Equal(b, driftBytes) {
				t.Errorf("the rejected export did not stay in the inbox as it was: %v", err)
			}
			if _, err := os.Stat(filepath.Join(j.Done, "amea", "drift.csv")); !os.IsNotExist(err) {
				t.Errorf("the rejected export reached the done folder: %v", err)
			}
			_, errInbox := os.Stat(good)
			moved, errDone := os.ReadFile(filepath.Join(j.Done, "amea", "good.csv"))
			switch policy {
			case "delete":
				if !os.IsNotExist(errInbox) || !os.IsNotExist(errDone) {
					t.Errorf("delete: inbox %v, done %v; want the export gone", errInbox, errDone)
				}
			case "move":
				if !os.IsNotExist(errInbox) || errDone != nil || !bytes.Equal(moved, goodBytes) {
					t.Errorf("move: inbox %v, done %v; want the export under done/amea/", errInbox, errDone)
				}
				// A later export of the same name does not overwrite the first.
				ameaFile(t, good, [][4]string{{personB, "Praktik", "2024-02-01", ""}})
				rep2 := night(t, j, key)
				if b, err := os.ReadFile(filepath.Join(j.Done, "amea", "good.csv")); err != nil || !bytes.Equal(b, goodBytes) {
					t.Errorf("night 2 replaced the first moved export: %v", err)
				}
				if _, err := os.Stat(filepath.Join(j.Done, "amea", rep2.RunID+"-good.csv")); err != nil {
					t.Errorf("night 2's export of the same name: %v", err)
				}
			case "keep":
				if errInbox != nil || !os.IsNotExist(errDone) {
					t.Errorf("keep: inbox %v, done %v; want the export left in the inbox", errInbox, errDone)
				}
				gen := generation(t, j.Lake)
				rep2 := night(t, j, key)
				if f := rep2.Sources[0].Files; len(f) != 2 || f[1].Status != report.FileDuplicate || rep2.Generation != gen {
					t.Errorf("keep, night 2: files %s, generation %d -> %d", statuses(f), gen, rep2.Generation)
				}
			}
			if _, err := os.Stat(drift); err != nil {
				t.Errorf("the rejected export left the inbox: %v", err)
			}
		})
	}
}

// TestStillBeingWritten: an export modified less than settle ago is left for
// the next night; the run's other exports go on.
func TestStillBeingWritten(t *testing.T) {
	dir := t.TempDir()
	j := nightJob(t, dir, "settle = \"60s\"\n", ameaSource)
	key := newKey(t)
	settled := filepath.Join(j.Inbox, "amea", "a-settled.csv")
	fresh := filepath.Join(j.Inbox, "amea", "b-fresh.csv")
	ameaFile(t, settled, [][4]string{{personA, "Praktik", "2023-02-01", "2023-05-31"}})
	ameaFile(t, fresh, [][4]string{{personB, "Praktik", "2024-02-01", ""}})
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(settled, old, old); err != nil {
		t.Fatal(err)
	}
	rep := night(t, j, key)
	files := rep.Sources[0].Files
	if len(files) != 2 || files[0].Status != report.FileOK || files[1].Status != report.FileRejected || files[1].Reason != "still_being_written" {
		t.Fatalf("files: %s", statuses(files))
	}
	if rep.ExitCode != report.ExitRejected {
		t.Errorf("exit %d, want %d", rep.ExitCode, report.ExitRejected)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("the export being written left the inbox: %v", err)
	}
	if _, err := os.Stat(settled); !os.IsNotExist(err) {
		t.Errorf("the settled export was not culled: %v", err)
	}
	if got := lakeRows(t, j.Lake, "SELECT measure, period_start FROM lake"); joinRows(got) != "PRAKTIK 2023-02-01" {
		t.Errorf("lake %v, want only the settled export's row", got)
	}

	// The next night, two minutes later, it has settled.
	rep2 := night(t, j, key, ingest.Options{Version: "test", Now: func() time.Time { return time.Now().Add(2 * time.Minute) }})
	if f := rep2.Sources[0].Files; len(f) != 1 || f[0].Status != report.FileOK || rep2.ExitCode != report.ExitOK {
		t.Fatalf("next night: exit %d, files %s", rep2.ExitCode, statuses(f))
	}
	if got := lakeRows(t, j.Lake, "SELECT count(*) FROM lake")[0][0]; got != "2" {
		t.Errorf("lake rows %s, want 2", got)
	}
}

// TestUnchangedSnapshotLeavesNothingBehind: a snapshot re-exported with the
// same content (other bytes) rewrites nothing, and the night after it has
// nothing to recover.
func TestUnchangedSnapshotLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	j := nightJob(t, dir, "", ameaSource)
	key := newKey(t)
	rows := [][4]string{
		{personA, "Praktik", "2023-02-01", "2023-05-31"},
		{personB, "Arbetsträning", "2024-03-01", ""},
	}
	ameaFile(t, filepath.Join(j.Inbox, "amea", "n1.csv"), rows)
	night(t, j, key)
	before := partitionFiles(t, j.Lake)

	ameaFile(t, filepath.Join(j.Inbox, "amea", "n2.csv"), [][4]string{rows[1], rows[0]})
	rep := night(t, j, key)
	if rep.ExitCode != report.ExitOK || len(rep.LakeFiles) != 0 || len(rep.Superseded) != 0 {
		t.Fatalf("unchanged snapshot: exit %d, wrote %v, superseded %v", rep.ExitCode, rep.LakeFiles, rep.Superseded)
	}
	for _, s := range rep.Partitions {
		if s.Rewritten || s.Unchanged != 1 {
			t.Errorf("partition %s: %+v, want 1 unchanged, not rewritten", s.Partition, s)
		}
	}
	if after := partitionFiles(t, j.Lake); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("files changed: %v -> %v", before, after)
	}
	if entries, err := os.ReadDir(filepath.Join(j.Lake, lake.StagingDir)); err == nil && len(entries) > 0 {
		t.Errorf("a committed run left %s/%s behind", lake.StagingDir, entries[0].Name())
	}
	rep3 := night(t, j, key)
	if rep3.Recovery != nil {
		t.Errorf("the night after a clean run reports a recovery: %+v", *rep3.Recovery)
	}
}

// TestRunLog: every run leaves its record in the lake's run log, with what an
// auditor needs and nothing identifying.
func TestRunLog(t *testing.T) {
	dir := t.TempDir()
	j := nightJob(t, dir, "", ameaSource+afSource)
	key := newKey(t)
	n1 := filepath.Join(j.Inbox, "amea", "n1.csv")
	ameaFile(t, n1, [][4]string{
		{personA, "Praktik", "2023-02-01", ""},
		{"19850301-2381", "Praktik", "2023-02-01", ""}, // a bad check digit: quarantined
	})
	af := filepath.Join(j.Inbox, "af_program", "af.csv")
	afFile(t, af, [][5]string{{"A-1", personB, "Lönebidrag", "2024-02-05", ""}})
	hashes := map[string]bool{}
	for _, p := range []string{n1, af} {
		b, _ := os.ReadFile(p)
		sum := sha256.Sum256(b)
		hashes[hex.EncodeToString(sum[:])] = true
	}
	rep1 := night(t, j, key)
	ameaFile(t, filepath.Join(j.Inbox, "amea", "n2.csv"), [][4]string{{personA, "Praktik", "2023-02-01", "2023-06-30"}})
	rep2 := night(t, j, key)

	logDir := filepath.Join(j.Lake, lake.MetaDir, "runs")
	entries, err := os.ReadDir(logDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{rep1.RunID + ".json", rep2.RunID + ".json"}
	slices.Sort(want) // run IDs sort by the second they started in, then at random
	if !slices.Equal(names, want) {
		t.Fatalf("run log %v, want %v", names, want)
	}
	names = []string{rep1.RunID + ".json", rep2.RunID + ".json"}
	for i, want := range []*report.Run{rep1, rep2} {
		got, err := report.ReadJSON(filepath.Join(logDir, names[i]))
		if err != nil {
			t.Fatal(err)
		}
		if got.RunID != want.RunID || got.Outcome != want.Outcome || got.Outcome == "" || got.KeyID != key.ID() ||
			got.Started.IsZero() || got.Finished.Before(got.Started) || got.Version != "test" || got.Generation != want.Generation {
			t.Errorf("run log %s: run %q outcome %q key %q version %q %v..%v generation %d",
				names[i], got.RunID, got.Outcome, got.KeyID, got.Version, got.Started, got.Finished, got.Generation)
		}
		if len(got.Partitions) == 0 {
			t.Errorf("run log %s has no partition stats", names[i])
		}
		if i == 0 {
			seen := map[string]bool{}
			for _, s := range got.Sources {
				for _, f := range s.Files {
					seen[f.SHA256] = true
				}
			}
			for h := range hashes {
				if !seen[h] {
					t.Errorf("run log %s lacks input hash %s", names[i], h)
				}
			}
			if got.Totals.Quarantined["bad_check_digit"] != 1 || got.Totals.Accepted != 2 {
				t.Errorf("run log %s totals %+v", names[i], got.Totals)
			}
		} else if s, ok := stats(got, "amea", 2023); !ok || s.Updated != 1 {
			t.Errorf("run log %s: amea/2023 %+v, want 1 updated", names[i], s)
		}
	}

	// Nothing identifying: no valid identifier in any form, no filler from
	// the exports, no key material.
	secret := key.Secret()
	sc := &verify.Scanner{
		IsIdentifier: func(c string) (string, bool) {
			id, err := identity.Parse(c, ref)
			if err != nil || (id.Kind != identity.Personnummer && id.Kind != identity.Samordningsnummer) {
				return "", false
			}
			return id.Kind.String(), true
		},
		Secrets: []string{hex.EncodeToString(secret), base64.StdEncoding.EncodeToString(secret),
			base64.RawURLEncoding.EncodeToString(secret), "Lindqvist", "karin.lindqvist@example.se", "Storgatan 12"},
	}
	findings, st, err := sc.ScanDir(logDir)
	if err != nil {
		t.Fatal(err)
	}
	if st.TextFiles != 2 {
		t.Errorf("scanned %+v, want the two run logs", st)
	}
	for _, f := range findings {
		t.Errorf("run log %s at %s: %s", f.File, f.Location, f.Kind)
	}
	for _, name := range names {
		b, _ := os.ReadFile(filepath.Join(logDir, name))
		for _, p := range []string{personA, personB, "198503012380", "191212121212", "8503012380", "850301-2381"} {
			if bytes.Contains(b, []byte(p)) {
				t.Errorf("run log %s contains an identifier", name)
			}
		}
	}
}

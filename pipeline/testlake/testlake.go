// Package testlake builds small, real lakes for tests: a hand-written AMEa
// export goes through the real ingest into a real Parquet lake, and a DuckDB
// session with the lake's views is opened over it. It exists so that tests
// of what reads the lake (statistics, tables, exports) start from what the
// pipeline really writes, with values a reader can check by hand.
package testlake

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/schemas"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// Lake is a built lake and an open session over it.
type Lake struct {
	Dir string
	Key pseudonym.Key
	DB  *sql.DB
}

// Build ingests rows (identifier, AMEa measure label, start, end) as one AMEa
// export with reference date 2026-11-23; reserve numbers are kept unlinked.
// extra is appended to the [[source]] section of the job file.
func Build(t testing.TB, rows [][4]string, extra string) *Lake {
	t.Helper()
	return BuildSources(t, Source{Name: "amea", Extra: extra, Rows: rows})
}

// Source is one source of a lake that BuildSources makes: its export is
// written in the AMEa schema's layout (identifier, measure label, start,
// end), whatever the source's name.
type Source struct {
	Name  string      // the source's name in the job file and the lake, e.g. "amea"
	Extra string      // appended to the source's [[source]] section, e.g. `keep = ["sex"]`
	Rows  [][4]string // identifier, AMEa measure label, start, end ("" = ongoing)
}

// BuildSources ingests one AMEa-layout export per source in one night, with
// reference date 2026-11-23; reserve numbers are kept unlinked.
func BuildSources(t testing.TB, sources ...Source) *Lake {
	t.Helper()
	dir := t.TempDir()
	s, err := schemas.Lookup("amea")
	if err != nil {
		t.Fatal(err)
	}
	body := "reference_date = \"2026-11-23\"\nsettle = \"0s\"\n"
	total := 0
	for _, src := range sources {
		WriteExport(t, filepath.Join(dir, "inbox", src.Name, "export.csv"), s, src.Rows)
		body += "[[source]]\nname = \"" + src.Name + "\"\nschema = \"amea\"\nreserve = \"unlinked\"\n" + src.Extra + "\n"
		total += len(src.Rows)
	}
	cfg := filepath.Join(dir, "gallra.toml")
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	job, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyfile.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ingest.Run(context.Background(), job, k, ingest.Options{})
	if err != nil || rep.Totals.Accepted != total {
		t.Fatalf("testlake: ingest: %v, accepted %d of %d rows", err, rep.Totals.Accepted, total)
	}
	db, err := duck.Open(context.Background(), duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := duck.LakeView(context.Background(), db, job.Lake); err != nil {
		t.Fatal(err)
	}
	return &Lake{Dir: job.Lake, Key: k, DB: db}
}

// Export returns rows (identifier, measure label, start, end) as a CSV
// export in the columns of s, ';'-separated, the other columns empty.
func Export(s *schemas.Schema, rows [][4]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = ';'
	header := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		header[i] = c.Name
	}
	_ = w.Write(header)
	for _, r := range rows {
		rec := make([]string, len(s.Columns))
		for i, c := range s.Columns {
			rec[i] = map[string]string{"identifier": r[0], "measure": r[1], "period_start": r[2], "period_end": r[3]}[c.Holds]
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return b.Bytes()
}

// WriteExport writes Export(s, rows) to path, making its folder.
func WriteExport(t testing.TB, path string, s *schemas.Schema, rows [][4]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, Export(s, rows), 0o644); err != nil {
		t.Fatal(err)
	}
}

// HandChecked is a lake small enough to work statistics out by hand: four
// persons (Skatteverket test numbers) and one school reserve number, kept
// unlinked. P1 appears in 10- and 12-digit form.
//
//	P1  Praktik        2023-03-01 – 2023-06-30   (850301-2380)
//	P1  Arbetsträning  2023-07-15 – 2024-02-29   (198503012380; ends on a leap day)
//	P1  Praktik        2025-01-10 – ongoing      (19850301-2380)
//	P2  Arbetsträning  2024-01-01 – 2024-01-01   (a one-day measure)
//	P2  Praktik        2024-12-31 – 2025-03-31
//	P3  Praktik        2023-11-01 – ongoing
//	P4  Kartläggning   2024-02-15 – 2024-03-14
//	P4  Kartläggning   2024-06-01 – 2024-06-30   (twice in one year: one person)
//	U   Praktik        2024-05-01 – 2024-05-31   (reserve number, unlinked)
var HandChecked = [][4]string{
	{"850301-2380", "Praktik", "2023-03-01", "2023-06-30"},
	{"198503012380", "Arbetsträning", "2023-07-15", "2024-02-29"},
	{"19850301-2380", "Praktik", "2025-01-10", ""},
	{"19880101-2389", "Arbetsträning", "2024-01-01", "2024-01-01"},
	{"880101-2389", "Praktik", "2024-12-31", "2025-03-31"},
	{"19880101-2397", "Praktik", "2023-11-01", ""},
	{"19880102-2388", "Kartläggning", "2024-02-15", "2024-03-14"},
	{"880102-2388", "Kartläggning", "2024-06-01", "2024-06-30"},
	{"20120304-TF12", "Praktik", "2024-05-01", "2024-05-31"},
}

// TwoSources is HandChecked in source amea (kommun 0680) with a second
// source, aksel (kommun 2580), both keeping sex, age band and
// municipality, for breakdowns worked out by hand. Sex is the identifier's
// (K: P1, P2, P4; M: P3, P5, P6); the age band is the age at each start
// (30-39 for P1–P4, 20-24 for P5, 60-64 for P6). aksel's rows:
//
//	P4  Extratjänst    2024-07-15 – 2024-12-31   (19880102-2388; 15 days after P4's amea end)
//	P5  Jobbcoachning  2024-03-01 – 2024-04-30   (20040101-2398; born 2004-01-01, 20 at start)
//	P5  Praktik        2024-05-10 – ongoing
//	P6  Praktik        2023-01-09 – 2023-12-31   (19620108-2697; born 1962-01-08, 61 at start)
func TwoSources() []Source {
	keep := "keep = [\"sex\", \"age_band\", \"municipality\"]\n"
	return []Source{
		{Name: "amea", Extra: "municipality = \"0680\"\n" + keep, Rows: HandChecked},
		{Name: "aksel", Extra: "municipality = \"2580\"\n" + keep, Rows: [][4]string{
			{"19880102-2388", "Extratjänst", "2024-07-15", "2024-12-31"},
			{"20040101-2398", "Jobbcoachning", "2024-03-01", "2024-04-30"},
			{"200401012398", "Praktik", "2024-05-10", ""},
			{"19620108-2697", "Praktik", "2023-01-09", "2023-12-31"},
		}},
	}
}

// WriteRows writes rows straight through lake.Writer into a new lake (a
// temporary directory of t) and publishes them as one run: a lake of rows
// a test chooses to the day, without exports or a key. It returns the
// lake's directory and the files written.
func WriteRows(t testing.TB, runID string, parts map[lake.Partition][]lake.Row) (string, []lake.StagedFile) {
	t.Helper()
	dir := t.TempDir()
	base, err := lake.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := lake.NewWriter(dir, runID)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for p, rows := range parts {
		for _, r := range rows {
			if err := w.Write(p, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	staged, err := w.Stage()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lake.Publish(dir, base, lake.Change{RunID: runID, Add: staged}); err != nil {
		t.Fatal(err)
	}
	return dir, staged
}

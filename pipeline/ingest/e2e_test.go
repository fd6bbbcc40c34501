package ingest_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/quarantine"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/source"
	"github.com/gallra/gallra/pipeline/synth"
	"github.com/gallra/gallra/pipeline/verify"
	"github.com/gallra/gallra/schemas"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/pseudonym"
)

var ref = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// testConfig exercises every policy action: skills pseudonymises reserve
// numbers, uka keeps them unlinked, aksel keeps birth-date-only rows unlinked,
// and the rest quarantine what they do not expect.
const testConfig = `
lake = "lake"
reports = "reports"
inbox = "inbox"
reference_date = "2026-11-23"
settle = "0s"
after_ingest = "keep"  # the test reads the exports again to know what must not leak
[key]
domain = "lake"
[[source]]
name = "amea"
municipality = "0680"
keep = ["sex", "age_band", "municipality"]
[[source]]
name = "aksel"
municipality = "2580"
keep = ["sex", "age_band"]
birthdate = "unlinked"
[[source]]
name = "skills"
keep = ["sex"]
reserve = "pseudonymise"
[[source]]
name = "uka"
keep = ["age_band"]
reserve = "unlinked"
[[source]]
name = "feriejobb"
[[source]]
name = "jobbtorg"
municipality = "0180"
keep = ["municipality"]
[[source]]
name = "af_program"
keep = ["sex", "age_band", "municipality"]
`

func newKey(t *testing.T) pseudonym.Key {
	t.Helper()
	k, err := keyfile.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type fixture struct {
	dir string
	job *config.Job
	gen *synth.Report
	key pseudonym.Key
	rep *report.Run
}

func runFixture(t *testing.T, rows int, seed uint64) *fixture {
	t.Helper()
	dir := t.TempDir()
	gen, err := synth.Generate(filepath.Join(dir, "inbox"), synth.Options{Rows: rows, Seed: seed, Reference: ref})
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "gallra.toml")
	if err := os.WriteFile(cfg, []byte(testConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	job, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{dir: dir, job: job, gen: gen, key: newKey(t)}
	f.rep, err = ingest.Run(context.Background(), job, f.key, ingest.Options{Version: "test"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return f
}

func TestEndToEnd(t *testing.T) {
	f := runFixture(t, 12000, 42)
	ctx := context.Background()

	// The run's own report against what the generator says a correct run concludes.
	bySource := map[string]*report.Source{}
	for _, s := range f.rep.Sources {
		bySource[s.Name] = s
	}
	drifted := 0
	for _, src := range f.job.Sources {
		g := f.gen.Sources[src.Name]
		if g == nil {
			t.Fatalf("generator wrote nothing for source %s", src.Name)
		}
		r := bySource[src.Name]
		wantQ := map[string]int{}
		for k, v := range g.Messy {
			if v > 0 {
				wantQ[k] = v
			}
		}
		accepted, unlinked := g.Valid, 0
		switch src.Reserve {
		case config.Quarantine:
			if g.Reserve > 0 {
				wantQ[ingest.ReasonReserve] += g.Reserve
			}
		case config.Unlinked:
			accepted += g.Reserve
			unlinked += g.Reserve
		default:
			accepted += g.Reserve
		}
		switch src.BirthDate {
		case config.Quarantine:
			if g.BirthDateOnly > 0 {
				wantQ[ingest.ReasonBirthDateOnly] += g.BirthDateOnly
			}
		case config.Unlinked:
			accepted += g.BirthDateOnly
			unlinked += g.BirthDateOnly
		default:
			accepted += g.BirthDateOnly
		}
		c := r.Counts
		if c.Read != g.Rows {
			t.Errorf("%s: read %d rows, generator wrote %d (outside drifted files)", src.Name, c.Read, g.Rows)
		}
		if c.Accepted != accepted || c.Unlinked != unlinked {
			t.Errorf("%s: accepted %d (unlinked %d), want %d (%d)", src.Name, c.Accepted, c.Unlinked, accepted, unlinked)
		}
		if c.Accepted+c.QuarantinedTotal() != c.Read {
			t.Errorf("%s: accepted %d + quarantined %d != read %d", src.Name, c.Accepted, c.QuarantinedTotal(), c.Read)
		}
		if !equalCounts(c.Quarantined, wantQ) {
			t.Errorf("%s: quarantined %v, want %v", src.Name, c.Quarantined, wantQ)
		}
		for _, fl := range g.Files {
			if fl.Drifted {
				drifted++
			}
		}
	}
	if f.rep.Totals.RejectedFiles != drifted || drifted == 0 {
		t.Errorf("rejected files = %d, generator drifted %d (want > 0)", f.rep.Totals.RejectedFiles, drifted)
	}
	if f.rep.ExitCode != report.ExitRejected {
		t.Errorf("exit code %d, want %d (a drifted file was rejected)", f.rep.ExitCode, report.ExitRejected)
	}

	// The lake through DuckDB.
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := duck.LakeView(ctx, db, f.job.Lake); err != nil {
		t.Fatal(err)
	}
	_, rows, err := duck.Query(ctx, db, `SELECT source,
		count(*) FILTER (WHERE id_kind IN ('personnummer','samordningsnummer')),
		count(DISTINCT pseudonym) FILTER (WHERE id_kind IN ('personnummer','samordningsnummer')),
		count(DISTINCT pseudonym) FILTER (WHERE id_kind = 'reserve'),
		count(*) FILTER (WHERE pseudonym IS NULL),
		count(*),
		count(DISTINCT key_id)
		FROM lake GROUP BY source ORDER BY source`)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, row := range rows {
		src := row[0]
		g, r := f.gen.Sources[src], bySource[src]
		valid, persons, reservePersons, nulls, all, keys := atoi(t, row[1]), atoi(t, row[2]), atoi(t, row[3]), atoi(t, row[4]), atoi(t, row[5]), atoi(t, row[6])
		if valid != g.Valid {
			t.Errorf("%s: lake has %d personnummer/samordningsnummer rows, generator %d", src, valid, g.Valid)
		}
		// Distinct persons survive 10/12-digit forms, separators and whitespace.
		if persons != g.Persons {
			t.Errorf("%s: lake has %d distinct persons, generator %d", src, persons, g.Persons)
		}
		if src == "skills" && reservePersons != g.ReservePersons {
			t.Errorf("skills: %d distinct reserve pseudonyms, generator %d", reservePersons, g.ReservePersons)
		}
		if nulls != r.Counts.Unlinked || all != r.Counts.Accepted {
			t.Errorf("%s: lake rows %d (unlinked %d), report %d (%d)", src, all, nulls, r.Counts.Accepted, r.Counts.Unlinked)
		}
		if keys != 1 {
			t.Errorf("%s: %d key IDs in the lake", src, keys)
		}
		seen++
	}
	if seen != len(f.job.Sources) {
		t.Errorf("lake has %d sources, want %d", seen, len(f.job.Sources))
	}

	// Per measure type, over linked identifiers of all sources.
	_, rows, err = duck.Query(ctx, db, `SELECT measure, count(*) FROM lake
		WHERE id_kind IN ('personnummer','samordningsnummer') GROUP BY measure`)
	if err != nil {
		t.Fatal(err)
	}
	wantM := map[string]int{}
	for _, g := range f.gen.Sources {
		for k, v := range g.Measures {
			wantM[k] += v
		}
	}
	gotM := map[string]int{}
	for _, row := range rows {
		gotM[row[0]] = atoi(t, row[1])
	}
	if !equalCounts(gotM, wantM) {
		t.Errorf("per measure: lake %v, generator %v", gotM, wantM)
	}

	// Only declared attributes: amea keeps all three, feriejobb none.
	_, rows, err = duck.Query(ctx, db, `SELECT source, count(sex), count(age_band), count(municipality) FROM lake GROUP BY source`)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		var src *config.Source
		for _, s := range f.job.Sources {
			if s.Name == row[0] {
				src = s
			}
		}
		for i, kept := range []bool{src.Policy.Sex, src.Policy.AgeBand, src.Policy.Municipality} {
			if n := atoi(t, row[1+i]); (n > 0) != kept {
				t.Errorf("%s: attribute %d has %d values, declared %v", row[0], i, n, kept)
			}
		}
	}

	// The same person looked up the way a data subject request would be.
	if got := lookupOnePerson(t, f, db); got == 0 {
		t.Error("a generated person's pseudonym was not found in the lake")
	}

	// Nothing identifying in the lake, the reports or the quarantine file:
	// the verifier, plus the generated names, e-mails and addresses.
	assertClean(t, f)
}

// lookupOnePerson takes an identifier from an export in its 10-digit form and
// finds that person's rows through the pseudonym, as `gallra id pseudonym` does.
func lookupOnePerson(t *testing.T, f *fixture, db *sql.DB) int {
	t.Helper()
	ids := collect(t, f, "amea", "identifier", 50)
	pz, err := pseudonym.NewPseudonymizer(f.key, "lake")
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range ids {
		id, err := identity.Parse(raw, ref)
		if err != nil || id.Kind != identity.Personnummer {
			continue
		}
		ten := id.Canonical[2:8] + "-" + id.Canonical[8:] // 10-digit form
		alt, err := identity.Parse(ten, ref)
		if err != nil {
			continue
		}
		p := pz.Pseudonym(alt.Kind.String(), alt.Canonical).String()
		_, rows, err := duck.Query(context.Background(), db, fmt.Sprintf("SELECT count(*) FROM lake WHERE pseudonym = '%s'", p))
		if err != nil {
			t.Fatal(err)
		}
		if n := atoi(t, rows[0][0]); n > 0 {
			return n
		}
	}
	return 0
}

// collect reads up to n values of the column holding `holds` from a source's
// generated exports (test-side only, to know what must never reach the lake).
func collect(t *testing.T, f *fixture, src, holds string, n int) []string {
	t.Helper()
	s, err := schemas.Lookup(src)
	if err != nil {
		t.Fatal(err)
	}
	var col string
	for _, c := range s.Columns {
		if c.Holds == holds {
			col = c.Name
			break
		}
	}
	if col == "" {
		return nil
	}
	var out []string
	files, _ := filepath.Glob(filepath.Join(f.job.Inbox, src, "*"))
	for _, path := range files {
		in, err := source.Open(path, source.Options{})
		if err != nil {
			t.Fatal(err)
		}
		idx := -1
		for i, h := range in.Header() {
			if strings.EqualFold(h, col) {
				idx = i
			}
		}
		if idx < 0 {
			in.Close()
			continue
		}
		in.Select([]int{idx})
		for len(out) < n {
			row, err := in.Next()
			if err == io.EOF {
				break
			}
			if err != nil || len(row.Fields) == 0 || strings.TrimSpace(row.Fields[0]) == "" {
				continue
			}
			out = append(out, strings.TrimSpace(row.Fields[0]))
		}
		in.Close()
	}
	return out
}

func assertClean(t *testing.T, f *fixture) {
	t.Helper()
	var secrets []string
	for _, src := range f.job.Sources {
		for _, holds := range []string{"last_name", "full_name", "email", "address", "phone"} {
			for _, v := range collect(t, f, src.Name, holds, 40) {
				if len(v) >= 8 { // the verifier refuses shorter needles: they would match by chance
					secrets = append(secrets, v)
				}
			}
		}
	}
	if len(secrets) < 20 {
		t.Fatalf("only %d generated names/contacts collected: the check would prove nothing", len(secrets))
	}
	s := &verify.Scanner{
		IsIdentifier: func(c string) (string, bool) {
			id, err := identity.Parse(c, ref)
			if err != nil || (id.Kind != identity.Personnummer && id.Kind != identity.Samordningsnummer) {
				return "", false
			}
			return id.Kind.String(), true
		},
		Secrets: secrets,
	}
	findings, stats, err := s.ScanDir(f.job.Lake, f.job.Reports)
	if err != nil {
		t.Fatal(err)
	}
	if stats.ParquetFiles == 0 || stats.TextFiles < 2 {
		t.Fatalf("verify scanned %+v: expected the lake's Parquet files, the run report and the quarantine file", stats)
	}
	for _, fd := range findings {
		t.Errorf("identifying data in %s at %s (%s)", fd.File, fd.Location, fd.Kind)
	}
	if len(stats.Unscannable) > 0 {
		t.Errorf("unscannable files: %v", stats.Unscannable)
	}
}

func TestVerifyFindsPlantedIdentifier(t *testing.T) {
	f := runFixture(t, 2000, 7)
	ids := collect(t, f, "amea", "identifier", 1)
	if len(ids) == 0 {
		t.Fatal("no identifier to plant")
	}
	id, err := identity.Parse(ids[0], ref)
	if err != nil {
		t.Skip("first generated identifier is a messy one")
	}
	// Plant the raw personnummer in a copy of the quarantine file, as a careless
	// change to the quarantine writer would.
	q := filepath.Join(f.job.Reports, "planted.csv")
	w, err := os.Create(q)
	if err != nil {
		t.Fatal(err)
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(quarantine.Header)
	_ = cw.Write([]string{f.rep.RunID, "amea", "x.csv", "2", "Personnummer", id.Canonical[2:8] + "-" + id.Canonical[8:]})
	cw.Flush()
	w.Close()
	s := &verify.Scanner{IsIdentifier: func(c string) (string, bool) {
		id, err := identity.Parse(c, ref)
		return id.Kind.String(), err == nil && (id.Kind == identity.Personnummer || id.Kind == identity.Samordningsnummer)
	}}
	findings, _, err := s.ScanDir(f.job.Lake, f.job.Reports)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, fd := range findings {
		if fd.File != q {
			t.Errorf("finding outside the planted file: %+v", fd)
		}
		found = found || (fd.Kind == "personnummer" && fd.Location == "line 2")
	}
	if !found {
		t.Fatalf("findings = %+v, want the planted personnummer in %s at line 2", findings, q)
	}
	if strings.Contains(fmt.Sprint(findings), id.Canonical[2:]) {
		t.Fatal("a finding repeats the identifier it found")
	}
}

func equalCounts(a, b map[string]int) bool {
	keys := map[string]bool{}
	for k, v := range a {
		if v != 0 {
			keys[k] = true
		}
	}
	for k, v := range b {
		if v != 0 {
			keys[k] = true
		}
	}
	for k := range keys {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// TestViewsSQLForTheDuckDBCLI runs the views file that a run leaves in
// _gallra/views.sql, as an analyst's `.read` in the duckdb CLI would, in a
// DuckDB session that knows nothing of gallra.
func TestViewsSQLForTheDuckDBCLI(t *testing.T) {
	f := runFixture(t, 1500, 3)
	b, err := os.ReadFile(filepath.Join(f.job.Lake, "_gallra", "views.sql"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, string(b)); err != nil {
		t.Fatalf("views.sql: %v", err)
	}
	_, rows, err := duck.Query(ctx, db, `SELECT (SELECT count(*) FROM participations), (SELECT count(DISTINCT person) FROM participations),
		(SELECT count(*) FROM lake), (SELECT string_agg(run_id || ':' || outcome, ',') FROM runs)`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rows[0][0], strconv.Itoa(f.rep.Totals.Accepted); got != want || rows[0][2] != want {
		t.Errorf("participations %s, lake %s, want %s", got, rows[0][2], want)
	}
	if rows[0][1] == "0" {
		t.Error("no persons in the participations view")
	}
	if want := f.rep.RunID + ":" + f.rep.Outcome; rows[0][3] != want {
		t.Errorf("runs view: %q, want %q", rows[0][3], want)
	}
}

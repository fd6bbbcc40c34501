package deliver_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/deliver"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/pipeline/verify"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/pseudonym"
)

func deliverTo(t *testing.T, l *testlake.Lake, domain string, opt deliver.Options) (*deliver.Manifest, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), domain)
	opt.Domain, opt.Out = domain, out
	if opt.LakeDomain == "" {
		opt.LakeDomain = "lake"
	}
	m, err := deliver.Write(context.Background(), l.Dir, l.Key, opt)
	if err != nil {
		t.Fatalf("deliver %s: %v", domain, err)
	}
	return m, out
}

// query runs SQL over the lake session (which may read any file).
func query(t *testing.T, l *testlake.Lake, q string) [][]string {
	t.Helper()
	_, rows, err := duck.Query(context.Background(), l.DB, q)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func column(rows [][]string, i int) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[i])
	}
	slices.Sort(out)
	return out
}

func TestDelivery(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "keep = [\"sex\", \"age_band\"]\n")
	m, out := deliverTo(t, l, "scb-2026", deliver.Options{})
	if m.Rows != 9 || m.Persons != 4 || m.UnlinkedRows != 1 || len(m.Files) != 2 {
		t.Fatalf("manifest: rows %d persons %d unlinked %d files %d", m.Rows, m.Persons, m.UnlinkedRows, len(m.Files))
	}

	// The manifest on disk matches, with every file's hash.
	var disk deliver.Manifest
	b, err := os.ReadFile(filepath.Join(out, deliver.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &disk); err != nil {
		t.Fatal(err)
	}
	if disk.Domain != "scb-2026" || disk.Date == "" || disk.Rows != 9 || len(disk.Files) != 2 {
		t.Errorf("delivery.json: %+v", disk)
	}
	for _, f := range disk.Files {
		data, err := os.ReadFile(filepath.Join(out, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Bytes {
			t.Errorf("%s: hash or size in the manifest does not match the file", f.Name)
		}
	}
	if strings.Contains(string(b), l.Key.ID()) {
		t.Error("delivery.json names the key ID")
	}

	// Columns: exactly the delivery's; no record_key, key_id, id_kind, run_id.
	pq := filepath.Join(out, "scb-2026.parquet")
	cols := query(t, l, "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet("+duck.Literal(pq)+"))")
	if got := column(cols, 0); !slices.Equal(got, sorted(deliver.Columns)) {
		t.Errorf("parquet columns %v, want %v", got, deliver.Columns)
	}
	if typ := query(t, l, "SELECT typeof(pseudonym) FROM read_parquet("+duck.Literal(pq)+") LIMIT 1"); typ[0][0] != "UUID" {
		t.Errorf("pseudonym column is %s, want UUID", typ[0][0])
	}
	csvRows := query(t, l, "SELECT count(*), count(DISTINCT pseudonym) FROM read_csv("+duck.Literal(filepath.Join(out, "scb-2026.csv"))+", header = true)")
	if csvRows[0][0] != "9" || csvRows[0][1] != "4" {
		t.Errorf("csv: %v rows and persons, want 9 and 4", csvRows[0])
	}
	kept := query(t, l, "SELECT count(sex), count(age_band), count(municipality) FROM read_parquet("+duck.Literal(pq)+")")
	if kept[0][0] == "0" || kept[0][1] == "0" {
		t.Errorf("kept attributes missing: %v", kept[0])
	}

	// The recipient's pseudonyms are HMACs of the lake's under the
	// recipient's domain: none of the lake's appears, and each lake
	// pseudonym maps to exactly the delivered one.
	lakeP := column(query(t, l, "SELECT DISTINCT pseudonym::VARCHAR FROM lake WHERE pseudonym IS NOT NULL"), 0)
	delivered := func(path string) []string {
		return column(query(t, l, "SELECT DISTINCT pseudonym::VARCHAR FROM read_parquet("+duck.Literal(path)+") WHERE pseudonym IS NOT NULL"), 0)
	}
	scb := delivered(pq)
	rec, err := pseudonym.NewRecipient(l.Key, "scb-2026")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range lakeP {
		p, _ := pseudonym.ParsePseudonym(s)
		want = append(want, rec.Pseudonym(p).String())
	}
	slices.Sort(want)
	if !slices.Equal(scb, want) {
		t.Errorf("delivered pseudonyms %v, want the recipient mapping %v", scb, want)
	}
	if overlap(scb, lakeP) {
		t.Error("a lake pseudonym appears in the delivery")
	}
	// Same recipient again: the same pseudonyms. Another recipient: others.
	_, again := deliverTo(t, l, "scb-2026", deliver.Options{})
	if !slices.Equal(delivered(filepath.Join(again, "scb-2026.parquet")), scb) {
		t.Error("a second delivery to the same domain has other pseudonyms")
	}
	_, board := deliverTo(t, l, "board", deliver.Options{})
	bp := delivered(filepath.Join(board, "board.parquet"))
	if len(bp) != 4 || overlap(bp, scb) || overlap(bp, lakeP) {
		t.Errorf("domains board and scb-2026 share pseudonyms, or board those of the lake")
	}
	// The person P1 (10 and 12 digits) is one pseudonym in the delivery too.
	id, _ := identity.Parse("850301-2380", time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	pz, _ := pseudonym.NewPseudonymizer(l.Key, "lake")
	p1 := rec.Pseudonym(pz.Pseudonym(id.Kind.String(), id.Canonical)).String()
	if n := query(t, l, "SELECT count(*) FROM read_parquet("+duck.Literal(pq)+") WHERE pseudonym = '"+p1+"'"); n[0][0] != "3" {
		t.Errorf("P1 has %s rows in the delivery, want 3", n[0][0])
	}

	// verify finds no identifier, no key material and no lake pseudonym
	// in the delivery folder.
	secrets := verify.SecretForms(l.Key.Secret())
	secrets = append(secrets, lakeP...)
	for _, s := range lakeP {
		p, _ := pseudonym.ParsePseudonym(s)
		secrets = append(secrets, string(p[:]), hex.EncodeToString(p[:]))
	}
	ref := time.Now().UTC()
	sc := &verify.Scanner{Secrets: secrets, IsIdentifier: func(c string) (string, bool) {
		id, err := identity.Parse(c, ref)
		if err != nil || (id.Kind != identity.Personnummer && id.Kind != identity.Samordningsnummer) {
			return "", false
		}
		return id.Kind.String(), true
	}}
	findings, stats, err := sc.ScanDir(out)
	if err != nil || len(findings) != 0 || len(stats.Unscannable) != 0 || stats.Files != 3 {
		t.Errorf("verify: %v, findings %v, stats %+v", err, findings, stats)
	}

	// The run log has an entry of kind deliver, with counts and no pseudonym.
	logs, _ := filepath.Glob(filepath.Join(l.Dir, "_gallra", "runs", m.RunID+".json"))
	if len(logs) != 1 {
		t.Fatalf("run log entry %s missing", m.RunID)
	}
	var entry lakeop.Log
	lb, _ := os.ReadFile(logs[0])
	if err := json.Unmarshal(lb, &entry); err != nil {
		t.Fatal(err)
	}
	if entry.Kind != deliver.Kind || entry.Outcome != lakeop.OutcomeOK || entry.Counts["rows"] != 9 || entry.Counts["persons"] != 4 || entry.Reference != "scb-2026" {
		t.Errorf("run log entry: %+v", entry)
	}
	for _, p := range append(scb, lakeP...) {
		if strings.Contains(string(lb), p) {
			t.Error("the run log holds a pseudonym")
		}
	}
}

func TestSpanAndSources(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	// Active in 2025: P1 Praktik from 2025-01-10, P2 Praktik 2024-12-31 to
	// 2025-03-31, P3 Praktik from 2023-11-01 (ongoing).
	m, _ := deliverTo(t, l, "span", deliver.Options{FromYear: 2025, ToYear: 2025})
	if m.Rows != 3 || m.Persons != 3 || m.UnlinkedRows != 0 {
		t.Errorf("2025: rows %d persons %d unlinked %d, want 3 3 0", m.Rows, m.Persons, m.UnlinkedRows)
	}
	m, _ = deliverTo(t, l, "to2023", deliver.Options{ToYear: 2023})
	if m.Rows != 3 || m.Persons != 2 {
		t.Errorf("to 2023: rows %d persons %d, want 3 2", m.Rows, m.Persons)
	}
	m, _ = deliverTo(t, l, "none", deliver.Options{Sources: []string{"aksel"}})
	if m.Rows != 0 {
		t.Errorf("source aksel: %d rows", m.Rows)
	}
	m, _ = deliverTo(t, l, "amea", deliver.Options{Sources: []string{"amea", "amea"}})
	if m.Rows != 9 || len(m.Sources) != 1 {
		t.Errorf("source amea: %d rows, sources %v", m.Rows, m.Sources)
	}
}

func TestRefusals(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	for _, d := range []string{"lake", "cellkey", "lake-b"} {
		_, err := deliver.Write(context.Background(), l.Dir, l.Key, deliver.Options{Domain: d, LakeDomain: "lake-b", Out: t.TempDir()})
		if !errors.Is(err, deliver.ErrDomain) {
			t.Errorf("domain %s: %v, want ErrDomain", d, err)
		}
	}
	if _, err := deliver.Write(context.Background(), l.Dir, l.Key, deliver.Options{Domain: "SCB 2026", LakeDomain: "lake", Out: t.TempDir()}); !errors.Is(err, deliver.ErrDomain) {
		t.Errorf("bad syntax: %v", err)
	}
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o600)
	if _, err := deliver.Write(context.Background(), l.Dir, l.Key, deliver.Options{Domain: "scb", LakeDomain: "lake", Out: full}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-empty folder: %v", err)
	}
	if _, err := deliver.Write(context.Background(), l.Dir, l.Key, deliver.Options{Domain: "scb", LakeDomain: "lake", Out: filepath.Join(t.TempDir(), "o"), FromYear: 2025, ToYear: 2024}); err == nil {
		t.Error("from after to accepted")
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func overlap(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func TestRefusesKeyOfAnotherGeneration(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	other, err := keyfile.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := l.Key.Extend(other)
	for name, k := range map[string]pseudonym.Key{"foreign": other, "rotated, lake not rewritten": rotated} {
		out := filepath.Join(t.TempDir(), "o")
		_, err := deliver.Write(context.Background(), l.Dir, k, deliver.Options{Domain: "scb", LakeDomain: "lake", Out: out})
		if !errors.Is(err, keyfile.ErrKeyMismatch) {
			t.Errorf("%s key: %v, want ErrKeyMismatch", name, err)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s key: the output folder was made", name)
		}
	}
}

package rotate_test

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/anonymised"
	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/retain"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/pipeline/verify"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// TestAnonymisedRowsCannotBeRelinked: once the pseudonymised tier of a
// period has ended, no key material re-links its anonymised rows. The
// lake's key is rotated first, so that there are two generations of key
// material; then retention anonymises the rows that ended. For every person
// of the export, everything the key can compute about them — their
// pseudonym and record keys under each generation (and the second secret
// alone), their cell-key terms, their pseudonym of a delivery domain — is
// searched for in the anonymised files, and the anonymised rows' cell keys
// are compared with the persons' cell-key terms: nothing matches, and the
// anonymised files have no column a key could be applied to.
func TestAnonymisedRowsCannotBeRelinked(t *testing.T) {
	f := newFixture(t)
	body, err := os.ReadFile(f.job.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.job.Path, append(body, "retention = \"jonkoping_amea\"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if f.job, err = config.Load(f.job.Path); err != nil {
		t.Fatal(err)
	}
	f.export(t, "a.csv", before, "")
	f.mustRun(t, f.key(t))
	if _, err := f.rotate(t, false); err != nil {
		t.Fatal(err)
	}
	key := f.key(t)

	// What key material computes about the persons, from the lake while
	// they are still in it (pseudonyms, record keys) and from their
	// identifiers (every generation, every domain).
	var secrets []string
	add := func(b []byte) { secrets = append(secrets, string(b), hex.EncodeToString(b)) }
	var terms []uint64 // cell-key terms of the persons, under every key
	for _, r := range f.rows(t) {
		add(r.RecordKey[:])
		if r.Pseudonym != nil {
			add(r.Pseudonym[:])
			secrets = append(secrets, pseudonym.Pseudonym(*r.Pseudonym).String())
		}
	}
	keys := append(key.Generations(), key)
	for _, k := range keys {
		for _, g := range k.Generations() {
			secrets = append(secrets, verify.SecretForms(g.Secret())...)
		}
		pz, _ := pseudonym.NewPseudonymizer(k, "lake")
		rk, err := tables.RecordKeys(k)
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := pseudonym.NewRecipient(k, "scb-2026")
		for _, row := range before {
			id, err := identity.Parse(row[0], ref)
			if err != nil {
				t.Fatal(err)
			}
			p := pz.Pseudonym(id.Kind.String(), id.Canonical)
			add(p[:])
			rp := rec.Pseudonym(p)
			add(rp[:])
			terms = append(terms, uint64(rk(p.String())))
		}
	}

	// Control: the same search finds the persons in the pseudonymised
	// files, so it can see these values in Parquet.
	sc := &verify.Scanner{Secrets: secrets, IsIdentifier: func(string) (string, bool) { return "", false }}
	m0, err := lake.ReadManifest(f.job.Lake)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, fi := range m0.TableFiles(lake.TablePseudonymised) {
		fs, err := sc.ScanFile(filepath.Join(f.job.Lake, filepath.FromSlash(fi.Path)))
		if err != nil {
			t.Fatal(err)
		}
		found += len(fs)
	}
	if found == 0 {
		t.Fatal("the search finds nothing in the pseudonymised files either: it proves nothing")
	}

	res, err := retain.Apply(context.Background(), f.job, key, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), retain.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	m, err := lake.ReadManifest(f.job.Lake)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	var cellKeys []uint64
	for _, fi := range m.TableFiles(lake.TableAnonymised) {
		path := filepath.Join(f.job.Lake, filepath.FromSlash(fi.Path))
		files = append(files, path)
		err := anonymised.ReadFile(path, func(r anonymised.Row) error {
			cellKeys = append(cellKeys, r.CellKey)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Rows whose period ended are anonymised (Jönköping: linkable through
	// the period's last day); the test needs some.
	if len(cellKeys) == 0 || res.Log.Counts[retain.CountAnonymised] != int64(len(cellKeys)) {
		t.Fatalf("retention anonymised %d rows (log %v): the test needs some", len(cellKeys), res.Log.Counts)
	}
	for _, c := range cellKeys {
		if slices.Contains(terms, c) {
			t.Errorf("an anonymised row's cell key is a person's key-derived cell-key term")
		}
	}
	if !slices.Equal(anonymised.Columns, []string{"measure", "period_start", "period_end", "granularity", "sex", "age_band", "municipality", "cell_key", "anonymised_by_run"}) {
		t.Errorf("anonymised columns changed (%v): check that none is derived from a key", anonymised.Columns)
	}
	for _, p := range files {
		findings, err := sc.ScanFile(p)
		if err != nil || len(findings) != 0 {
			t.Errorf("%s: %v, %v", filepath.Base(p), err, findings)
		}
	}
}

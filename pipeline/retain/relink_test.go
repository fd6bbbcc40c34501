package retain_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gallra/gallra/pipeline/anonymised"
	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/retain"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/schemas/retention"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// TestNoKeyRelinksTheAnonymisedTier: once rows are anonymised, nothing
// derived from the key can link them back. The anonymised schema holds no
// keyed column; and for every person of the lake, each value the key
// derives — the lake's pseudonym, the record key of each participation,
// the person's cell key (tables.RecordKeys), each in raw, hex and UUID form
// — appears neither in any anonymised file's bytes nor among its decoded
// values, and no anonymised cell key equals a person's cell key.
func TestNoKeyRelinksTheAnonymisedTier(t *testing.T) {
	ctx := context.Background()
	sources := testlake.TwoSources()
	l := testlake.BuildSources(t, sources...)
	af, err := retention.Lookup("arbetsformedlingen") // keeps sex, age band and municipality: the most an anonymised row holds
	if err != nil {
		t.Fatal(err)
	}
	aksel, err := retention.Lookup("lulea_aksel")
	if err != nil {
		t.Fatal(err)
	}
	// The lake's pseudonyms and record keys, before retention, to check
	// that the derivations below are the ones the lake used.
	_, stored, err := duck.Query(ctx, l.DB, "SELECT DISTINCT pseudonym::VARCHAR FROM lake WHERE pseudonym IS NOT NULL UNION ALL SELECT record_key::VARCHAR FROM lake")
	if err != nil || len(stored) < 10 {
		t.Fatalf("stored keys: %v %v", stored, err)
	}
	job := &config.Job{Lake: l.Dir, Sources: []*config.Source{{Name: "amea", Retention: &af}, {Name: "aksel", Retention: &aksel}}}
	res, err := retain.Apply(ctx, job, l.Key, date("2029-06-01"), retain.Options{})
	if err != nil || res.Log.Counts[retain.CountAnonymised] < 8 {
		t.Fatalf("retain: %v %+v", err, res.Log.Counts)
	}

	// The schema: measure, period, granularity, kept attributes, a random
	// cell key and the retention run; nothing keyed.
	want := []string{"measure", "period_start", "period_end", "granularity", "sex", "age_band", "municipality", "cell_key", "anonymised_by_run"}
	if !slices.Equal(anonymised.Columns, want) {
		t.Errorf("anonymised columns %v, want %v", anonymised.Columns, want)
	}
	for _, f := range anonymised.Schema().Fields() {
		switch f.Name() {
		case "pseudonym", "key_id", "record_key", "id_kind", "run_id":
			t.Errorf("the anonymised tier has a column %s", f.Name())
		}
	}

	// Everything the key derives for the lake's persons and participations.
	pz, err := pseudonym.NewPseudonymizer(l.Key, "lake")
	if err != nil {
		t.Fatal(err)
	}
	cellKey, err := tables.RecordKeys(l.Key)
	if err != nil {
		t.Fatal(err)
	}
	var secrets [][]byte
	personKeys := map[uint64]bool{}
	addSecret := func(b []byte) {
		secrets = append(secrets, b, []byte(hex.EncodeToString(b)))
		if len(b) == 16 {
			secrets = append(secrets, []byte(uuid.UUID(b).String()))
		}
	}
	ref := date("2026-11-23")
	for _, src := range sources {
		for _, r := range src.Rows {
			id, err := identity.Parse(r[0], ref)
			if err != nil {
				t.Fatal(err)
			}
			kind := id.Kind.String()
			p := pz.Pseudonym(kind, id.Canonical)
			addSecret(p[:])
			ck := uint64(cellKey(p.String()))
			personKeys[ck] = true
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], ck)
			addSecret(b[:])
			binary.LittleEndian.PutUint64(b[:], ck)
			addSecret(b[:])
			start, _ := time.Parse(time.DateOnly, r[2])
			for _, m := range []string{"PRAKTIK", "ARBETSTRANING", "KARTLAGGNING", "EXTRATJANST", "JOBBCOACHNING"} {
				rk := pz.RecordKey(src.Name, kind, id.Canonical, m, start.Format("20060102"))
				addSecret(rk[:])
			}
		}
	}

	derived := map[string]bool{}
	for _, s := range secrets {
		derived[string(s)] = true
	}
	for _, r := range stored {
		if !derived[r[0]] {
			t.Fatalf("the test does not derive every pseudonym and record key the lake holds")
		}
	}

	m, err := lake.ReadManifest(l.Dir)
	if err != nil {
		t.Fatal(err)
	}
	files := m.TableFiles(lake.TableAnonymised)
	if len(files) == 0 {
		t.Fatal("no anonymised files")
	}
	rows := 0
	for _, f := range files {
		path := filepath.Join(l.Dir, filepath.FromSlash(f.Path))
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var decoded bytes.Buffer
		err = anonymised.ReadFile(path, func(r anonymised.Row) error {
			rows++
			if personKeys[r.CellKey] {
				t.Errorf("%s: an anonymised row's cell key is a person's", f.Path)
			}
			for _, s := range []*string{r.Sex, r.AgeBand, r.Municipality} {
				if s != nil {
					decoded.WriteString(*s + "\x00")
				}
			}
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], r.CellKey)
			decoded.Write(b[:])
			decoded.WriteString(r.Measure + "\x00" + string(r.Granularity) + "\x00" + r.AnonymisedByRun + "\x00")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range secrets {
			if bytes.Contains(raw, s) || bytes.Contains(decoded.Bytes(), s) {
				t.Errorf("%s holds key-derived value #%d", f.Path, i)
			}
		}
		if strings.Contains(string(raw), l.Key.ID()) {
			t.Errorf("%s names the key", f.Path)
		}
	}
	if int64(rows) != res.Log.Counts[retain.CountAnonymisedRowsLeft] {
		t.Errorf("read %d anonymised rows, the run log says %d", rows, res.Log.Counts[retain.CountAnonymisedRowsLeft])
	}
}

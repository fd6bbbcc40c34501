package rotate_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/rotate"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/schemas"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/pseudonym"
)

var ref = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is a job with an AMEa inbox, a lake and a plain key file.
type fixture struct {
	dir, keyPath string
	job          *config.Job
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gallra.toml")
	body := "reference_date = \"2026-11-23\"\nsettle = \"0s\"\nafter_ingest = \"keep\"\n[[source]]\nname = \"amea\"\nreserve = \"unlinked\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	job, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{dir: dir, keyPath: filepath.Join(dir, "gallra.key"), job: job}
	k, err := keyfile.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := keyfile.Write(f.keyPath, k, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

// export writes an AMEa export of rows (identifier, measure label, start,
// end) into the inbox; extra is appended to the file (to change its bytes,
// and so its content hash, without changing its rows).
func (f *fixture) export(t *testing.T, name string, rows [][4]string, extra string) {
	t.Helper()
	s, err := schemas.Lookup("amea")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.job.Sources[0].Inbox, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(testlake.Export(s, rows), extra...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) key(t *testing.T) pseudonym.Key {
	t.Helper()
	k, err := keyfile.Load(f.keyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (f *fixture) run(t *testing.T, key pseudonym.Key) (*report.Run, error) {
	t.Helper()
	return ingest.Run(context.Background(), f.job, key, ingest.Options{Version: "test", Logger: quiet})
}

func (f *fixture) mustRun(t *testing.T, key pseudonym.Key) *report.Run {
	t.Helper()
	rep, err := f.run(t, key)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

func (f *fixture) rotate(t *testing.T, resume bool) (*rotate.Result, error) {
	t.Helper()
	return rotate.Run(context.Background(), f.keyPath, f.job.Lake, f.job.Key.Domain, rotate.Options{Resume: resume, Logger: quiet})
}

// rows reads every row of the lake's manifest.
func (f *fixture) rows(t *testing.T) []lake.Row {
	t.Helper()
	m, err := lake.ReadManifest(f.job.Lake)
	if err != nil {
		t.Fatal(err)
	}
	var out []lake.Row
	for _, fi := range m.Files {
		if fi.Partition.Table != lake.TablePseudonymised {
			continue
		}
		err := lake.ReadFile(filepath.Join(f.job.Lake, filepath.FromSlash(fi.Path)), func(r lake.Row) error {
			if r.Pseudonym != nil {
				p := *r.Pseudonym
				r.Pseudonym = &p
			}
			out = append(out, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func (f *fixture) manifestKeyID(t *testing.T) string {
	t.Helper()
	m, err := lake.ReadManifest(f.job.Lake)
	if err != nil {
		t.Fatal(err)
	}
	return m.KeyID
}

func pseudonymOf(t *testing.T, key pseudonym.Key, raw string) pseudonym.Pseudonym {
	t.Helper()
	pz, err := pseudonym.NewPseudonymizer(key, "lake")
	if err != nil {
		t.Fatal(err)
	}
	id, err := identity.Parse(raw, ref)
	if err != nil {
		t.Fatal(err)
	}
	return pz.Pseudonym(id.Kind.String(), id.Canonical)
}

// count returns how many rows carry pseudonym p.
func count(rows []lake.Row, p pseudonym.Pseudonym) int {
	n := 0
	for _, r := range rows {
		if r.Pseudonym != nil && *r.Pseudonym == [16]byte(p) {
			n++
		}
	}
	return n
}

var before = [][4]string{
	{"850301-2380", "Praktik", "2023-03-01", "2023-06-30"},
	{"198503012380", "Arbetsträning", "2023-07-15", "2024-02-29"},
	{"19880101-2389", "Arbetsträning", "2024-01-01", "2024-01-01"},
	{"20120304-TF12", "Praktik", "2024-05-01", "2024-05-31"}, // reserve number: unlinked
}

func TestRotationKeepsLinkage(t *testing.T) {
	f := newFixture(t)
	k1 := f.key(t)
	f.export(t, "a.csv", before, "")
	f.mustRun(t, k1)
	if got := f.manifestKeyID(t); got != k1.ID() {
		t.Fatalf("manifest key ID %q after the first run, want %s", got, k1.ID())
	}
	rows0 := f.rows(t)
	p1old := pseudonymOf(t, k1, "850301-2380")
	if count(rows0, p1old) != 2 {
		t.Fatalf("P1 has %d rows before rotation, want 2", count(rows0, p1old))
	}

	res, err := f.rotate(t, false)
	if err != nil {
		t.Fatal(err)
	}
	k2 := f.key(t)
	if k2.Generation() != 2 || k2.KeyIDs()[0] != k1.ID() || res.From != k1.ID() || res.To != k2.ID() || len(res.Steps) != 3 {
		t.Fatalf("after rotation: key generation %d, result %+v", k2.Generation(), res)
	}
	if res.Log == nil || res.Log.Kind != rotate.Kind || res.Log.Counts["rows_rotated"] != int64(len(before)) || res.Log.KeyID != k2.ID() {
		t.Errorf("run log: %+v", res.Log)
	}
	if _, err := os.Stat(keyfile.NextPath(f.keyPath)); err == nil {
		t.Error("the next key file is still there")
	}

	// Every row carries the new key ID, and the manifest says so.
	rows1 := f.rows(t)
	if len(rows1) != len(rows0) {
		t.Fatalf("%d rows after rotation, %d before", len(rows1), len(rows0))
	}
	for _, r := range rows1 {
		if r.KeyID != k2.ID() {
			t.Errorf("row with key ID %s after rotation, want %s", r.KeyID, k2.ID())
		}
	}
	if got := f.manifestKeyID(t); got != k2.ID() {
		t.Errorf("manifest key ID %s, want %s", got, k2.ID())
	}
	// The lake's pseudonyms are what the new chain computes; the old secret
	// alone, or the new one alone, computes none of them.
	p1 := pseudonymOf(t, k2, "19850301-2380")
	if count(rows1, p1) != 2 || count(rows1, p1old) != 0 {
		t.Errorf("P1: %d rows under the chain's pseudonym, %d under the old one", count(rows1, p1), count(rows1, p1old))
	}
	newAlone := k2.Generations()[1]
	for _, raw := range []string{"850301-2380", "19880101-2389"} {
		for name, k := range map[string]pseudonym.Key{"old secret": k1, "new secret alone": newAlone} {
			if n := count(rows1, pseudonymOf(t, k, raw)); n != 0 {
				t.Errorf("the %s computes %d current pseudonyms", name, n)
			}
		}
	}

	// A person ingested before and again after the rotation links to the
	// same pseudonym.
	f.export(t, "b.csv", [][4]string{{"198503012380", "Praktik", "2025-01-10", ""}}, "")
	rep := f.mustRun(t, k2)
	if rep.Totals.Accepted != 1 {
		t.Fatalf("second export: %d accepted", rep.Totals.Accepted)
	}
	rows2 := f.rows(t)
	if count(rows2, p1) != 3 {
		t.Errorf("P1 has %d rows under one pseudonym after a post-rotation ingest, want 3", count(rows2, p1))
	}

	// Record keys still dedupe: the first export again, under another name
	// and with other bytes (so not skipped by its content hash), changes no row.
	f.export(t, "a-again.csv", before, "\n")
	rep = f.mustRun(t, k2)
	if rep.Totals.Accepted != len(before) {
		t.Fatalf("re-ingest: %d accepted, want %d (report %+v)", rep.Totals.Accepted, len(before), rep.Totals)
	}
	rows3 := f.rows(t)
	if len(rows3) != len(rows2) {
		t.Errorf("re-ingesting the same export after rotation: %d rows, want %d", len(rows3), len(rows2))
	}
	for _, s := range rep.Partitions {
		if s.Inserted != 0 || s.Updated != 0 {
			t.Errorf("re-ingest after rotation changed partition %s: %+v", s.Partition, s)
		}
	}
}

func TestRunRefusesOldKeyAfterRotation(t *testing.T) {
	f := newFixture(t)
	k1 := f.key(t)
	f.export(t, "a.csv", before, "")
	f.mustRun(t, k1)
	if _, err := f.rotate(t, false); err != nil {
		t.Fatal(err)
	}
	f.export(t, "b.csv", [][4]string{{"198503012380", "Praktik", "2025-01-10", ""}}, "")
	rep, err := f.run(t, k1)
	if !errors.Is(err, keyfile.ErrKeyMismatch) || rep.ExitCode == report.ExitOK {
		t.Fatalf("old key after rotation: %v (exit %d), want ErrKeyMismatch", err, rep.ExitCode)
	}
	other, _ := keyfile.Generate(rand.Reader)
	if _, err := f.run(t, other); !errors.Is(err, keyfile.ErrKeyMismatch) {
		t.Errorf("foreign key: %v", err)
	}
	if n := len(f.rows(t)); n != len(before) {
		t.Errorf("refused runs changed the lake: %d rows", n)
	}
	// The foreign key cannot rotate the lake either.
	if _, err := rotate.Lake(context.Background(), f.job.Lake, other, "lake", rotate.Options{Logger: quiet}); !errors.Is(err, keyfile.ErrKeyMismatch) {
		t.Errorf("rotating with a foreign key: %v", err)
	}
}

// TestResume simulates a crash after each step of a rotation and finishes it
// with Resume.
func TestResume(t *testing.T) {
	t.Run("after the next key file", func(t *testing.T) {
		f := newFixture(t)
		k1 := f.key(t)
		f.export(t, "a.csv", before, "")
		f.mustRun(t, k1)
		_, next, err := keyfile.StartRotation(f.keyPath, keyfile.Passphrase{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The lake is still at the old generation: nightly runs go on.
		f.export(t, "b.csv", [][4]string{{"19880101-2397", "Praktik", "2023-11-01", ""}}, "")
		f.mustRun(t, k1)
		// A new rotation refuses; resume finishes this one.
		if _, err := f.rotate(t, false); err == nil || !strings.Contains(err.Error(), "--resume") {
			t.Fatalf("rotate while one is under way: %v", err)
		}
		res, err := f.rotate(t, true)
		if err != nil {
			t.Fatal(err)
		}
		if res.To != next.ID() || res.Log == nil || res.Log.Counts["rows_rotated"] != int64(len(before)+1) {
			t.Errorf("resume: %+v", res)
		}
		checkRotated(t, f, next)
	})
	t.Run("after the lake was rewritten", func(t *testing.T) {
		f := newFixture(t)
		k1 := f.key(t)
		f.export(t, "a.csv", before, "")
		f.mustRun(t, k1)
		_, next, err := keyfile.StartRotation(f.keyPath, keyfile.Passphrase{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rotate.Lake(context.Background(), f.job.Lake, next, "lake", rotate.Options{Logger: quiet}); err != nil {
			t.Fatal(err)
		}
		// The key file is still the old one: gallra run refuses it and says
		// how to finish.
		f.export(t, "b.csv", [][4]string{{"19880101-2397", "Praktik", "2023-11-01", ""}}, "")
		_, err = f.run(t, f.key(t))
		if !errors.Is(err, keyfile.ErrKeyMismatch) || !strings.Contains(err.Error(), "gallra key rotate --resume") {
			t.Fatalf("run between the lake and the key file: %v", err)
		}
		res, err := f.rotate(t, true)
		if err != nil {
			t.Fatal(err)
		}
		if res.Log != nil || len(res.Steps) != 2 {
			t.Errorf("resume rewrote the lake again: %+v", res)
		}
		checkRotated(t, f, next)
		f.mustRun(t, f.key(t))
		// Resuming again: nothing to do.
		res, err = f.rotate(t, true)
		if err != nil || !strings.Contains(res.Steps[0], "nothing to resume") {
			t.Errorf("second resume: %v %+v", err, res)
		}
	})
	t.Run("the lake commit fails", func(t *testing.T) {
		f := newFixture(t)
		k1 := f.key(t)
		f.export(t, "a.csv", before, "")
		f.mustRun(t, k1)
		gen0 := generation(t, f)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := rotate.Run(ctx, f.keyPath, f.job.Lake, "lake", rotate.Options{Logger: quiet})
		if err == nil || !strings.Contains(err.Error(), "--resume") {
			t.Fatalf("cancelled rotation: %v", err)
		}
		if generation(t, f) != gen0 || f.manifestKeyID(t) != k1.ID() || !f.key(t).Equal(k1) {
			t.Fatal("a failed rotation changed the lake or the key file")
		}
		if _, err := f.rotate(t, true); err != nil {
			t.Fatal(err)
		}
		k2 := f.key(t)
		if k2.Generation() != 2 {
			t.Fatalf("generation %d after resume", k2.Generation())
		}
		checkRotated(t, f, k2)
	})
	t.Run("a foreign next file", func(t *testing.T) {
		f := newFixture(t)
		f.export(t, "a.csv", before, "")
		f.mustRun(t, f.key(t))
		other, _ := keyfile.Generate(rand.Reader)
		more, _ := keyfile.Generate(rand.Reader)
		chain, _ := other.Extend(more)
		if err := keyfile.Write(keyfile.NextPath(f.keyPath), chain, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.rotate(t, true); err == nil || !strings.Contains(err.Error(), "does not extend") {
			t.Errorf("resume with a foreign next file: %v", err)
		}
	})
}

func generation(t *testing.T, f *fixture) int64 {
	t.Helper()
	m, err := lake.ReadManifest(f.job.Lake)
	if err != nil {
		t.Fatal(err)
	}
	return m.Generation
}

// checkRotated checks that the key file holds want, and every row and the
// manifest carry its ID.
func checkRotated(t *testing.T, f *fixture, want pseudonym.Key) {
	t.Helper()
	if k := f.key(t); !k.Equal(want) {
		t.Errorf("key file holds %s, want %s", k.ID(), want.ID())
	}
	if _, err := os.Stat(keyfile.NextPath(f.keyPath)); err == nil {
		t.Error("the next key file is still there")
	}
	if got := f.manifestKeyID(t); got != want.ID() {
		t.Errorf("manifest key ID %s, want %s", got, want.ID())
	}
	for _, r := range f.rows(t) {
		if r.KeyID != want.ID() {
			t.Errorf("row with key ID %s, want %s", r.KeyID, want.ID())
		}
	}
	if n := count(f.rows(t), pseudonymOf(t, want, "850301-2380")); n != 2 {
		t.Errorf("P1 has %d rows under the current pseudonym, want 2", n)
	}
}

// TestEmptyLake: a rotation of a lake without rows still records the new key.
func TestEmptyLake(t *testing.T) {
	f := newFixture(t)
	res, err := f.rotate(t, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Log == nil || res.Log.Outcome != lakeop.OutcomeOK || f.manifestKeyID(t) != f.key(t).ID() {
		t.Errorf("empty lake: %+v, manifest key %s", res.Log, f.manifestKeyID(t))
	}
}

package retain_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/retain"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/schemas"
)

// AMEa sends a full snapshot every night, ended participations included,
// and Jönköping culls a participation the day after it ends (0d). A
// participation the lake has already anonymised must not come back as a new
// row when the next snapshot sends it again; one first seen after it ended
// (a first load) is still kept, anonymised.
func TestSnapshotResendsAreNotCountedTwice(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gallra.toml")
	body := "settle = \"0s\"\n[[source]]\nname = \"amea\"\nretention = \"jonkoping_amea\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	job, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	key, err := keyfile.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	inbox := job.Sources[0].Inbox
	amea, err := schemas.Lookup("amea")
	if err != nil {
		t.Fatal(err)
	}
	old := [4]string{"19880101-2389", "Praktik", "2025-09-01", "2025-12-20"} // ended before the first night: a first load
	p1 := [4]string{"19850301-2380", "Arbetsträning", "2025-12-01", ""}      // ongoing on the first night
	p1ended := [4]string{"19850301-2380", "Arbetsträning", "2025-12-01", "2026-02-01"}
	nights := []struct {
		day  string
		rows [][4]string
		// what the lake holds after the night and its retention run
		pseudonymised, anonymised, dropped int
	}{
		{"2026-01-10", [][4]string{old, p1}, 1, 1, 0},      // old: stored, then anonymised; p1 stays
		{"2026-02-10", [][4]string{p1ended, old}, 0, 2, 1}, // p1's end updates it (then culled); old is a re-send
		{"2026-02-11", [][4]string{old, p1ended}, 0, 2, 2}, // both re-sent (other bytes): nothing new
	}
	for i, n := range nights {
		job.ReferenceDate = date(n.day)
		testlake.WriteExport(t, filepath.Join(inbox, "export-"+n.day+".csv"), amea, n.rows)
		rep, err := ingest.Run(ctx, job, key, ingest.Options{})
		if err != nil {
			t.Fatalf("night %d: %v", i, err)
		}
		if rep.DroppedPastRetention != n.dropped {
			t.Errorf("night %s: %d rows dropped past retention, want %d", n.day, rep.DroppedPastRetention, n.dropped)
		}
		if _, err := retain.Apply(ctx, job, key, date(n.day), retain.Options{}); err != nil {
			t.Fatalf("night %d: retain: %v", i, err)
		}
		got := query(t, job.Lake, `SELECT (SELECT count(*) FROM lake), (SELECT count(*) FROM anonymised)`)
		want := fmt.Sprintf("[[%d %d]]", n.pseudonymised, n.anonymised)
		if got != want {
			t.Errorf("night %s: pseudonymised and anonymised rows %s, want %s", n.day, got, want)
		}
	}
	checkLake(t, job.Lake)
}

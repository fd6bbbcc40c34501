package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gallra/gallra/pipeline/ingest"
)

// TestLinkableUntil: a source whose retention policy has an age rule
// (lulea_uka: 21) stores on each row 31 December of the year the person
// turns 21, and nothing finer; a source without one stores null.
func TestLinkableUntil(t *testing.T) {
	for _, c := range []struct{ extra, want string }{
		{"retention = \"lulea_uka\"\n", "[[2024-01-01 1933-12-31]]"},
		{"retention = \"lulea_aksel\"\n", "[[2024-01-01 ]]"},
		{"", "[[2024-01-01 ]]"},
	} {
		dir := t.TempDir()
		ameaFile(t, filepath.Join(dir, "inbox/amea/a.csv"), [][4]string{{"19121212-1212", "Praktik", "2024-01-01", "2024-03-31"}})
		j := job(t, dir, c.extra)
		if _, err := ingest.Run(context.Background(), j, newKey(t), ingest.Options{}); err != nil {
			t.Fatal(err)
		}
		got := lakeRows(t, j.Lake, "SELECT strftime(period_start, '%Y-%m-%d'), coalesce(strftime(linkable_until, '%Y-%m-%d'), '') FROM lake")
		if fmt.Sprint(got) != c.want {
			t.Errorf("%q: %v, want %s", c.extra, got, c.want)
		}
	}
}

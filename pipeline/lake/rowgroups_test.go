package lake

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBufferedRowsBoundSameFiles writes the same rows three times under a
// MaxBufferedRows bound that ends row groups early, many of them while
// several files hold equally many rows, and wants the same files each time:
// which row group ends must not depend on map order.
func TestBufferedRowsBoundSameFiles(t *testing.T) {
	parts, rows := nightRows(30000)
	var want []FileInfo
	for run := range 3 {
		dir := t.TempDir()
		got := writeNight(t, dir, parts, rows, MaxBufferedRows(2000))
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(got[0].Path))); err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			want = got
			continue
		}
		if len(got) != len(want) {
			t.Fatalf("run %d: %d files, first run %d", run, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("run %d: file %d is %+v, first run wrote %+v", run, i, got[i], want[i])
			}
		}
	}
}

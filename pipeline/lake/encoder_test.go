package lake

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEncoderErrorFailsTheWriter breaks a staged file under the encoder: the
// write error must come back from the Writer (a later Write or Stage), which
// then only aborts, and Abort must leave nothing staged.
func TestEncoderErrorFailsTheWriter(t *testing.T) {
	lakeDir := t.TempDir()
	w, err := NewWriter(lakeDir, "broken", MaxRowsPerRowGroup(300))
	if err != nil {
		t.Fatal(err)
	}
	p := Partition{Source: "src", StartYear: 2021}
	if err := w.Write(p, testRow(2021, 0)); err != nil {
		t.Fatal(err)
	}
	w.open[p].f.Close() // the encoder's next write to the file fails
	var werr error
	for i := 1; i < 5000 && werr == nil; i++ {
		werr = w.Write(p, testRow(2021, i))
	}
	_, serr := w.Stage()
	if werr == nil && serr == nil {
		t.Fatal("writes to a closed file: neither Write nor Stage failed")
	}
	if serr == nil {
		t.Fatal("Stage succeeded after a failed Write")
	}
	if err := w.Write(p, testRow(2021, 1)); err == nil {
		t.Fatal("Write after a failure succeeded")
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(lakeDir, StagingDir, "broken")); !os.IsNotExist(err) {
		t.Fatalf("Abort left the staging directory: %v", err)
	}
	if files := parquetFiles(t, lakeDir); len(files) != 0 {
		t.Fatalf("a failed writer left %d files in the lake", len(files))
	}
}

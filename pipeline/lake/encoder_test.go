package lake

import (
	"os"
	"path"
	"path/filepath"
	"slices"
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

// TestEncoderKeepsEachFilesOrder writes rows to more partitions than the
// encoder has workers, interleaved, finishing some files half-way: any
// free worker takes a file's jobs, and every file must still hold its rows
// in the order they were written.
func TestEncoderKeepsEachFilesOrder(t *testing.T) {
	lakeDir := t.TempDir()
	w, err := NewWriter(lakeDir, "order", MaxRowsPerRowGroup(700), MaxBufferedRows(2000))
	if err != nil {
		t.Fatal(err)
	}
	var parts []Partition
	for y := 2015; y < 2015+maxEncoders*2+1; y++ {
		parts = append(parts, Partition{Source: "amea", StartYear: y})
	}
	written := map[Partition][][16]byte{}
	for i := range 30000 {
		p := parts[(i*7+i/1000)%len(parts)]
		r := testRow(p.StartYear, i)
		if err := w.Write(p, r); err != nil {
			t.Fatal(err)
		}
		written[p] = append(written[p], r.RecordKey)
		if i == 12000 || i == 21000 {
			if err := w.Finish(parts[i%len(parts)]); err != nil {
				t.Fatal(err)
			}
		}
	}
	staged, err := w.Stage()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	read := map[Partition][][16]byte{}
	for _, sf := range staged { // in the order the files were started
		p, err := ParsePartition(path.Dir(sf.Path))
		if err != nil {
			t.Fatal(err)
		}
		err = ReadFile(filepath.Join(lakeDir, filepath.FromSlash(sf.Staged)), func(r Row) error {
			read[p] = append(read[p], r.RecordKey)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(staged) <= len(parts) {
		t.Fatalf("%d files for %d partitions: the finished ones did not start new files", len(staged), len(parts))
	}
	for _, p := range parts {
		if !slices.Equal(read[p], written[p]) {
			t.Fatalf("%s: the files hold %d rows, not the %d written in their order", p.Dir(), len(read[p]), len(written[p]))
		}
	}
}

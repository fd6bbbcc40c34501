package barestream

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/gallra/gallra/schemas"
	"github.com/gallra/gallra/schemas/testnumbers"
)

func TestRunWritesKeyedPseudonyms(t *testing.T) {
	s, err := schemas.Lookup("feriejobb")
	if err != nil {
		t.Fatal(err)
	}
	inbox := t.TempDir()
	dir := filepath.Join(inbox, s.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	var header []string
	for i, c := range s.Columns {
		header = append(header, c.Name)
		pos[c.Holds] = i
	}
	ids := testnumbers.Personnummer()[:2]
	row := func(id, measure, start, end string) string {
		cells := make([]string, len(header))
		cells[pos[schemas.HoldsIdentifier]] = id
		cells[pos[schemas.HoldsMeasure]] = measure
		cells[pos[schemas.HoldsPeriodStart]] = start
		cells[pos[schemas.HoldsPeriodEnd]] = end
		return strings.Join(cells, s.Delimiter)
	}
	body := strings.Join([]string{
		strings.Join(header, s.Delimiter),
		row(ids[0], "A", "2026-01-01", "2026-02-01"),
		"too" + s.Delimiter + "short",
		row(ids[1], "B", "2026-03-01", ""),
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "x.csv"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "y.xlsx"), []byte("not read"), 0o644); err != nil {
		t.Fatal(err)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	out := t.TempDir()
	res, err := Run(inbox, out, key)
	if err != nil {
		t.Fatal(err)
	}
	if res != (Result{Rows: 2, Files: 1, Skipped: 1}) {
		t.Fatalf("result %+v, want 2 rows, 1 file, 1 skipped", res)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.parquet"))
	if len(files) != 1 {
		t.Fatalf("%d Parquet files, want 1", len(files))
	}
	got, err := parquet.ReadFile[Row](files[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{{Measure: "A", Start: "2026-01-01", End: "2026-02-01"}, {Measure: "B", Start: "2026-03-01"}}
	if len(got) != len(want) {
		t.Fatalf("%d rows read back, want %d", len(got), len(want))
	}
	for i := range want {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(ids[i]))
		if !bytes.Equal(got[i].Pseudonym[:], m.Sum(nil)[:16]) {
			t.Errorf("row %d: pseudonym is not the first 16 bytes of HMAC-SHA-256(key, identifier)", i)
		}
		got[i].Pseudonym = [16]byte{}
		if got[i] != want[i] {
			t.Errorf("row %d: measure/start/end %+v, want %+v", i, got[i], want[i])
		}
	}
}

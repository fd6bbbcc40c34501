package source

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestLargeXLSXStaysOutOfTemp reads an export whose worksheet XML is larger
// than excelize's default in-memory limit (16 MiB): without our limit,
// excelize would unzip it, identifiers and all, into the temporary directory.
func TestLargeXLSXStaysOutOfTemp(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 20+ MiB worksheet")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	path := filepath.Join(t.TempDir(), "big.xlsx")
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.SetRow("A1", []any{"Personnummer", "Namn", "Åtgärd", "Startdatum", "Anteckningar"}); err != nil {
		t.Fatal(err)
	}
	const rows = 120000
	for i := 2; i <= rows+1; i++ {
		cell, _ := excelize.CoordinatesToCellName(1, i)
		if err := sw.SetRow(cell, []any{fmt.Sprintf("19121212-%04d", i%10000), "Karin Lindqvist", "Praktik", "2024-01-01", "Anteckning om deltagarens planering och mål"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for ; n < 10; n++ {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > 0 {
		t.Fatalf("reading the export left %d file(s) in the temporary directory, e.g. %s", len(entries), entries[0].Name())
	}
}

package bundle

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/gallra/gallra/pipeline/export/exporttest"
	"github.com/gallra/gallra/pipeline/export/jsonstat"
	"github.com/gallra/gallra/pipeline/export/px"
)

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	tab := exporttest.Table()
	paths, err := WriteDir(dir, tab, Options{Name: "deltagare/år"})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 5 || filepath.Base(paths[0]) != "deltagare__r.px" {
		t.Fatalf("paths %q", paths)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 5 {
		t.Errorf("%d entries in dir, want 5 (no temporary files left)", len(ents))
	}
	b, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, err := px.ReadPX(bytes.NewReader(b)); err != nil || got.Title != tab.Title {
		t.Errorf("PX: %v", err)
	}
	if b, err = os.ReadFile(paths[1]); err != nil {
		t.Fatal(err)
	}
	if got, err := jsonstat.CheckJSONStat(b); err != nil || got.Len() != tab.Len() {
		t.Errorf("JSON-stat: %v", err)
	}
	if b, err = os.ReadFile(paths[2]); err != nil || !strings.HasPrefix(string(b), "measure,measure_label,") {
		t.Errorf("CSV: %v", err)
	}
	if b, err = os.ReadFile(paths[3]); err != nil || !strings.Contains(string(b), `"delimiter": ","`) {
		t.Errorf("CSV meta: %v", err)
	}
	f, err := excelize.OpenFile(paths[4])
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestRefusedLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	tab := exporttest.Table()
	tab.Contact = ""
	if _, err := WriteDir(dir, tab, Options{}); err == nil {
		t.Fatal("written without contact")
	}
	tab = exporttest.Table()
	tab.ID = ""
	if _, err := WriteDir(dir, tab, Options{}); err == nil {
		t.Fatal("written without a name")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d files left", len(ents))
	}
}

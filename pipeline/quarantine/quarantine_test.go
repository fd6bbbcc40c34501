package quarantine

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
)

func TestWriterCountsAndWrites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q.csv")
	w, err := Create(p, "run1")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Entry{
		{Source: "amea", File: "amea/a.csv", Line: 3, Field: "Personnummer", Reason: "bad_check_digit"},
		{Source: "amea", File: "amea/a.csv", Line: 9, Field: "Personnummer", Reason: "bad_check_digit"},
		{Source: "amea", File: "amea/a.csv", Line: 12, Reason: "field_count"},
	} {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Total() != 3 || w.Counts()["bad_check_digit"] != 2 || len(w.Reasons()) != 2 || w.Reasons()[0] != "bad_check_digit" {
		t.Errorf("total %d counts %v reasons %v", w.Total(), w.Counts(), w.Reasons())
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0][5] != "reason" || recs[3][3] != "12" || recs[3][4] != "" {
		t.Errorf("file: %v", recs)
	}
	if _, err := Create(p, "run2"); err == nil {
		t.Error("Create overwrote an existing quarantine file")
	}
}

package export

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/transforms/table"
)

func good() *table.Table {
	t := table.New(table.Dimension{Code: "year", Categories: []table.Category{{Code: "2024"}, {Code: "2025"}}})
	t.Title, t.Unit, t.Source, t.Contact, t.RefPeriod, t.Method = "T", "antal", "S", "C", "2024–2025", "none"
	t.Updated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return t
}

func TestCheck(t *testing.T) {
	if err := Check(good()); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*table.Table){
		"title":     func(t *table.Table) { t.Title = "" },
		"unit":      func(t *table.Table) { t.Unit = " " },
		"source":    func(t *table.Table) { t.Source = "" },
		"contact":   func(t *table.Table) { t.Contact = "" },
		"reference": func(t *table.Table) { t.RefPeriod = "" },
		"method":    func(t *table.Table) { t.Method = "" },
		"updated":   func(t *table.Table) { t.Updated = time.Time{} },
		"NaN":       func(t *table.Table) { t.Values[1] = math.NaN() },
		"Inf":       func(t *table.Table) { t.Values[0] = math.Inf(1) },
		"shape":     func(t *table.Table) { t.Values = t.Values[:1] },
		"no dims":   func(t *table.Table) { t.Dims = nil; t.Values = t.Values[:1]; t.Status = t.Status[:1] },
	} {
		tab := good()
		mod(tab)
		if err := Check(tab); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := Check(nil); err == nil {
		t.Error("nil accepted")
	}
}

func TestNotes(t *testing.T) {
	tab := good()
	tab.Notes = []string{"a"}
	if got := Notes(tab); len(got) != 2 || got[0] != "a" || !strings.HasPrefix(got[1], "..") {
		t.Errorf("Notes = %q", got)
	}
	if len(tab.Notes) != 1 {
		t.Error("Notes changed t.Notes")
	}
	tab.Notes = append(tab.Notes, SymbolNote(tab))
	if got := Notes(tab); len(got) != 2 {
		t.Errorf("symbol note repeated: %q", got)
	}
	tab.Language = "en"
	if MethodNote(tab) != "Disclosure control: none" || !strings.Contains(SymbolNote(tab), "confidentiality") {
		t.Errorf("English texts: %q %q", MethodNote(tab), SymbolNote(tab))
	}
	tab.Language = "sv-SE"
	if MethodNote(tab) != "Röjandekontroll: none" {
		t.Errorf("Swedish method note %q", MethodNote(tab))
	}
}

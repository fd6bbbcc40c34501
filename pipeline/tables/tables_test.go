package tables_test

import (
	"context"
	"testing"

	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/tables"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/transforms/disclosure"
	"github.com/gallra/gallra/transforms/pseudonym"
)

func TestParticipantsByMeasureAndYear(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked, "")
	ctx := context.Background()
	tb, keys, err := tables.Participants(ctx, l.DB, l.Key, tables.Spec{By: []string{"measure", "year"}, FromYear: 2023, ToYear: 2025})
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Validate(); err != nil {
		t.Fatal(err)
	}
	// Worked out by hand from testlake.HandChecked (U is unlinked: no person).
	// P1 is in Praktik and Arbetsträning in 2023 but counts once in 2023's
	// total; P4's two Kartläggning periods in 2024 are one person.
	want := map[[2]string]float64{
		{"ARBETSTRANING", "2023"}: 1, {"ARBETSTRANING", "2024"}: 2, {"ARBETSTRANING", "2025"}: 0,
		{"KARTLAGGNING", "2023"}: 0, {"KARTLAGGNING", "2024"}: 1, {"KARTLAGGNING", "2025"}: 0,
		{"PRAKTIK", "2023"}: 2, {"PRAKTIK", "2024"}: 2, {"PRAKTIK", "2025"}: 3,
		{"TOTAL", "2023"}: 2, {"TOTAL", "2024"}: 4, {"TOTAL", "2025"}: 3,
		{"ARBETSTRANING", "TOTAL"}: 2, {"KARTLAGGNING", "TOTAL"}: 1, {"PRAKTIK", "TOTAL"}: 3,
		{"TOTAL", "TOTAL"}: 4,
	}
	if tb.Len() != len(want) {
		t.Fatalf("%d cells, want %d", tb.Len(), len(want))
	}
	for k, v := range want {
		got, _, err := tb.Cell(k[0], k[1])
		if err != nil || got != v {
			t.Errorf("%s × %s = %v (%v), want %v", k[0], k[1], got, err, v)
		}
	}
	if m := tb.Dims[0]; m.Categories[0].Label != "Arbetsträning" || m.Total != tables.Total {
		t.Errorf("measure dimension %+v", m)
	}

	// Cell keys: the grand total's key is the sum of the four persons'
	// record keys, computed here from the lake's pseudonyms.
	_, rows, err := duck.Query(ctx, l.DB, "SELECT DISTINCT pseudonym::VARCHAR FROM lake WHERE pseudonym IS NOT NULL")
	if err != nil || len(rows) != 4 {
		t.Fatalf("persons: %v %v", rows, err)
	}
	rk, err := pseudonym.NewPseudonymizer(l.Key, tables.CellKeyDomain)
	if err != nil {
		t.Fatal(err)
	}
	var sum disclosure.Key
	for _, r := range rows {
		sum = sum.Add(disclosure.RecordKey([16]byte(rk.Pseudonym("pseudonym", r[0]))))
	}
	total := tb.Offset(len(tb.Dims[0].Categories)-1, len(tb.Dims[1].Categories)-1)
	if keys[total] != sum {
		t.Errorf("grand total cell key %x, want the sum of the persons' keys %x", keys[total], sum)
	}
	empty := tb.Offset(0, 2) // Arbetsträning 2025: nobody
	if keys[empty] != 0 {
		t.Errorf("an empty cell has key %x", keys[empty])
	}

	// The same table again: the same keys. Another key: other cell keys.
	_, again, err := tables.Participants(ctx, l.DB, l.Key, tables.Spec{By: []string{"measure", "year"}, FromYear: 2023, ToYear: 2025})
	if err != nil || again[total] != keys[total] {
		t.Errorf("cell keys differ between two builds: %v", err)
	}
	other, err := keyfile.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, foreign, err := tables.Participants(ctx, l.DB, other, tables.Spec{By: []string{"measure", "year"}, FromYear: 2023, ToYear: 2025})
	if err != nil || foreign[total] == keys[total] {
		t.Errorf("another key gave the same cell keys: %v", err)
	}
}

func TestUnknownDimension(t *testing.T) {
	l := testlake.Build(t, testlake.HandChecked[:1], "")
	if _, _, err := tables.Participants(context.Background(), l.DB, l.Key, tables.Spec{By: []string{"name"}, FromYear: 2023, ToYear: 2023}); err == nil {
		t.Error("a dimension that is not in the lake was accepted")
	}
}

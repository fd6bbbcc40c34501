package table

import "testing"

func TestOffsetsAndCells(t *testing.T) {
	tb := New(
		Dimension{Code: "measure", Categories: []Category{{Code: "PRAKTIK"}, {Code: "SFI"}, {Code: "TOTAL"}}, Total: "TOTAL"},
		Dimension{Code: "year", Time: true, Categories: []Category{{Code: "2024"}, {Code: "2025"}}},
	)
	if tb.Len() != 6 {
		t.Fatalf("len %d", tb.Len())
	}
	// Row-major, last dimension fastest: (SFI, 2025) is 1*2+1.
	if off := tb.Offset(1, 1); off != 3 {
		t.Errorf("offset %d", off)
	}
	for off := 0; off < tb.Len(); off++ {
		if got := tb.Offset(tb.Positions(off)...); got != off {
			t.Errorf("Positions/Offset round trip: %d -> %d", off, got)
		}
	}
	if err := tb.Set(7, "SFI", "2025"); err != nil {
		t.Fatal(err)
	}
	if v, s, err := tb.Cell("SFI", "2025"); err != nil || v != 7 || s != StatusOK || tb.Values[3] != 7 {
		t.Errorf("cell %v %q %v", v, s, err)
	}
	if _, _, err := tb.Cell("NONE", "2025"); err == nil {
		t.Error("unknown category accepted")
	}
	if !tb.IsTotal(tb.Offset(2, 0)) || tb.IsTotal(tb.Offset(0, 1)) {
		t.Error("IsTotal")
	}
	if err := tb.Validate(); err != nil {
		t.Error(err)
	}
	tb.Status[0] = "x"
	if err := tb.Validate(); err == nil {
		t.Error("unknown status accepted")
	}
	tb.Status[0] = StatusOK
	tb.Dims[0].Total = "ALL"
	if err := tb.Validate(); err == nil {
		t.Error("missing total category accepted")
	}
}

package schemas

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func ameaHeader() []string {
	return []string{"Personnummer", "Namn", "Användarnamn", "E-post", "Telefon", "Adress", "Postnummer",
		"Ort", "Åtgärd", "Beslutsdatum", "Startdatum", "Slutdatum", "Hälsobakgrund", "Anteckningar"}
}

func lookup(t *testing.T, name string) *Schema {
	t.Helper()
	s, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBindExact(t *testing.T) {
	s := lookup(t, "amea")
	b, err := s.Bind(ameaHeader())
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 8, 10, 11}; !slices.Equal(b.Select, want) {
		t.Errorf("Select = %v, want %v", b.Select, want)
	}
	if want := []string{"Personnummer", "Åtgärd", "Startdatum", "Slutdatum"}; !slices.Equal(b.Names, want) {
		t.Errorf("Names = %v, want %v", b.Names, want)
	}
	wantPos := map[string]int{HoldsIdentifier: 0, HoldsMeasure: 1, HoldsPeriodStart: 2, HoldsPeriodEnd: 3}
	if len(b.Pos) != len(wantPos) {
		t.Errorf("Pos = %v, want %v", b.Pos, wantPos)
	}
	for h, p := range wantPos {
		if b.Pos[h] != p {
			t.Errorf("Pos[%s] = %d, want %d", h, b.Pos[h], p)
		}
	}
	if b.Width != 14 {
		t.Errorf("Width = %d, want 14", b.Width)
	}
}

// Every built-in schema binds its own column names, in order and reversed, and the selected
// header cells are the read columns.
func TestBindBuiltinsReordered(t *testing.T) {
	for _, s := range builtins(t) {
		header := make([]string, len(s.Columns))
		for i, c := range s.Columns {
			header[i] = c.Name
		}
		slices.Reverse(header)
		b, err := s.Bind(header)
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
		reads := s.ReadColumns()
		if len(b.Select) != len(reads) || b.Width != len(header) {
			t.Errorf("%s: Select %v, Width %d", s.Name, b.Select, b.Width)
			continue
		}
		for k, c := range reads {
			if header[b.Select[k]] != c.Name {
				t.Errorf("%s: Select[%d] points at %q, want %q", s.Name, k, header[b.Select[k]], c.Name)
			}
			if b.Pos[c.Holds] != k {
				t.Errorf("%s: Pos[%s] = %d, want %d", s.Name, c.Holds, b.Pos[c.Holds], k)
			}
		}
	}
}

func TestBindReorderedPositions(t *testing.T) {
	s := lookup(t, "amea")
	h := ameaHeader()
	// move Slutdatum first and Personnummer last
	h = append([]string{"Slutdatum"}, slices.Delete(h, 11, 12)...)
	h = append(slices.Delete(h, 1, 2), "Personnummer")
	b, err := s.Bind(h)
	if err != nil {
		t.Fatal(err)
	}
	if h[b.Select[b.Pos[HoldsIdentifier]]] != "Personnummer" || h[b.Select[b.Pos[HoldsPeriodEnd]]] != "Slutdatum" ||
		h[b.Select[b.Pos[HoldsMeasure]]] != "Åtgärd" || h[b.Select[b.Pos[HoldsPeriodStart]]] != "Startdatum" {
		t.Errorf("header %v bound to Select %v Pos %v", h, b.Select, b.Pos)
	}
	if b.Select[0] != 13 || b.Select[3] != 0 {
		t.Errorf("Select = %v, want Personnummer at 13 and Slutdatum at 0", b.Select)
	}
}

func TestBindVariants(t *testing.T) {
	s := lookup(t, "amea")
	variants := map[string]func(string) string{
		"upper":      strings.ToUpper,
		"lower":      strings.ToLower,
		"spaces":     func(h string) string { return "  " + h + " \t" },
		"nbsp":       func(h string) string { return "\u00a0" + h },
		"NFD":        norm.NFD.String,
		"NFD+spaces": func(h string) string { return " " + strings.ToUpper(norm.NFD.String(h)) + "\r" },
	}
	for name, f := range variants {
		h := ameaHeader()
		for i := range h {
			h[i] = f(h[i])
		}
		h[0] = "\ufeff" + h[0] // a BOM the reader left in place
		b, err := s.Bind(h)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !slices.Equal(b.Select, []int{0, 8, 10, 11}) {
			t.Errorf("%s: Select = %v", name, b.Select)
		}
		if b.Names[1] != "Åtgärd" {
			t.Errorf("%s: Names = %v, want the schema's names", name, b.Names)
		}
	}
	if norm.NFD.String("Åtgärd") == "Åtgärd" {
		t.Fatal("NFD test is vacuous")
	}
}

func driftError(t *testing.T, err error) *DriftError {
	t.Helper()
	var de *DriftError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a *DriftError", err)
	}
	return de
}

func TestBindMissingColumn(t *testing.T) {
	s := lookup(t, "amea")
	h := slices.DeleteFunc(ameaHeader(), func(c string) bool { return c == "Slutdatum" || c == "Hälsobakgrund" })
	b, err := s.Bind(h)
	if b != nil {
		t.Error("Bind returned a binding with drift")
	}
	de := driftError(t, err)
	if !slices.Equal(de.Missing, []string{"Slutdatum", "Hälsobakgrund"}) || len(de.Unexpected) != 0 || len(de.Duplicate) != 0 {
		t.Errorf("drift = %+v", de)
	}
	if want := `schema drift against "amea": missing columns "Slutdatum", "Hälsobakgrund"`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

// The example of the contract, exactly.
func TestBindMissingAndUnexpected(t *testing.T) {
	s := lookup(t, "amea")
	h := ameaHeader()
	h[11] = "Kommentar" // Slutdatum replaced
	_, err := s.Bind(h)
	de := driftError(t, err)
	if !slices.Equal(de.Missing, []string{"Slutdatum"}) || !slices.Equal(de.Unexpected, []string{"Kommentar"}) {
		t.Errorf("drift = %+v", de)
	}
	if want := `schema drift against "amea": missing column "Slutdatum"; unexpected column "Kommentar"`; err.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", err, want)
	}
}

func TestBindNewColumn(t *testing.T) {
	s := lookup(t, "amea")
	h := append(ameaHeader(), "Kommentar", " Handläggare ")
	_, err := s.Bind(h)
	de := driftError(t, err)
	if len(de.Missing) != 0 || !slices.Equal(de.Unexpected, []string{"Kommentar", "Handläggare"}) {
		t.Errorf("drift = %+v", de)
	}
	if want := `schema drift against "amea": unexpected columns "Kommentar", "Handläggare"`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	// A trailing separator makes an empty header cell: drift too, described by position.
	_, err = s.Bind(append(ameaHeader(), ""))
	if want := `schema drift against "amea": unexpected column 15 (empty name)`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestBindDuplicateColumn(t *testing.T) {
	s := lookup(t, "amea")
	h := append(ameaHeader(), "personnummer", "PERSONNUMMER", "Åtgärd")
	_, err := s.Bind(h)
	de := driftError(t, err)
	if !slices.Equal(de.Duplicate, []string{"Personnummer", "Åtgärd"}) || len(de.Missing) != 0 || len(de.Unexpected) != 0 {
		t.Errorf("drift = %+v", de)
	}
	if want := `schema drift against "amea": duplicate columns "Personnummer", "Åtgärd"`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

// A file without a header row: its first data row is read as the header. Nothing of it may be
// printed, neither the cells that look like data nor the names next to them.
func TestBindDataRowAsHeaderWithheld(t *testing.T) {
	s := lookup(t, "amea")
	row := []string{"19811218-9876", "Anna Svensson", "asve01", "anna.svensson@example.se", "070-123 45 67",
		"Storgatan 1", "553 20", "Jönköping", "Arbetsträning", "2024-01-15", "2024-02-01", "2024-06-30",
		"Ryggbesvär", "Mår bättre"}
	_, err := s.Bind(row)
	de := driftError(t, err)
	msg := err.Error()
	for _, cell := range row {
		for _, f := range append(de.Unexpected, msg) {
			if strings.Contains(f, cell) {
				t.Errorf("drift report repeats header cell %q: %q", cell, f)
			}
		}
	}
	if !strings.Contains(msg, "unexpected columns 1, 4, 5, 7, 10, 11, 12 (name withheld: looks like data — is the header row missing?)") {
		t.Errorf("Error() = %q, want the data-like cells described by position", msg)
	}
	if !strings.Contains(msg, "unexpected columns 2, 3, 6, 8, 9, 13, 14 (name withheld: another cell of this row looks like data)") {
		t.Errorf("Error() = %q, want the other cells withheld too", msg)
	}
	if de.Unexpected[2] != "column 3 (name withheld: another cell of this row looks like data)" {
		t.Errorf("Unexpected[2] = %q", de.Unexpected[2])
	}
	if len(de.Missing) != 14 {
		t.Errorf("Missing = %v, want all 14 schema columns", de.Missing)
	}
}

// One data-like cell among real header names: the exact wording of the contract.
func TestBindOneDataLikeCell(t *testing.T) {
	s := lookup(t, "amea")
	h := ameaHeader()
	h = slices.Insert(h, 2, "0701234567")
	_, err := s.Bind(h)
	de := driftError(t, err)
	if want := "column 3 (name withheld: looks like data — is the header row missing?)"; !slices.Equal(de.Unexpected, []string{want}) {
		t.Errorf("Unexpected = %q, want [%q]", de.Unexpected, want)
	}
	if want := `schema drift against "amea": unexpected column 3 (name withheld: looks like data — is the header row missing?)`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

func TestLooksLikeData(t *testing.T) {
	data := []string{"198112189876", "811218-9876", "19811218-TF12", "a@b", "anna@example.se", "070-123 45 67",
		"+46 70 123", "Box 12345", "08-508", "(08) 123", "553 20", "2024-01-15", "20240115", "0180", "123", "１２３４５"}
	names := []string{"Personnummer", "E-post", "Telefon", "Närvaro (timmar)", "Yrke (SSYK)", "Kolumn 12",
		"Startdatum", "Ärende-ID", "Sökt yrke (SSYK)", "Period 2024", "", "+", "46"}
	for _, s := range data {
		if !looksLikeData(s) {
			t.Errorf("looksLikeData(%q) = false", s)
		}
	}
	for _, s := range names {
		if looksLikeData(s) {
			t.Errorf("looksLikeData(%q) = true", s)
		}
	}
}

// Every built-in column name must itself pass as a name, or drift reports would hide it.
func TestBuiltinNamesDoNotLookLikeData(t *testing.T) {
	for _, s := range builtins(t) {
		for _, c := range s.Columns {
			if looksLikeData(c.Name) {
				t.Errorf("%s: column %q looks like data", s.Name, c.Name)
			}
		}
	}
}

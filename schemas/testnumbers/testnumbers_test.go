package testnumbers

import "testing"

func check(t *testing.T, name string, got []string, want int) {
	t.Helper()
	if len(got) != want {
		t.Fatalf("%s: got %d numbers, want %d", name, len(got), want)
	}
	seen := make(map[string]bool, len(got))
	for i, s := range got {
		if len(s) != 12 {
			t.Fatalf("%s: line %d has length %d, want 12", name, i+1, len(s))
		}
		for j := 0; j < len(s); j++ {
			if s[j] < '0' || s[j] > '9' {
				t.Fatalf("%s: line %d has a non-digit at position %d", name, i+1, j+1)
			}
		}
		if seen[s] {
			t.Fatalf("%s: line %d is a duplicate", name, i+1)
		}
		seen[s] = true
	}
}

func TestPersonnummer(t *testing.T) {
	check(t, "personnummer", Personnummer(), 41127)
}

func TestSamordningsnummer(t *testing.T) {
	check(t, "samordningsnummer", Samordningsnummer(), 2264)
}

func TestCallerOwnsSlice(t *testing.T) {
	a := Personnummer()
	first := a[0]
	a[0] = "changed"
	if b := Personnummer(); b[0] != first {
		t.Fatal("modifying the returned slice changed the package's copy")
	}
}

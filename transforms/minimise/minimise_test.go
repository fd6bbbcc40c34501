package minimise

import (
	"testing"
	"time"

	"github.com/gallra/gallra/transforms/identity"
)

func TestNewPolicy(t *testing.T) {
	p, err := NewPolicy([]string{"sex", " age_band"})
	if err != nil || !p.Sex || !p.AgeBand || p.Municipality {
		t.Fatalf("NewPolicy = %+v, %v", p, err)
	}
	if _, err := NewPolicy([]string{"name"}); err == nil {
		t.Fatal("an undeclarable attribute must be refused")
	}
	if got := p.Names(); len(got) != 2 || got[0] != "sex" || got[1] != "age_band" {
		t.Fatalf("Names = %v", got)
	}
}

func TestAgeBand(t *testing.T) {
	for age, want := range map[int]string{0: "0-15", 15: "0-15", 16: "16-19", 19: "16-19", 20: "20-24", 29: "25-29", 30: "30-39", 64: "60-64", 65: "65+", 101: "65+"} {
		if got := AgeBand(age); got != want {
			t.Errorf("AgeBand(%d) = %s, want %s", age, got, want)
		}
	}
}

func TestDeriveKeepsOnlyDeclared(t *testing.T) {
	ref := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	id, err := identity.Parse("19900315-1231", ref) // serial ...3: odd -> M
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2015, 3, 14, 0, 0, 0, 0, time.UTC) // the day before the 25th birthday
	kommun := "0680"
	none := Policy{}.Derive(id, start, &kommun)
	if none.Sex != nil || none.AgeBand != nil || none.Municipality != nil {
		t.Fatalf("empty policy derived %+v", none)
	}
	all := Policy{Sex: true, AgeBand: true, Municipality: true}.Derive(id, start, &kommun)
	if all.Sex == nil || *all.Sex != "M" {
		t.Errorf("sex = %v", all.Sex)
	}
	if all.AgeBand == nil || *all.AgeBand != "20-24" {
		t.Errorf("age band = %v, want 20-24", all.AgeBand)
	}
	if all.Municipality != &kommun {
		t.Errorf("municipality = %v, want the caller's own string %p", all.Municipality, &kommun)
	}
	empty := ""
	if a := (Policy{Municipality: true}).Derive(id, start, &empty); a.Municipality != nil {
		t.Errorf("an empty municipality derived %q", *a.Municipality)
	}
	// A birth-date-only identifier has no sex.
	bd, err := identity.ParseBirthDate("1990-03-15", ref)
	if err != nil {
		t.Fatal(err)
	}
	if a := (Policy{Sex: true, AgeBand: true}).Derive(bd, start, nil); a.Sex != nil || a.AgeBand == nil {
		t.Errorf("birthdate derive = %+v", a)
	}
}

package risk

import (
	"strings"
	"testing"
)

func cls(s string, rows int64) Class { return Class{Values: strings.Split(s, "|"), Rows: rows} }

var planClasses = []Class{
	cls("amea|PRAKTIK|month|2023-03-01|2023-06-01|||", 6), // A: fine
	cls("amea|PRAKTIK|month|2023-02-01|2023-06-01|||", 2), // B: small
	cls("amea|PRAKTIK|month|2023-01-01|2023-05-01|||", 3), // C: small
	cls("uka|KARTLAGGNING|year|2024-01-01||K|16-19|2580", 1),
	cls("uka|KARTLAGGNING|year|2024-01-01||K|16-19|2581", 1),
}

func TestPlanCoarsenWorkedByHand(t *testing.T) {
	p := PlanFix(planClasses, 5, Coarsen)
	// B and C go to quarter: both become 2023-01-01..2023-04-01 and merge into 5 rows.
	q := "amea|PRAKTIK|quarter|2023-01-01|2023-04-01|||"
	for _, c := range planClasses[1:3] {
		if got := strings.Join(p.To[Key(c.Values)], "|"); got != q {
			t.Errorf("%v -> %q, want %q", c.Values, got, q)
		}
	}
	if _, changed := p.To[Key(planClasses[0].Values)]; changed {
		t.Error("a class of 6 was changed")
	}
	// The two UKA singletons lose municipality (merge: 2 rows), then age band and sex,
	// and are still under 5: suppressed.
	for _, c := range planClasses[3:] {
		if to, ok := p.To[Key(c.Values)]; !ok || to != nil {
			t.Errorf("%v -> %v, want suppressed", c.Values, to)
		}
	}
	if p.Generalised != 5 || p.Suppressed != 2 {
		t.Errorf("generalised %d suppressed %d, want 5 and 2", p.Generalised, p.Suppressed)
	}
	// With k = 2 the UKA pair survives by losing only the municipality.
	p = PlanFix(planClasses, 2, Coarsen)
	if got := strings.Join(p.To[Key(planClasses[3].Values)], "|"); got != "uka|KARTLAGGNING|year|2024-01-01||K|16-19|" || p.Suppressed != 0 {
		t.Errorf("k=2: %q, suppressed %d", got, p.Suppressed)
	}
}

func TestPlanSuppress(t *testing.T) {
	p := PlanFix(planClasses, 5, Suppress)
	if p.Suppressed != 7 || p.Generalised != 0 || len(p.To) != 4 {
		t.Errorf("suppressed %d generalised %d, %d classes", p.Suppressed, p.Generalised, len(p.To))
	}
}

func TestStepLadder(t *testing.T) {
	v := strings.Split("amea|PRAKTIK|day|2024-02-29|2024-11-15|M|20-24|0180", "|")
	var got []string
	for {
		n, ok := step(v)
		if !ok {
			break
		}
		v = n
		got = append(got, strings.Join(v, "|"))
	}
	want := []string{
		"amea|PRAKTIK|month|2024-02-01|2024-11-01|M|20-24|0180",
		"amea|PRAKTIK|quarter|2024-01-01|2024-10-01|M|20-24|0180",
		"amea|PRAKTIK|year|2024-01-01|2024-01-01|M|20-24|0180",
		"amea|PRAKTIK|year|2024-01-01|2024-01-01|M|20-24|",
		"amea|PRAKTIK|year|2024-01-01|2024-01-01|M||",
		"amea|PRAKTIK|year|2024-01-01|2024-01-01|||",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ladder:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

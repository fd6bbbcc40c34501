package retention

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	policy "github.com/gallra/gallra/transforms/retention"
)

func TestShippedPoliciesExpressTheSeeds(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("%d policies", len(all))
	}
	for _, p := range all {
		seed, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "seeds", p.Seed))
		if err != nil {
			t.Logf("%s: seed not available here (%v); checking the policy alone", p.Name, err)
		} else if !strings.Contains(strings.Join(strings.Fields(string(seed)), " "), firstWords(p.Promise, 6)) {
			t.Errorf("%s: the promise is not the seed's words: %q", p.Name, firstWords(p.Promise, 6))
		}
	}
	// The seeds' numbers, as a row ending 2020-06-30 lives through them.
	end := time.Date(2020, 6, 30, 0, 0, 0, 0, time.UTC)
	for name, want := range map[string][3]policy.Tier{
		// on 2020-07-01, 2023-07-01, 2026-07-01
		"jonkoping_amea":     {policy.Anonymised, policy.Anonymised, policy.Purged},
		"lulea_aksel":        {policy.Pseudonymised, policy.Anonymised, policy.Anonymised},
		"arbetsformedlingen": {policy.Pseudonymised, policy.Anonymised, policy.Anonymised},
		"lulea_feriejobb":    {policy.Pseudonymised, policy.Purged, policy.Purged},
	} {
		p, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, y := range []int{2020, 2023, 2026} {
			if got := p.TierOn(time.Date(y, 7, 1, 0, 0, 0, 0, time.UTC), end, time.Time{}); got != want[i] {
				t.Errorf("%s on %d-07-01: %s, want %s", name, y, got, want[i])
			}
		}
	}
	uka, _ := Lookup("lulea_uka")
	if uka.EndOfYearAge != 21 {
		t.Errorf("uka: %+v", uka)
	}
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}

func TestLoadFileRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown key": "name = \"x\"\npseudonymised = \"1y\"\nkept = \"2y\"\ngranularity = \"month\"\nkeep = []\n",
		"bad span":    "name = \"x\"\npseudonymised = \"1 year\"\nkept = \"2y\"\ngranularity = \"month\"\n",
		"short kept":  "name = \"x\"\npseudonymised = \"3y\"\nkept = \"2y\"\ngranularity = \"month\"\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".toml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadFile(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "jonkoping_amea") {
		t.Errorf("Lookup(nope) = %v", err)
	}
}

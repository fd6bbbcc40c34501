package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gallra.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadResolvesAndDefaults(t *testing.T) {
	p := write(t, `
reference_date = "2026-06-30"
[key]
file = "keys/k.key"
[[source]]
name = "amea"
municipality = "0680"
keep = ["sex", "municipality"]
reserve = "unlinked"
[[source]]
name = "lulea_aksel"
schema = "aksel"
inbox = "/srv/exports/aksel"
`)
	j, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	if j.Lake != filepath.Join(dir, "lake") || j.Reports != filepath.Join(dir, "reports") || j.Key.File != filepath.Join(dir, "keys/k.key") {
		t.Errorf("paths not resolved against the config's folder: %+v", j)
	}
	if j.Key.Domain != "lake" || j.ReferenceDate.Format("2006-01-02") != "2026-06-30" {
		t.Errorf("key domain %q, reference %v", j.Key.Domain, j.ReferenceDate)
	}
	a, b := j.Sources[0], j.Sources[1]
	if a.Inbox != filepath.Join(dir, "inbox", "amea") || a.Schema.Name != "amea" || !a.Policy.Sex || a.Policy.AgeBand {
		t.Errorf("amea: %+v", a)
	}
	if a.Reserve != Unlinked || a.BirthDate != Quarantine {
		t.Errorf("amea actions: reserve %s birthdate %s; the default must be quarantine", a.Reserve, a.BirthDate)
	}
	if b.Inbox != "/srv/exports/aksel" || b.Schema.Name != "aksel" {
		t.Errorf("aksel: %+v", b)
	}
}

func TestLoadRefuses(t *testing.T) {
	cases := map[string]string{
		"no [[source]]":            `lake = "x"`,
		"unknown key(s) lak":       "lak = \"x\"\n[[source]]\nname = \"amea\"",
		"name must match":          "[[source]]\nname = \"Amea\"",
		"name used twice":          "[[source]]\nname = \"amea\"\n[[source]]\nname = \"amea\"",
		`unknown attribute "name"`: "[[source]]\nname = \"amea\"\nkeep = [\"name\"]",
		"not a kommunkod":          "[[source]]\nname = \"amea\"\nmunicipality = \"9999\"",
		"no municipality column":   "[[source]]\nname = \"amea\"\nkeep = [\"municipality\"]",
		`must be "pseudonymise"`:   "[[source]]\nname = \"amea\"\nreserve = \"drop\"",
		"reference_date":           "reference_date = \"23/11/2026\"\n[[source]]\nname = \"amea\"",
		"amea2":                    "[[source]]\nname = \"amea2\"", // no such built-in schema
	}
	for want, body := range cases {
		p := write(t, body)
		_, err := Load(p)
		if err == nil {
			t.Errorf("%q: loaded", body)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "gallra.toml") {
			t.Errorf("%q: error %q, want it to name the file and say %q", body, err, want)
		}
	}
}

func TestLoadOperatorSchemaFile(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../schemas/sources/feriejobb.toml")
	if err != nil {
		t.Fatal(err)
	}
	own := strings.Replace(string(src), `name = "feriejobb"`, `name = "sommarjobb"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "sommarjobb.toml"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "gallra.toml")
	if err := os.WriteFile(p, []byte("[[source]]\nname = \"sommarjobb\"\nschema = \"./sommarjobb.toml\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if j.Sources[0].Schema.Name != "sommarjobb" {
		t.Errorf("schema %q", j.Sources[0].Schema.Name)
	}
}

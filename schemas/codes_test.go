package schemas

import (
	"strings"
	"testing"
)

func TestCodesMeasures(t *testing.T) {
	c, err := LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Measures); n < 15 || n > 20 {
		t.Errorf("%d measure codes, want 15 to 20", n)
	}
	seen := map[string]bool{}
	for _, m := range c.Measures {
		if seen[m.Code] {
			t.Errorf("duplicate code %s", m.Code)
		}
		seen[m.Code] = true
		if !codeRE.MatchString(m.Code) || m.SV == "" || m.EN == "" || m.Description == "" {
			t.Errorf("incomplete measure %+v", m)
		}
	}
	for _, code := range []string{"ARBETSTRANING", "PRAKTIK", "KARTLAGGNING", "VAGLEDNING", "JOBBCOACHNING", "UTBILDNING",
		"ARBETSMARKNADSUTBILDNING", "FORBEREDANDE_UTBILDNING", "SFI", "EXTRATJANST", "LONEBIDRAG", "NYSTARTSJOBB",
		"SARSKILT_ANSTALLNINGSSTOD", "FERIEJOBB", "KAA_INSATS", "JOBBGARANTI_UNGDOM", "JOBB_UTVECKLINGSGARANTI", "ETABLERING", "SPRAKPRAKTIK"} {
		m, ok := c.Measure(code)
		if !ok || m.Code != code {
			t.Errorf("Measure(%q) = %+v, %v", code, m, ok)
		}
	}
	if m, _ := c.Measure("ARBETSTRANING"); m.SV != "Arbetsträning" || m.EN != "Work training" {
		t.Errorf("ARBETSTRANING = %+v", m)
	}
	for _, code := range []string{"", "arbetstraning", "OKAND"} {
		if _, ok := c.Measure(code); ok {
			t.Errorf("Measure(%q) found", code)
		}
	}
	// The linear fallback for a Codes built in code agrees.
	lit := &Codes{Measures: c.Measures}
	if m, ok := lit.Measure("SFI"); !ok || m.EN != "Swedish for immigrants" {
		t.Errorf("literal Codes.Measure(SFI) = %+v, %v", m, ok)
	}
}

func TestCodesMunicipalities(t *testing.T) {
	c, err := LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Municipalities) != 290 {
		t.Errorf("%d municipalities, want 290", len(c.Municipalities))
	}
	for code, want := range map[string]string{"0680": "Jönköping", "2580": "Luleå", "0180": "Stockholm", " 0180 ": "Stockholm"} {
		if got, ok := c.Municipality(code); !ok || got != want {
			t.Errorf("Municipality(%q) = %q, %v; want %q", code, got, ok, want)
		}
	}
	for _, code := range []string{"680", "9999", "", "06800"} {
		if got, ok := c.Municipality(code); ok {
			t.Errorf("Municipality(%q) = %q, want not found", code, got)
		}
		if p := c.MunicipalityCode(code); p != nil {
			t.Errorf("MunicipalityCode(%q) = %q, want nil", code, *p)
		}
	}
}

// Every row with a kommunkod points at the code list's one copy of it.
func TestMunicipalityCodeShared(t *testing.T) {
	c, err := LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.MunicipalityCode("0680"), c.MunicipalityCode(" 0680\t")
	if a == nil || *a != "0680" || a != b {
		t.Fatalf("MunicipalityCode(0680) = %v, with white space %v: want one shared \"0680\"", a, b)
	}
	if p := c.MunicipalityCode("2580"); p == nil || *p != "2580" || p == a {
		t.Errorf("MunicipalityCode(2580) = %v", p)
	}
	// A Codes built in code finds the code, in a string of its own.
	lit := &Codes{Municipalities: map[string]string{"0680": "Jönköping"}}
	if p := lit.MunicipalityCode("0680 "); p == nil || *p != "0680" {
		t.Errorf("literal Codes.MunicipalityCode(0680) = %v", p)
	}
	if p := lit.MunicipalityCode("0180"); p != nil {
		t.Errorf("literal Codes.MunicipalityCode(0180) = %q, want nil", *p)
	}
}

func TestParseMeasuresRules(t *testing.T) {
	tests := map[string]string{
		"unknown key": "[[measure]]\ncode = \"A\"\nsv = \"a\"\nen = \"a\"\ndescription = \"a\"\nnamn = \"x\"\n",
		"bad code":    "[[measure]]\ncode = \"a-b\"\nsv = \"a\"\nen = \"a\"\ndescription = \"a\"\n",
		"duplicate":   "[[measure]]\ncode = \"A\"\nsv = \"a\"\nen = \"a\"\ndescription = \"a\"\n[[measure]]\ncode = \"A\"\nsv = \"b\"\nen = \"b\"\ndescription = \"b\"\n",
		"no en":       "[[measure]]\ncode = \"A\"\nsv = \"a\"\ndescription = \"a\"\n",
		"empty":       "# nothing\n",
	}
	wants := map[string]string{"unknown key": `"measure.namn"`, "bad code": "code must be", "duplicate": "duplicate of [[measure]] 1",
		"no en": "required", "empty": "no [[measure]]"}
	for name, text := range tests {
		_, err := parseMeasures("m.toml", []byte(text))
		if err == nil || !strings.Contains(err.Error(), wants[name]) || !strings.Contains(err.Error(), "m.toml") {
			t.Errorf("%s: err = %v, want it to name m.toml and say %q", name, err, wants[name])
		}
	}
}

func TestParseMunicipalitiesRules(t *testing.T) {
	const head = "municipality_code,municipality_name,municipality_name_short,county_code\n"
	for name, text := range map[string]string{
		"bad header": "kod,namn,kort,lan\n0180,Stockholms kommun,Stockholm,01\n",
		"short code": head + "180,Stockholms kommun,Stockholm,01\n",
		"wrong lan":  head + "0180,Stockholms kommun,Stockholm,02\n",
		"duplicate":  head + "0180,Stockholms kommun,Stockholm,01\n0180,Stockholms kommun,Stockholm,01\n",
		"fields":     head + "0180,Stockholms kommun,Stockholm\n",
	} {
		if _, err := parseMunicipalities("k.csv", []byte(text)); err == nil || !strings.Contains(err.Error(), "k.csv") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

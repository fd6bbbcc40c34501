package schemas

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

func builtins(t *testing.T) []*Schema {
	t.Helper()
	all, err := BuiltinSchemas()
	if err != nil {
		t.Fatalf("BuiltinSchemas: %v", err)
	}
	return all
}

func TestBuiltinSchemasLoadAndValidate(t *testing.T) {
	all := builtins(t)
	if len(all) < 7 {
		t.Fatalf("got %d built-in schemas, want at least 7", len(all))
	}
	codes, err := LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
		if err := s.Validate(codes); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		for field, v := range map[string]string{
			"system": s.System, "owner": s.Owner, "seed": s.Seed, "description": s.Description,
			"retention": s.Retention, "format": s.Format, "date_format": s.DateFormat,
		} {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %s is empty", s.Name, field)
			}
		}
		if !regexp.MustCompile(`^00[0-4]_[0-9a-f]{16}\.txt$`).MatchString(s.Seed) {
			t.Errorf("%s: seed %q is not one of the seed files", s.Name, s.Seed)
		}
		if n := len(s.Measures); n < 3 || n > 8 {
			t.Errorf("%s: %d measure labels, want 3 to 8", s.Name, n)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("not sorted by name: %v", names)
	}
}

// The systems the seeds name must all be there, modelled as the seeds describe them.
func TestSeedSystems(t *testing.T) {
	type col struct {
		holds string
		read  bool
	}
	tests := []struct {
		name, seed, format  string
		delimiter, encoding string
		retention           []string // substrings of the retention promise
		cols                []col    // columns that must exist (first with that holds)
		readHolds           []string // exactly these holds are read
	}{
		{
			name: "amea", seed: "000_8c4c290a4058cd31.txt", format: "csv", delimiter: ";", encoding: "windows-1252",
			retention: []string{"fem år", "åtgärdstyp och period"},
			cols:      []col{{"full_name", false}, {"username", false}, {"email", false}, {"phone", false}, {"address", false}, {"health", false}},
			readHolds: []string{"identifier", "measure", "period_start", "period_end"},
		},
		{
			name: "aksel", seed: "003_717b96eb67193c4f.txt", format: "csv", delimiter: ",", encoding: "utf-8",
			retention: []string{"anonymiseras efter 2 år"},
			cols:      []col{{"first_name", false}, {"last_name", false}, {"phone", false}, {"email", false}, {"address", false}, {"free_text", false}},
			readHolds: []string{"identifier", "birth_date", "measure", "period_start", "period_end"},
		},
		{
			name: "skills", seed: "003_717b96eb67193c4f.txt", format: "xlsx",
			retention: []string{"anonymiseras"},
			cols:      []col{{"sex", false}, {"unit", false}, {"attendance", false}, {"status", false}, {"occupation", false}, {"free_text", false}},
			readHolds: []string{"identifier", "birth_date", "measure", "period_start", "period_end"},
		},
		{
			name: "uka", seed: "003_717b96eb67193c4f.txt", format: "csv", delimiter: "\t", encoding: "utf-8",
			retention: []string{"kalenderår", "21 år"},
			cols:      []col{{"full_name", false}, {"address", false}, {"email", false}, {"phone", false}, {"relative_contact", false}},
			readHolds: []string{"identifier", "measure", "period_start", "period_end"},
		},
		{
			name: "feriejobb", seed: "003_717b96eb67193c4f.txt", format: "csv", delimiter: ";", encoding: "utf-8",
			retention: []string{"2 år"},
			cols:      []col{{"first_name", false}, {"address", false}, {"email", false}, {"phone", false}, {"allergy", false}},
			readHolds: []string{"identifier", "measure", "period_start", "period_end"},
		},
		{
			name: "jobbtorg", seed: "001_9de1036ad408f35f.txt", format: "csv", delimiter: ";", encoding: "utf-8-bom",
			retention: []string{"gallringsbeslut"},
			cols:      []col{{"address", false}, {"phone", false}, {"first_name", false}, {"health", false}},
			readHolds: []string{"identifier", "measure", "period_start", "period_end"},
		},
		{
			name: "af_program", seed: "004_1c8e2cf6f894a24e.txt", format: "csv", delimiter: ",", encoding: "windows-1252",
			retention: []string{"tre år efter att ärendet avslutats", "ytterligare tio år"},
			cols:      []col{{"case_worker", false}, {"municipality", true}, {"record_id", true}},
			readHolds: []string{"identifier", "measure", "period_start", "period_end", "municipality", "record_id"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Lookup(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if s.Seed != tt.seed || s.Format != tt.format || s.Delimiter != tt.delimiter || s.Encoding != tt.encoding {
				t.Errorf("seed/format/delimiter/encoding = %q %q %q %q, want %q %q %q %q",
					s.Seed, s.Format, s.Delimiter, s.Encoding, tt.seed, tt.format, tt.delimiter, tt.encoding)
			}
			for _, r := range tt.retention {
				if !strings.Contains(s.Retention, r) {
					t.Errorf("retention %q does not say %q", s.Retention, r)
				}
			}
			for _, c := range tt.cols {
				got, ok := s.Column(c.holds)
				if !ok {
					t.Errorf("no column holds %q", c.holds)
				} else if got.Read != c.read {
					t.Errorf("column %q read = %v, want %v", got.Name, got.Read, c.read)
				}
			}
			var read []string
			for _, c := range s.ReadColumns() {
				read = append(read, c.Holds)
			}
			slices.Sort(read)
			want := slices.Sorted(slices.Values(tt.readHolds))
			if !slices.Equal(read, want) {
				t.Errorf("read holds = %v, want %v", read, want)
			}
		})
	}
}

func TestBuiltinHintVariety(t *testing.T) {
	has := map[string]bool{}
	for _, s := range builtins(t) {
		if s.Format == "xlsx" {
			has["xlsx"] = true
			continue
		}
		has["delim "+s.Delimiter] = true
		has["enc "+s.Encoding] = true
		has[s.Delimiter+" "+s.Encoding] = true
	}
	for _, want := range []string{"xlsx", "; windows-1252", ", utf-8", "delim \t", "enc utf-8-bom"} {
		if !has[want] {
			t.Errorf("no built-in schema with %q", want)
		}
	}
}

func TestBuiltinMeasureLabels(t *testing.T) {
	codes, err := LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range builtins(t) {
		for label, code := range s.Measures {
			got, ok := s.MapMeasure(label)
			if !ok || got != code {
				t.Errorf("%s: MapMeasure(%q) = %q, %v; want %q", s.Name, label, got, ok, code)
			}
			if _, ok := codes.Measure(got); !ok {
				t.Errorf("%s: %q maps to unknown code %q", s.Name, label, got)
			}
		}
	}
	// Labels the brief names for each system.
	want := map[string]map[string]string{
		"amea": {"Arbetsträning": "ARBETSTRANING", "Praktik": "PRAKTIK", "Studie- och yrkesvägledning": "VAGLEDNING"},
		"af_program": {
			"Arbetsmarknadsutbildning": "ARBETSMARKNADSUTBILDNING", "Förberedande utbildning": "FORBEREDANDE_UTBILDNING",
			"Nystartsjobb": "NYSTARTSJOBB", "Lönebidrag": "LONEBIDRAG", "Jobbgarantin för ungdomar": "JOBBGARANTI_UNGDOM",
			"Jobb- och utvecklingsgarantin": "JOBB_UTVECKLINGSGARANTI", "Etableringsprogrammet": "ETABLERING",
		},
		"uka":       {"Praktik": "PRAKTIK", "Studiebesök": "KAA_INSATS", "Motivationsinsats": "KAA_INSATS", "Återgång till studier": "UTBILDNING"},
		"feriejobb": {"Feriejobb": "FERIEJOBB"},
		"aksel": {
			"Arbetsträning": "ARBETSTRANING", "Extratjänst": "EXTRATJANST", "Kartläggning": "KARTLAGGNING",
			"Särskilt anställningsstöd": "SARSKILT_ANSTALLNINGSSTOD", "Språkpraktik": "SPRAKPRAKTIK",
		},
		"skills": {"Arbetsträning": "ARBETSTRANING", "Extratjänst": "EXTRATJANST", "Språkpraktik": "SPRAKPRAKTIK"},
		"jobbtorg": {
			"Jobbcoachning": "JOBBCOACHNING", "Vägledning": "VAGLEDNING", "Praktik": "PRAKTIK",
			"Kompetenshöjande insats": "UTBILDNING", "SFI": "SFI",
		},
	}
	for name, labels := range want {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for label, code := range labels {
			if got, ok := s.MapMeasure(label); !ok || got != code {
				t.Errorf("%s: MapMeasure(%q) = %q, %v; want %q", name, label, got, ok, code)
			}
		}
	}
}

func TestLookupUnknownListsNames(t *testing.T) {
	_, err := Lookup("amea2")
	if err == nil {
		t.Fatal("Lookup of an unknown name succeeded")
	}
	for _, n := range []string{`"amea2"`, "amea", "aksel", "skills", "uka", "feriejobb", "jobbtorg", "af_program"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not mention %s", err, n)
		}
	}
}

func TestLookupReturnsCopies(t *testing.T) {
	a, err := Lookup("amea")
	if err != nil {
		t.Fatal(err)
	}
	a.Columns[0].Read = false
	a.Measures["Praktik"] = "SFI"
	a.Name = "changed"
	b, err := Lookup("amea")
	if err != nil {
		t.Fatal(err)
	}
	if !b.Columns[0].Read || b.Measures["Praktik"] != "PRAKTIK" || b.Name != "amea" {
		t.Error("changing a looked-up schema changed the built-in one")
	}
	if code, _ := a.MapMeasure("Praktik"); code != "SFI" {
		t.Errorf("the copy's MapMeasure does not see its own change before first use: %q", code)
	}
}

func TestReadColumnsAndColumn(t *testing.T) {
	s, err := Lookup("aksel")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range s.ReadColumns() {
		got = append(got, c.Name)
	}
	want := []string{"Person-/samordningsnummer", "Födelsedatum", "Insats", "Startdatum", "Slutdatum"}
	if !slices.Equal(got, want) {
		t.Errorf("ReadColumns = %v, want %v", got, want)
	}
	if c, ok := s.Column("free_text"); !ok || c.Name != "Utvecklingsplan" {
		t.Errorf("Column(free_text) = %v, %v; want the first one, Utvecklingsplan", c, ok)
	}
	if _, ok := s.Column("health"); ok {
		t.Error("Column(health) found a column aksel does not have")
	}
}

func TestMapMeasure(t *testing.T) {
	s, err := Lookup("amea")
	if err != nil {
		t.Fatal(err)
	}
	nfd := "Arbetstra\u0308ning" // ä decomposed
	tests := []struct {
		label, code string
		ok          bool
	}{
		{"Arbetsträning", "ARBETSTRANING", true},
		{"  Arbetsträning\t", "ARBETSTRANING", true},
		{"\u00a0Praktik ", "PRAKTIK", true},
		{"ARBETSTRÄNING", "ARBETSTRANING", true},
		{"studie- och YRKESVÄGLEDNING", "VAGLEDNING", true},
		{nfd, "ARBETSTRANING", true},
		{"arbetsträning", "ARBETSTRANING", true},
		// never guesses further
		{"Arbetstraning", "", false},
		{"Praktik 2", "", false},
		{"Studie och yrkesvägledning", "", false},
		{"Prak", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		code, ok := s.MapMeasure(tt.label)
		if code != tt.code || ok != tt.ok {
			t.Errorf("MapMeasure(%q) = %q, %v; want %q, %v", tt.label, code, ok, tt.code, tt.ok)
		}
	}
}

func TestMapMeasureAmbiguousCaseNeverGuesses(t *testing.T) {
	for _, s := range []*Schema{
		{Name: "x", Measures: map[string]string{"Praktik": "PRAKTIK", "PRAKTIK": "SPRAKPRAKTIK"}},                  // literal: slow path
		(&Schema{Name: "x", Measures: map[string]string{"Praktik": "PRAKTIK", "PRAKTIK": "SPRAKPRAKTIK"}}).clone(), // indexed
	} {
		if code, ok := s.MapMeasure("Praktik"); !ok || code != "PRAKTIK" {
			t.Errorf("exact Praktik = %q, %v", code, ok)
		}
		if code, ok := s.MapMeasure("PRAKTIK"); !ok || code != "SPRAKPRAKTIK" {
			t.Errorf("exact PRAKTIK = %q, %v", code, ok)
		}
		if code, ok := s.MapMeasure("praktik"); ok {
			t.Errorf("ambiguous praktik mapped to %q", code)
		}
	}
}

func TestMapMeasureConcurrent(t *testing.T) {
	s, err := Lookup("af_program")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if code, ok := s.MapMeasure(" nystartsjobb "); !ok || code != "NYSTARTSJOBB" {
					t.Errorf("MapMeasure = %q, %v", code, ok)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// The README's table of built-in schemas must list every one of them.
func TestReadmeListsBuiltins(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range builtins(t) {
		row := "| `" + s.Name + "` |"
		if !strings.Contains(string(data), row) {
			t.Errorf("README.md has no table row starting %s", row)
		}
	}
}

// writeSchema writes text to a schema file in a temporary directory and returns its path.
func writeSchema(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "own.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

package schemas

import (
	"strings"
	"testing"
)

// good is a minimal valid schema file; the tests below break it one rule at a time.
const good = `# an operator's own schema
name = "egen_kalla"
system = "Eget system"
format = "csv"
delimiter = ";"
encoding = "utf-8"
date_format = "2006-01-02"

[[column]]
name = "Personnummer"
holds = "identifier"
read = true

[[column]]
name = "Namn"
holds = "full_name"

[[column]]
name = "Insats"
holds = "measure"
read = true

[[column]]
name = "Start"
holds = "period_start"
read = true

[[column]]
name = "Slut"
holds = "period_end"
read = true

[measures]
"Praktik" = "PRAKTIK"
"Arbetsträning" = "ARBETSTRANING"
`

func TestLoadFileGood(t *testing.T) {
	s, err := LoadFile(writeSchema(t, good))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "egen_kalla" || len(s.Columns) != 5 || len(s.ReadColumns()) != 4 {
		t.Errorf("loaded %+v", s)
	}
	if code, ok := s.MapMeasure("arbetsträning"); !ok || code != "ARBETSTRANING" {
		t.Errorf("MapMeasure = %q, %v", code, ok)
	}
	// A BOM and CRLF line ends, as a Windows editor writes them, are fine.
	if _, err := LoadFile(writeSchema(t, "\ufeff"+strings.ReplaceAll(good, "\n", "\r\n"))); err != nil {
		t.Errorf("BOM + CRLF: %v", err)
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile("/nonexistent/dir/own.toml")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/dir/own.toml") {
		t.Errorf("err = %v, want it to name the file", err)
	}
}

func TestStrictUnknownKeys(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"top-level", strings.Replace(good, `system = "Eget system"`, "system = \"Eget system\"\nkolumnordning = \"fast\"", 1),
			[]string{"own.toml:4:", `unknown key "kolumnordning"`}},
		{"in a column", strings.Replace(good, "name = \"Namn\"\nholds = \"full_name\"", "name = \"Namn\"\nholds = \"full_name\"\nlasbar = true", 1),
			[]string{"own.toml:17:", `unknown key "lasbar" in [[column]] 2`}},
		{"misspelt read", strings.Replace(good, "name = \"Slut\"\nholds = \"period_end\"\nread = true", "name = \"Slut\"\nholds = \"period_end\"\nreads = true", 1),
			[]string{`unknown key "reads" in [[column]] 5`}},
		{"unknown table", good + "\n[extra]\nfoo = 1\nbar = 2\n",
			[]string{`unknown key "extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeSchema(t, tt.text)
			_, err := LoadFile(p)
			if err == nil {
				t.Fatal("LoadFile succeeded")
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// Children of an unknown table are not reported one by one.
	_, err := LoadFile(writeSchema(t, good+"\n[extra]\nfoo = 1\n"))
	if err == nil || strings.Contains(err.Error(), "foo") {
		t.Errorf("err = %v, want only the table reported", err)
	}
}

func TestLoadFileSyntaxErrorNamesLine(t *testing.T) {
	p := writeSchema(t, strings.Replace(good, `format = "csv"`, `format = csv`, 1))
	_, err := LoadFile(p)
	if err == nil {
		t.Fatal("LoadFile succeeded")
	}
	if !strings.Contains(err.Error(), p+":4:") {
		t.Errorf("error %q does not name file:line %s:4", err, p)
	}
	// A wrong type names the key.
	_, err = LoadFile(writeSchema(t, strings.Replace(good, "read = true", `read = "ja"`, 1)))
	if err == nil || !strings.Contains(err.Error(), "key read in a [[column]]: incompatible types") || strings.Contains(err.Error(), "line") {
		t.Errorf("err = %v, want it to name the key read and no misleading line", err)
	}
	p = writeSchema(t, strings.Replace(good, `system = "Eget system"`, `system = 5`, 1))
	_, err = LoadFile(p)
	if err == nil || !strings.Contains(err.Error(), p+":3: TOML: key system: incompatible types") {
		t.Errorf("err = %v, want it to name file:line and the key system", err)
	}
}

// An export passed by mistake as a schema file must not have its content echoed.
func TestLoadFileDataFileWithheld(t *testing.T) {
	const pnr, email = "198112189876", "anna.svensson@example.se"
	for _, text := range []string{
		"Personnummer;Namn;E-post\n" + pnr + ";Anna Svensson;" + email + "\n",
		"personnummer = " + pnr + "0\n",
		"x = 0701234567\n",
		pnr + " = 1\n" + email + " = 2\n",
	} {
		_, err := LoadFile(writeSchema(t, text))
		if err == nil {
			t.Fatalf("LoadFile(%q) succeeded", text)
		}
		for _, secret := range []string{pnr, email, "0701234567", "Svensson"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q repeats %q", err, secret)
			}
		}
	}
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name    string
		old, nu string // replace old with nu in good
		want    []string
	}{
		{"name syntax", `name = "egen_kalla"`, `name = "Egen-Källa"`, []string{":2:", `name "Egen-Källa"`}},
		{"name missing", `name = "egen_kalla"`, ``, []string{"name is missing"}},
		{"system missing", `system = "Eget system"`, ``, []string{"system is missing"}},
		{"format missing", `format = "csv"`, ``, []string{"format is missing"}},
		{"format unknown", `format = "csv"`, `format = "json"`, []string{":4:", `format "json"`}},
		{"encoding unknown", `encoding = "utf-8"`, `encoding = "latin1"`, []string{":6:", `encoding "latin1"`}},
		{"delimiter unknown", `delimiter = ";"`, `delimiter = ":"`, []string{":5:", `delimiter ":"`}},
		{"xlsx with csv hints", `format = "csv"`, `format = "xlsx"`, []string{"CSV hints"}},
		{"date format not a Go layout", `date_format = "2006-01-02"`, `date_format = "YYYY-MM-DD"`, []string{":7:", "Go date layout", "2006-01-02"}},
		{"date format without day", `date_format = "2006-01-02"`, `date_format = "2006-01"`, []string{"date_format"}},
		{"duplicate column name", "name = \"Namn\"", "name = \" personNUMMER \"", []string{":14:", `column 2 " personNUMMER "`, "same name as column 1"}},
		{"empty column name", "name = \"Namn\"", "name = \"  \"", []string{"column 2: name is missing"}},
		{"holds unknown", `holds = "full_name"`, `holds = "fullname"`, []string{":14:", `column 2 "Namn"`, `holds "fullname" is not in the vocabulary`}},
		{"holds missing", `holds = "full_name"`, ``, []string{`column 2 "Namn": holds is missing`}},
		{"read on a name", "holds = \"full_name\"", "holds = \"full_name\"\nread = true", []string{":14:", `column 2 "Namn": read = true is not allowed for holds "full_name"`}},
		{"no identifier read", "holds = \"identifier\"\nread = true", "holds = \"identifier\"", []string{`no read = true column holds "identifier"`}},
		{"no measure read", "holds = \"measure\"\nread = true", "holds = \"measure\"", []string{`no read = true column holds "measure"`}},
		{"no period_start read", "holds = \"period_start\"\nread = true", "holds = \"period_start\"", []string{`no read = true column holds "period_start"`}},
		{"no period_end read", "holds = \"period_end\"\nread = true", "holds = \"period_end\"", []string{`no read = true column holds "period_end"`}},
		{"two measure read columns", "name = \"Start\"\nholds = \"period_start\"", "name = \"Start\"\nholds = \"measure\"", []string{`more than one read = true column holds "measure" (columns 3 "Insats", 4 "Start")`, `no read = true column holds "period_start"`}},
		{"two identifier read columns", "holds = \"full_name\"", "holds = \"identifier\"\nread = true", []string{`more than one read = true column holds "identifier"`}},
		{"unknown code", `"Praktik" = "PRAKTIK"`, `"Praktik" = "PRAKTIKK"`, []string{":34:", `label "Praktik" maps to "PRAKTIKK", which is not a code`}},
		{"code in wrong case", `"Praktik" = "PRAKTIK"`, `"Praktik" = "praktik"`, []string{`maps to "praktik", which is not a code`}},
		{"labels equal but for case", `"Praktik" = "PRAKTIK"`, "\"Praktik\" = \"PRAKTIK\"\n\" PRAKTIK\" = \"PRAKTIK\"", []string{`label " PRAKTIK" and label "Praktik" are the same label`}},
		{"empty label", `"Praktik" = "PRAKTIK"`, `" " = "PRAKTIK"`, []string{"[measures]: an empty label"}},
		{"no measures", "[measures]\n\"Praktik\" = \"PRAKTIK\"\n\"Arbetsträning\" = \"ARBETSTRANING\"\n", "", []string{"[measures] is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(good, tt.old, tt.nu, 1)
			if text == good {
				t.Fatalf("replacing %q changed nothing", tt.old)
			}
			p := writeSchema(t, text)
			_, err := LoadFile(p)
			if err == nil {
				t.Fatal("LoadFile succeeded")
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// A system that may register a person by birth date only reads the birth date; the identifier
// is then optional, and both may be read.
func TestValidateBirthDate(t *testing.T) {
	onlyBirth := strings.Replace(good, "holds = \"identifier\"\nread = true", "holds = \"birth_date\"\nread = true", 1)
	if _, err := LoadFile(writeSchema(t, onlyBirth)); err != nil {
		t.Errorf("birth date only: %v", err)
	}
	both := strings.Replace(good, "holds = \"full_name\"", "holds = \"birth_date\"\nread = true", 1)
	if _, err := LoadFile(writeSchema(t, both)); err != nil {
		t.Errorf("identifier and birth date: %v", err)
	}
	twoBirth := strings.Replace(onlyBirth, "holds = \"full_name\"", "holds = \"birth_date\"\nread = true", 1)
	if _, err := LoadFile(writeSchema(t, twoBirth)); err == nil || !strings.Contains(err.Error(), `more than one read = true column holds "birth_date"`) {
		t.Errorf("two birth dates: err = %v", err)
	}
}

// Every problem is reported at once, not only the first.
func TestValidateReportsAll(t *testing.T) {
	text := strings.Replace(good, `format = "csv"`, `format = "json"`, 1)
	text = strings.Replace(text, `holds = "full_name"`, `holds = "fullname"`, 1)
	text = strings.Replace(text, `"Praktik" = "PRAKTIK"`, `"Praktik" = "NOPE"`, 1)
	_, err := LoadFile(writeSchema(t, text))
	if err == nil {
		t.Fatal("LoadFile succeeded")
	}
	for _, w := range []string{`format "json"`, `holds "fullname"`, `"NOPE"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// A schema built in code (no file) is validated too, and its errors name it.
func TestValidateInMemory(t *testing.T) {
	s := &Schema{Name: "mem", System: "x", Format: "csv",
		Columns:  []Column{{Name: "Pnr", Holds: "identifier", Read: true}, {Name: "Telefon", Holds: "phone", Read: true}},
		Measures: map[string]string{"Praktik": "PRAKTIK"},
	}
	err := s.Validate(nil)
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	for _, w := range []string{`schema "mem"`, `column 2 "Telefon": read = true is not allowed`, `"measure"`, `"period_start"`, `"period_end"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestVocabularyAndReadable(t *testing.T) {
	v := Vocabulary()
	if len(v) != 30 {
		t.Errorf("vocabulary has %d entries, want 30", len(v))
	}
	for _, h := range []string{"identifier", "birth_date", "measure", "period_start", "period_end", "municipality", "record_id"} {
		if !Readable(h) {
			t.Errorf("Readable(%q) = false", h)
		}
	}
	for _, h := range []string{"full_name", "email", "phone", "health", "free_text", "address", "sex", ""} {
		if Readable(h) {
			t.Errorf("Readable(%q) = true", h)
		}
	}
	v[0] = "changed"
	if Vocabulary()[0] != "identifier" {
		t.Error("Vocabulary returned the package's own slice")
	}
}

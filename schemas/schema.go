package schemas

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"
	"golang.org/x/text/unicode/norm"
)

//go:embed sources/*.toml
var sourceFS embed.FS

// The holds values a column may be read for (read = true). Use them as keys of [Binding.Pos].
const (
	HoldsIdentifier   = "identifier"   // personnummer, samordningsnummer or a reserve number
	HoldsBirthDate    = "birth_date"   // birth date, for records without an identifier
	HoldsMeasure      = "measure"      // the system's own measure label, mapped with MapMeasure
	HoldsPeriodStart  = "period_start" // first day of the participation
	HoldsPeriodEnd    = "period_end"   // last day of the participation (may be empty while ongoing)
	HoldsMunicipality = "municipality" // 4-digit kommunkod
	HoldsRecordID     = "record_id"    // the system's own case or record ID
)

// vocabulary is every value a column's holds may take, in the order the README lists them.
var vocabulary = []string{
	HoldsIdentifier, HoldsBirthDate, "first_name", "last_name", "full_name", "username", "email",
	"phone", "address", "postcode", "city", "health", "free_text", HoldsMeasure, HoldsPeriodStart,
	HoldsPeriodEnd, HoldsMunicipality, HoldsRecordID, "unit", "occupation", "employer", "org_number",
	"case_worker", "decision_date", "attendance", "status", "sex", "relative_contact", "allergy",
	"language",
}

// readable is the subset of vocabulary that a column may be read for.
var readable = []string{
	HoldsIdentifier, HoldsBirthDate, HoldsMeasure, HoldsPeriodStart, HoldsPeriodEnd,
	HoldsMunicipality, HoldsRecordID,
}

// Vocabulary returns every value a column's holds may take.
func Vocabulary() []string { return slices.Clone(vocabulary) }

// Readable reports whether a column holding holds may be marked read = true.
func Readable(holds string) bool { return slices.Contains(readable, holds) }

// Formats, delimiters and encodings a schema may name.
var (
	formats   = []string{"csv", "xlsx"}
	encodings = []string{"utf-8", "utf-8-bom", "windows-1252"}
	// delimiters as written in TOML: "," ";" "\t" "|"
	delimiters = []string{",", ";", "\t", "|"}
)

var (
	nameRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
	codeRE = regexp.MustCompile(`^[A-Z0-9_]{1,64}$`)
)

// maxSchemaFile bounds what LoadFile reads: a schema is a few kilobytes.
const maxSchemaFile = 1 << 20

// Schema describes the export of one source system: its columns, which of them may be read, and
// how its own measure labels map to the shared measure codes.
//
// A Schema returned by this package is the caller's own copy. Do not change Measures after the
// first call to MapMeasure: the lookup index is built then.
type Schema struct {
	Name        string // schema id, [a-z0-9_]+; also the default source name and lake partition value
	System      string // the system's own name
	Owner       string // the organisation responsible for the system
	Seed        string // the privacy notice the schema models
	Description string
	Retention   string // the retention promise of the privacy notice, quoted or paraphrased
	Format      string // csv or xlsx: what the system exports
	Delimiter   string // optional CSV hint for generators: "," ";" "\t" or "|"
	Encoding    string // optional CSV hint for generators: utf-8, utf-8-bom or windows-1252
	DateFormat  string // optional Go time layout of the export's dates
	Columns     []Column
	Measures    map[string]string // source label -> shared measure code

	file string        // where the schema came from, for error messages
	loc  *locator      // line numbers in that file, if known
	idx  *measureIndex // MapMeasure's index
}

// Column is one column of a source export.
type Column struct {
	Name  string // header text as the system writes it
	Holds string // what the column contains: one of Vocabulary()
	Read  bool   // allowlist: only read columns are ever copied out of the parser
}

// fileSchema and fileColumn are the TOML layout of a schema file.
type fileSchema struct {
	Name        string            `toml:"name"`
	System      string            `toml:"system"`
	Owner       string            `toml:"owner"`
	Seed        string            `toml:"seed"`
	Description string            `toml:"description"`
	Retention   string            `toml:"retention"`
	Format      string            `toml:"format"`
	Delimiter   string            `toml:"delimiter"`
	Encoding    string            `toml:"encoding"`
	DateFormat  string            `toml:"date_format"`
	Columns     []fileColumn      `toml:"column"`
	Measures    map[string]string `toml:"measures"`
}

type fileColumn struct {
	Name  string `toml:"name"`
	Holds string `toml:"holds"`
	Read  bool   `toml:"read"`
}

var builtin struct {
	once    sync.Once
	schemas []*Schema
	err     error
}

// BuiltinSchemas returns every embedded schema, parsed and validated against the embedded code
// lists, sorted by name. Each call returns fresh copies.
func BuiltinSchemas() ([]*Schema, error) {
	builtin.once.Do(func() { builtin.schemas, builtin.err = loadBuiltin() })
	if builtin.err != nil {
		return nil, builtin.err
	}
	out := make([]*Schema, len(builtin.schemas))
	for i, s := range builtin.schemas {
		out[i] = s.clone()
	}
	return out, nil
}

func loadBuiltin() ([]*Schema, error) {
	codes, err := LoadCodes()
	if err != nil {
		return nil, err
	}
	entries, err := sourceFS.ReadDir("sources")
	if err != nil {
		return nil, fmt.Errorf("schemas: reading embedded sources: %w", err)
	}
	var (
		out  []*Schema
		errs []error
	)
	for _, e := range entries {
		file := path.Join("sources", e.Name())
		data, err := sourceFS.ReadFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("schemas: %s: %w", file, err))
			continue
		}
		s, err := parse(file, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if want := strings.TrimSuffix(e.Name(), ".toml"); s.Name != want {
			errs = append(errs, fmt.Errorf("schemas: %s: name %s does not match the file name %q",
				file, show(s.Name), want))
			continue
		}
		if err := s.Validate(codes); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup returns a copy of the built-in schema with the given name. The error for an unknown
// name lists the known ones.
func Lookup(name string) (*Schema, error) {
	all, err := BuiltinSchemas()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(all))
	for i, s := range all {
		if s.Name == name {
			return s, nil
		}
		names[i] = s.Name
	}
	return nil, fmt.Errorf("schemas: no built-in schema named %s (known: %s)", show(name), strings.Join(names, ", "))
}

// LoadFile reads an operator's own schema file, strictly (an unknown key is an error), and
// validates it against the embedded code lists. Errors name the file and, where known, the line
// and key.
func LoadFile(name string) (*Schema, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSchemaFile+1))
	if err != nil {
		return nil, fmt.Errorf("schemas: %s: %w", name, err)
	}
	if len(data) > maxSchemaFile {
		return nil, fmt.Errorf("schemas: %s: larger than %d bytes: not a schema file", name, maxSchemaFile)
	}
	s, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	if err := s.Validate(nil); err != nil {
		return nil, err
	}
	return s, nil
}

// parse decodes one schema file strictly. It does not validate the content.
func parse(file string, data []byte) (*Schema, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var fs fileSchema
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&fs)
	if err != nil {
		return nil, tomlError(file, data, err)
	}
	loc := locate(data)
	if und := md.Undecoded(); len(und) > 0 {
		return nil, undecodedError(file, loc, und)
	}
	s := &Schema{
		Name:        fs.Name,
		System:      fs.System,
		Owner:       fs.Owner,
		Seed:        fs.Seed,
		Description: fs.Description,
		Retention:   fs.Retention,
		Format:      fs.Format,
		Delimiter:   fs.Delimiter,
		Encoding:    fs.Encoding,
		DateFormat:  fs.DateFormat,
		Columns:     make([]Column, len(fs.Columns)),
		Measures:    make(map[string]string, len(fs.Measures)),
		file:        file,
		loc:         loc,
		idx:         new(measureIndex),
	}
	for i, c := range fs.Columns {
		s.Columns[i] = Column(c)
	}
	for k, v := range fs.Measures {
		s.Measures[k] = v
	}
	return s, nil
}

// tomlError turns a decoder error into one that names the file and line. The decoder's message
// may quote a piece of the input; if the input was a data file given by mistake, that piece could
// be personal data, so such messages are withheld.
func tomlError(file string, data []byte, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey != "" {
			msg = fmt.Sprintf("%s (after key %q)", msg, pe.LastKey)
		}
		if looksLikeData(pe.Message) || looksLikeData(pe.LastKey) {
			msg = "details withheld: the text looks like data — is this a schema file?"
		}
		return fmt.Errorf("schemas: %s:%d: TOML: %s", file, pe.Position.Line, msg)
	}
	// A type error: "toml: line N (last key "k"): incompatible types: …". Its line is the last
	// occurrence of the key in any [[column]], so only a top-level key's line is trusted.
	msg, line := err.Error(), 0
	if m := decodeErrRE.FindStringSubmatch(msg); m != nil {
		key := m[1]
		if !strings.Contains(key, ".") {
			line = locate(data).topLine(key)
		} else if k, ok := strings.CutPrefix(key, "column."); ok {
			key = k + " in a [[column]]"
		}
		msg = fmt.Sprintf("key %s: %s", key, m[2])
	}
	if looksLikeData(msg) {
		msg = "details withheld: the text looks like data — is this a schema file?"
	}
	return fmt.Errorf("schemas: %s%s: TOML: %s", file, lineSuffix(line), msg)
}

var decodeErrRE = regexp.MustCompile(`^toml: (?:line \d+ )?\(last key "([^"]*)"\): (.*)$`)

// undecodedError reports keys the schema format does not know. A key under an unknown table is
// reported once, as the table.
func undecodedError(file string, loc *locator, keys []toml.Key) error {
	unknown := make(map[string]bool)
	var errs []error
	for _, k := range keys {
		parent := false
		for n := 1; n < len(k); n++ {
			if unknown[toml.Key(k[:n]).String()] {
				parent = true
				break
			}
		}
		ks := k.String()
		if parent || unknown[ks] {
			continue
		}
		unknown[ks] = true
		switch {
		case len(k) == 2 && k[0] == "column":
			lines := loc.columnsWithKey(k[1])
			if len(lines) == 0 {
				errs = append(errs, fmt.Errorf("schemas: %s: unknown key %s in a [[column]] (known: name, holds, read)", file, show(k[1])))
			}
			for _, c := range lines {
				errs = append(errs, fmt.Errorf("schemas: %s:%d: unknown key %s in [[column]] %d (known: name, holds, read)",
					file, c.line, show(k[1]), c.index+1))
			}
		case len(k) == 1:
			errs = append(errs, fmt.Errorf("schemas: %s%s: unknown key %s (known: name, system, owner, seed, description, retention, format, delimiter, encoding, date_format, [[column]], [measures])",
				file, lineSuffix(loc.topLine(k[0])), show(k[0])))
		default:
			errs = append(errs, fmt.Errorf("schemas: %s: unknown key %s", file, show(ks)))
		}
	}
	return errors.Join(errs...)
}

// Validate checks the schema against the format's rules and the code list c (nil means the
// embedded code lists): the name's syntax, unique column names (compared trimmed, NFC-normalised
// and case-insensitively), holds from the vocabulary, read = true only for readable holds, exactly
// one read column each for the identifier (or the birth date, or both), the measure and the
// period's start and end, and every measure label mapped to an existing code. All problems are
// reported together; each names the file and the column or key.
func (s *Schema) Validate(c *Codes) error {
	if c == nil {
		var err error
		if c, err = LoadCodes(); err != nil {
			return err
		}
	}
	file := s.file
	if file == "" {
		file = "schema " + show(s.Name)
	}
	var errs []error
	add := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("schemas: %s%s: %s", file, lineSuffix(line), fmt.Sprintf(format, args...)))
	}
	top := func(key string) int { return s.loc.topLine(key) }

	if s.Name == "" {
		add(0, "name is missing")
	} else if !nameRE.MatchString(s.Name) {
		add(top("name"), "name %s must be 1 to 64 of a-z, 0-9 and _", show(s.Name))
	}
	if strings.TrimSpace(s.System) == "" {
		add(0, "system is missing")
	}
	switch {
	case s.Format == "":
		add(0, "format is missing (csv or xlsx)")
	case !slices.Contains(formats, s.Format):
		add(top("format"), "format %s is not csv or xlsx", show(s.Format))
	}
	if s.Delimiter != "" && !slices.Contains(delimiters, s.Delimiter) {
		add(top("delimiter"), `delimiter %q is not one of "," ";" "\t" "|"`, s.Delimiter)
	}
	if s.Encoding != "" && !slices.Contains(encodings, s.Encoding) {
		add(top("encoding"), "encoding %s is not one of utf-8, utf-8-bom, windows-1252", show(s.Encoding))
	}
	if s.Format == "xlsx" && (s.Delimiter != "" || s.Encoding != "") {
		add(0, "delimiter and encoding are CSV hints: remove them for format xlsx")
	}
	if s.DateFormat != "" {
		if err := checkLayout(s.DateFormat); err != nil {
			add(top("date_format"), "%v", err)
		}
	}

	if len(s.Columns) == 0 {
		add(0, "no [[column]]: declare every column of the export")
	}
	seen := make(map[string]int)    // header key -> column index
	reads := make(map[string][]int) // holds -> indexes of read columns
	for i, col := range s.Columns {
		line := s.loc.columnLine(i)
		what := fmt.Sprintf("column %d %s", i+1, show(col.Name))
		key := headerKey(col.Name)
		if key == "" {
			add(line, "column %d: name is missing", i+1)
		} else if j, dup := seen[key]; dup {
			add(line, "%s: same name as column %d (names match trimmed and case-insensitively)", what, j+1)
		} else {
			seen[key] = i
		}
		switch {
		case col.Holds == "":
			add(line, "%s: holds is missing", what)
		case !slices.Contains(vocabulary, col.Holds):
			add(line, "%s: holds %s is not in the vocabulary (%s)", what, show(col.Holds), strings.Join(vocabulary, ", "))
		case col.Read && !Readable(col.Holds):
			add(line, "%s: read = true is not allowed for holds %q (only %s)", what, col.Holds, strings.Join(readable, ", "))
		case col.Read:
			reads[col.Holds] = append(reads[col.Holds], i)
		}
	}
	for _, h := range readable {
		if idx := reads[h]; len(idx) > 1 {
			cols := make([]string, len(idx))
			for k, i := range idx {
				cols[k] = fmt.Sprintf("%d %s", i+1, show(s.Columns[i].Name))
			}
			add(s.loc.columnLine(idx[1]), "more than one read = true column holds %q (columns %s): read exactly one", h, strings.Join(cols, ", "))
		}
	}
	if len(s.Columns) > 0 {
		if len(reads[HoldsIdentifier]) == 0 && len(reads[HoldsBirthDate]) == 0 {
			add(0, `no read = true column holds "identifier" (or "birth_date" when the system may register a person by birth date only)`)
		}
		for _, h := range []string{HoldsMeasure, HoldsPeriodStart, HoldsPeriodEnd} {
			if len(reads[h]) == 0 {
				add(0, "no read = true column holds %q", h)
			}
		}
	}

	if len(s.Measures) == 0 {
		add(0, "[measures] is empty: map the system's measure labels to codes in codes/measures.toml")
	}
	labels := make([]string, 0, len(s.Measures))
	for l := range s.Measures {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	folded := make(map[string]string)
	for _, l := range labels {
		code := s.Measures[l]
		line := s.loc.measureLine(l)
		k := fold(trimNFC(l))
		switch {
		case k == "":
			add(line, "[measures]: an empty label")
			continue
		case folded[k] != "":
			add(line, "[measures]: label %s and label %s are the same label (labels match trimmed and case-insensitively)", show(folded[k]), show(l))
		default:
			folded[k] = l
		}
		if _, ok := c.Measure(code); !ok {
			add(line, "[measures]: label %s maps to %s, which is not a code in codes/measures.toml", show(l), show(code))
		}
	}
	return errors.Join(errs...)
}

// checkLayout reports whether layout is a Go time layout that writes and reads back a date.
func checkLayout(layout string) error {
	for _, d := range []time.Time{
		time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC),
		time.Date(1999, 12, 9, 0, 0, 0, 0, time.UTC),
		time.Date(2031, 1, 31, 0, 0, 0, 0, time.UTC),
	} {
		p, err := time.Parse(layout, d.Format(layout))
		if err != nil || !p.Equal(d) {
			return fmt.Errorf("date_format %s is not a Go date layout that keeps year, month and day (write 2006-01-02 for YYYY-MM-DD, 20060102 for YYYYMMDD)", show(layout))
		}
	}
	return nil
}

// ReadColumns returns the read = true columns, in schema order.
func (s *Schema) ReadColumns() []Column {
	var out []Column
	for _, c := range s.Columns {
		if c.Read {
			out = append(out, c)
		}
	}
	return out
}

// Column returns the first column that holds holds.
func (s *Schema) Column(holds string) (Column, bool) {
	for _, c := range s.Columns {
		if c.Holds == holds {
			return c, true
		}
	}
	return Column{}, false
}

// MapMeasure maps one of the system's own measure labels to its shared code. The label matches
// exactly after trimming white space (and Unicode NFC normalisation), else case-insensitively;
// nothing further is guessed. Safe for concurrent use.
func (s *Schema) MapMeasure(label string) (code string, ok bool) {
	if s.idx == nil {
		return mapMeasureSlow(s.Measures, label)
	}
	s.idx.once.Do(func() { s.idx.build(s.Measures) })
	if code, ok := s.idx.exact[label]; ok {
		return code, true
	}
	k := trimNFC(label)
	if code, ok := s.idx.exact[k]; ok {
		return code, true
	}
	code, ok = s.idx.folded[fold(k)]
	return code, ok
}

// measureIndex is MapMeasure's lookup table, built on first use.
type measureIndex struct {
	once   sync.Once
	exact  map[string]string // trimmed, NFC label -> code
	folded map[string]string // trimmed, NFC, lower-cased label -> code; ambiguous ones left out
}

func (x *measureIndex) build(m map[string]string) {
	x.exact = make(map[string]string, len(m))
	x.folded = make(map[string]string, len(m))
	ambiguous := make(map[string]bool)
	for l, code := range m {
		k := trimNFC(l)
		x.exact[k] = code
		f := fold(k)
		if prev, ok := x.folded[f]; ok && prev != code {
			ambiguous[f] = true
		}
		x.folded[f] = code
	}
	for f := range ambiguous {
		delete(x.folded, f)
	}
}

func mapMeasureSlow(m map[string]string, label string) (string, bool) {
	var x measureIndex
	x.build(m)
	k := trimNFC(label)
	if code, ok := x.exact[k]; ok {
		return code, true
	}
	code, ok := x.folded[fold(k)]
	return code, ok
}

// clone returns a deep copy with its own (empty) measure index.
func (s *Schema) clone() *Schema {
	c := *s
	c.Columns = slices.Clone(s.Columns)
	c.Measures = make(map[string]string, len(s.Measures))
	for k, v := range s.Measures {
		c.Measures[k] = v
	}
	c.idx = new(measureIndex)
	return &c
}

// trimNFC trims white space and byte order marks and normalises to NFC.
func trimNFC(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' })
	if norm.NFC.IsNormalString(s) {
		return s
	}
	return norm.NFC.String(s)
}

// fold is the case-insensitive form of an already trimmed, normalised string.
func fold(s string) string { return strings.ToLower(s) }

// headerKey is the form in which header cells and column names are compared.
func headerKey(s string) string { return fold(trimNFC(s)) }

// show quotes a string from a schema file or a header for an error message, unless it looks like
// personal data.
func show(s string) string {
	if looksLikeData(s) {
		return "(withheld: looks like data)"
	}
	return fmt.Sprintf("%q", s)
}

package synth

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/gallra/gallra/schemas"
	"github.com/gallra/gallra/schemas/testnumbers"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/period"
)

var testRef = time.Date(2026, time.March, 31, 0, 0, 0, 0, time.UTC)

// generated runs Generate once per option set and shares the result
// between tests.
var generated = struct {
	sync.Mutex
	m map[Options]genResult
}{m: map[Options]genResult{}}

type genResult struct {
	dir string
	rep *Report
}

var sharedRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "synth-test-")
	if err != nil {
		panic(err)
	}
	sharedRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func generateOnce(t *testing.T, opt Options) (string, *Report) {
	t.Helper()
	generated.Lock()
	defer generated.Unlock()
	if r, ok := generated.m[opt]; ok {
		return r.dir, r.rep
	}
	dir, err := os.MkdirTemp(sharedRoot, "out-")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Generate(dir, opt)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	generated.m[opt] = genResult{dir, rep}
	return dir, rep
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestDeterministic(t *testing.T) {
	opt := Options{Rows: 4000, Seed: 7, Reference: testRef}
	a := t.TempDir()
	b := t.TempDir()
	if _, err := Generate(a, opt); err != nil {
		t.Fatal(err)
	}
	// A reference date with a time of day is the same calendar date.
	opt2 := opt
	opt2.Reference = testRef.Add(15 * time.Hour)
	if _, err := Generate(b, opt2); err != nil {
		t.Fatal(err)
	}
	fa, fb := readTree(t, a), readTree(t, b)
	if !slices.Equal(slices.Sorted(maps.Keys(fa)), slices.Sorted(maps.Keys(fb))) {
		t.Fatalf("file sets differ: %v vs %v", slices.Sorted(maps.Keys(fa)), slices.Sorted(maps.Keys(fb)))
	}
	for name, data := range fa {
		if !bytes.Equal(data, fb[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	if len(fa) < 9 { // 7 sources, one drifted file, the report
		t.Errorf("only %d files generated", len(fa))
	}

	c := t.TempDir()
	opt.Seed = 8
	if _, err := Generate(c, opt); err != nil {
		t.Fatal(err)
	}
	fc := readTree(t, c)
	for name, data := range fa {
		if name == ReportFile {
			continue
		}
		if bytes.Equal(data, fc[name]) {
			t.Errorf("%s is identical for seeds 7 and 8", name)
		}
	}
}

// expected is what a reader following the documented rules concludes about
// one source: the test's own small reference implementation of the
// pipeline's row checks.
type expected struct {
	rows, drifted, valid, reserve, birthOnly int
	messy                                    map[string]int
	persons, reservePersons                  map[string]bool
	measures                                 map[string]int
	forms                                    map[string]int // spelling -> valid rows
	startYears                               map[int]int    // valid rows by start year
	recent, recentOngoing                    int            // valid rows starting in the last 18 months
	fileRows                                 map[string]int
}

// readExport returns the header and records of a generated file.
func readExport(t *testing.T, full string, sc *schemas.Schema) [][]string {
	t.Helper()
	if strings.HasSuffix(full, ".xlsx") {
		f, err := excelize.OpenFile(full)
		if err != nil {
			t.Fatalf("%s does not open: %v", full, err)
		}
		defer f.Close()
		rows, err := f.GetRows(f.GetSheetName(0))
		if err != nil {
			t.Fatal(err)
		}
		// GetRows drops trailing empty cells; pad to the header's width.
		for i := range rows {
			for len(rows[i]) < len(rows[0]) {
				rows[i] = append(rows[i], "")
			}
		}
		return rows
	}
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	switch sc.Encoding {
	case "windows-1252":
		if data, err = charmap.Windows1252.NewDecoder().Bytes(data); err != nil {
			t.Fatal(err)
		}
	case "utf-8-bom":
		var ok bool
		if data, ok = bytes.CutPrefix(data, []byte("\uFEFF")); !ok {
			t.Errorf("%s: no byte order mark", full)
		}
	}
	if !utf8.Valid(data) {
		t.Fatalf("%s does not decode to valid UTF-8", full)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma, _ = utf8.DecodeRuneInString(sc.Delimiter)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", full, err)
	}
	return recs
}

func colIndex(sc *schemas.Schema, holds string, read bool) int {
	for i, c := range sc.Columns {
		if c.Holds == holds && (c.Read || !read) {
			return i
		}
	}
	return -1
}

// recount reads every generated file back and classifies each row.
func recount(t *testing.T, dir string, rep *Report, ref time.Time) map[string]*expected {
	t.Helper()
	list, err := schemas.BuiltinSchemas()
	if err != nil {
		t.Fatal(err)
	}
	codes, err := schemas.LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*expected{}
	for _, sc := range list {
		sr := rep.Sources[sc.Name]
		if sr == nil {
			t.Fatalf("no report for source %s", sc.Name)
		}
		e := &expected{messy: map[string]int{}, persons: map[string]bool{}, reservePersons: map[string]bool{},
			measures: map[string]int{}, forms: map[string]int{}, fileRows: map[string]int{}, startYears: map[int]int{}}
		out[sc.Name] = e
		idc, bdc := colIndex(sc, "identifier", true), colIndex(sc, "birth_date", true)
		mc, sc0, ec := colIndex(sc, "measure", true), colIndex(sc, "period_start", true), colIndex(sc, "period_end", true)
		kc := colIndex(sc, "municipality", true)
		for _, f := range sr.Files {
			recs := readExport(t, filepath.Join(dir, filepath.FromSlash(f.Path)), sc)
			if len(recs) == 0 {
				t.Fatalf("%s: empty file", f.Path)
			}
			e.fileRows[f.Path] = len(recs) - 1
			_, bindErr := sc.Bind(recs[0])
			if f.Drifted {
				if bindErr == nil || !slices.Contains(recs[0], driftColumn) {
					t.Errorf("%s: drifted file binds to its schema (header %d columns)", f.Path, len(recs[0]))
				}
				e.drifted += len(recs) - 1
				continue
			}
			if bindErr != nil {
				t.Fatalf("%s: header does not bind: %v", f.Path, bindErr)
			}
			for _, rec := range recs[1:] {
				e.rows++
				if len(rec) != len(recs[0]) {
					e.messy[ReasonFieldCount]++
					continue
				}
				idText := rec[idc]
				if strings.TrimSpace(idText) == "" {
					if bdc >= 0 && strings.TrimSpace(rec[bdc]) != "" {
						if _, err := identity.ParseBirthDate(rec[bdc], ref); err != nil {
							t.Errorf("%s: birth date does not parse: %v", f.Path, err)
						}
						e.birthOnly++
					} else {
						e.messy[ReasonEmpty]++
					}
					continue
				}
				id, err := identity.Parse(idText, ref)
				if err != nil {
					e.messy[string(identity.ReasonOf(err))]++
					continue
				}
				switch id.Kind {
				case identity.Reserve:
					e.reserve++
					e.reservePersons[id.Canonical] = true
					continue
				case identity.Personnummer, identity.Samordningsnummer:
				default:
					t.Errorf("%s: identifier of kind %v", f.Path, id.Kind)
					continue
				}
				code, ok := sc.Measures[strings.TrimSpace(rec[mc])]
				if !ok {
					e.messy[ReasonUnknownMeasure]++
					continue
				}
				end := ""
				if ec >= 0 {
					end = rec[ec]
				}
				per, err := period.Parse(rec[sc0], end, ref)
				if err != nil {
					e.messy[string(err.(*period.Error).Reason)]++
					continue
				}
				if kc >= 0 {
					if _, ok := codes.Municipality(strings.TrimSpace(rec[kc])); !ok {
						t.Errorf("%s: municipality code not in kommuner.csv", f.Path)
					}
				}
				// A valid row: check what the generator promises about it.
				if per.Start.After(ref) || !per.Start.After(ref.AddDate(-rep.Years, 0, 0)) {
					t.Errorf("%s: period starts outside the %d years before the reference date", f.Path, rep.Years)
				}
				if !per.Ongoing() && per.End.After(ref) {
					t.Errorf("%s: period ends after the reference date", f.Path)
				}
				prof := profileOf(sc.Name)
				age := ageAt(id.Birth, per.Start)
				plus := strings.Contains(idText, "+")
				if !plus && (age < prof.ageMin || age > prof.ageMax) {
					t.Errorf("%s: participant aged %d at start, want %d-%d", f.Path, age, prof.ageMin, prof.ageMax)
				}
				e.valid++
				e.persons[id.Canonical] = true
				e.measures[code]++
				e.forms[spelling(idText)]++
				e.startYears[per.Start.Year()]++
				if per.Start.After(ref.AddDate(0, -18, 0)) {
					e.recent++
					if per.Ongoing() {
						e.recentOngoing++
					}
				}
			}
		}
	}
	return out
}

func profileOf(name string) profile {
	if p, ok := profiles[name]; ok {
		return p
	}
	return defaultProfile
}

// spelling names the shape of an identifier without revealing it.
func spelling(s string) string {
	t := strings.TrimSpace(s)
	shape := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return 'N'
		}
		return r
	}, t)
	if t != s {
		shape = "space+" + shape
	}
	return shape
}

func TestReportMatchesFiles(t *testing.T) {
	opt := Options{Seed: 42, Reference: testRef}
	dir, rep := generateOnce(t, opt)
	if rep.Rows != DefaultRows || rep.Years != DefaultYears || rep.Reference != "2026-03-31" || rep.Seed != 42 {
		t.Errorf("report header = %d rows, %d years, %s, seed %d", rep.Rows, rep.Years, rep.Reference, rep.Seed)
	}
	got, allPersons := checkReport(t, dir, rep, testRef, DefaultMessyShare)

	// The shapes the issue asks for.
	s := rep.Sources
	if s["uka"].Reserve == 0 || s["skills"].Reserve == 0 {
		t.Errorf("reserve rows: uka %d, skills %d", s["uka"].Reserve, s["skills"].Reserve)
	}
	if s["aksel"].BirthDateOnly == 0 {
		t.Error("aksel has no birth-date-only rows")
	}
	if n := got["af_program"].forms["NNNNNN+NNNN"]; n < 1 || n > 5 {
		t.Errorf("af_program has %d '+' forms, want a handful", n)
	}
	forms := map[string]int{}
	for _, e := range got {
		for f, n := range e.forms {
			forms[strings.TrimPrefix(f, "space+")] += n
			if strings.HasPrefix(f, "space+") {
				forms["space"] += n
			}
		}
	}
	for _, f := range []string{"NNNNNNNNNNNN", "NNNNNNNN-NNNN", "NNNNNN-NNNN", "NNNNNNNNNN", "space"} {
		if forms[f] == 0 {
			t.Errorf("no valid identifier spelled %s", f)
		}
	}
	for _, reason := range []string{ReasonBadCheckDigit, ReasonImpossibleDate, ReasonExcelScientific, ReasonEmpty,
		ReasonUnknownMeasure, ReasonBadDate, ReasonEndBeforeStart, ReasonFieldCount} {
		n := 0
		for _, sr := range s {
			n += sr.Messy[reason]
		}
		if n == 0 {
			t.Errorf("no messy row with reason %s", reason)
		}
	}
	if s["skills"].Messy[ReasonExcelScientific] == 0 {
		t.Error("the xlsx source has no excel_scientific rows")
	}
	// People recur in the two systems of one municipality.
	for _, pair := range [][2]string{{"aksel", "skills"}, {"uka", "feriejobb"}} {
		n := 0
		for c := range allPersons[pair[0]] {
			if allPersons[pair[1]][c] {
				n++
			}
		}
		if n == 0 {
			t.Errorf("nobody is in both %s and %s", pair[0], pair[1])
		}
	}
	// About one in twenty is a samordningsnummer.
	sam, all := 0, 0
	for _, ps := range allPersons {
		for c := range ps {
			all++
			if c[6] >= '6' {
				sam++
			}
		}
	}
	if share := float64(sam) / float64(all); share < 0.03 || share > 0.08 {
		t.Errorf("samordningsnummer share %.3f, want about 0.05", share)
	}
	// Starts spread over the years, and about 15 % of the recent ones are
	// ongoing.
	var perYear [DefaultYears + 1]int
	recent, ongoing := 0, 0
	for _, e := range got {
		for y, n := range e.startYears {
			perYear[testRef.Year()-y] += n
		}
		recent += e.recent
		ongoing += e.recentOngoing
	}
	for ago := 1; ago < DefaultYears; ago++ { // whole calendar years
		if perYear[ago] < rep.Rows/DefaultYears/2 {
			t.Errorf("only %d valid rows start in %d", perYear[ago], testRef.Year()-ago)
		}
	}
	if share := float64(ongoing) / float64(recent); share < 0.10 || share > 0.25 {
		t.Errorf("%.2f of the recent starts are ongoing, want about 0.15", share)
	}
}

// TestReportMatchesFilesVariants checks the report against the files for
// other sizes, spans and reference dates (one in the summer-job season).
func TestReportMatchesFilesVariants(t *testing.T) {
	for _, opt := range []Options{
		{Rows: 3000, Seed: 1, Years: 1, Reference: time.Date(2025, time.July, 10, 0, 0, 0, 0, time.UTC)},
		{Rows: 5000, Seed: 2, Years: 5, Reference: time.Date(2024, time.February, 29, 0, 0, 0, 0, time.UTC), MessyShare: 0.1},
		{Rows: 2000, Seed: 3, Years: 20, Reference: time.Date(2030, time.December, 31, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(opt.Reference.Format(time.DateOnly), func(t *testing.T) {
			dir := t.TempDir()
			rep, err := Generate(dir, opt)
			if err != nil {
				t.Fatal(err)
			}
			want := opt.MessyShare
			if want == 0 {
				want = DefaultMessyShare
			}
			checkReport(t, dir, rep, opt.Reference, want)
		})
	}
}

// checkReport compares the report with what the files hold.
func checkReport(t *testing.T, dir string, rep *Report, ref time.Time, messyShare float64) (map[string]*expected, map[string]map[string]bool) {
	t.Helper()
	if rep.Synthesised != 0 {
		t.Errorf("synthesised %d identifiers, want all from the test pool", rep.Synthesised)
	}
	got := recount(t, dir, rep, ref)
	stamp := ref.Format("20060102")

	pool := map[string]bool{}
	for _, s := range append(testnumbers.Personnummer(), testnumbers.Samordningsnummer()...) {
		pool[s] = true
	}
	total, messyTotal, drifted := 0, 0, 0
	allPersons := map[string]map[string]bool{}
	for name, sr := range rep.Sources {
		e := got[name]
		allPersons[name] = e.persons
		total += sr.Rows
		messyTotal += sr.MessyTotal()
		drifted += sr.DriftedRows
		check := func(what string, report, files int) {
			t.Helper()
			if report != files {
				t.Errorf("%s: report says %d %s, the files hold %d", name, report, what, files)
			}
		}
		check("rows", sr.Rows, e.rows)
		check("drifted rows", sr.DriftedRows, e.drifted)
		check("valid rows", sr.Valid, e.valid)
		check("reserve rows", sr.Reserve, e.reserve)
		check("birth-date-only rows", sr.BirthDateOnly, e.birthOnly)
		check("persons", sr.Persons, len(e.persons))
		check("reserve persons", sr.ReservePersons, len(e.reservePersons))
		if !maps.Equal(sr.Messy, e.messy) {
			t.Errorf("%s: messy rows: report %v, files %v", name, sr.Messy, e.messy)
		}
		if !maps.Equal(sr.Measures, e.measures) {
			t.Errorf("%s: measures: report %v, files %v", name, sr.Measures, e.measures)
		}
		if sum := sr.Valid + sr.Reserve + sr.BirthDateOnly + sr.MessyTotal(); sum != sr.Rows {
			t.Errorf("%s: valid+reserve+birth-date-only+messy = %d, rows = %d", name, sum, sr.Rows)
		}
		for _, f := range sr.Files {
			check("rows in "+f.Path, f.Rows, e.fileRows[f.Path])
			want := name + "/" + name + "-export-" + stamp
			if !strings.HasPrefix(f.Path, want) {
				t.Errorf("file %s, want prefix %s", f.Path, want)
			}
		}
		for c := range e.persons {
			if !pool[c] {
				t.Errorf("%s: a valid identifier is not from Skatteverket's test pool", name)
				break
			}
		}
		// About three participations per person over several years; summer
		// jobs fewer.
		lo, hi := 2.2, 4.0
		switch name {
		case "feriejobb": // one job a summer, 15-19
			lo, hi = 1.3, 2.5
		case "uka": // the four years from 16 to 19
			lo, hi = 1.6, 3.5
		}
		if r := float64(sr.Valid) / float64(max(1, sr.Persons)); rep.Years >= 5 && (r < lo || r > hi) {
			t.Errorf("%s: %d valid rows over %d persons; want %.1f-%.1f each", name, sr.Valid, sr.Persons, lo, hi)
		}
	}
	if total != rep.Rows {
		t.Errorf("sources hold %d rows, report says %d", total, rep.Rows)
	}
	if share := float64(messyTotal) / float64(total); share < messyShare*0.85 || share > messyShare*1.15 {
		t.Errorf("messy share %.4f, want about %.2f", share, messyShare)
	}
	if drifted == 0 {
		t.Error("no drifted file")
	}
	return got, allPersons
}

func TestSourceFormats(t *testing.T) {
	dir, rep := generateOnce(t, Options{Seed: 42, Reference: testRef})
	list, err := schemas.BuiltinSchemas()
	if err != nil {
		t.Fatal(err)
	}
	seen1252, seenXLSX, seenBOM := false, false, false
	for _, sc := range list {
		for _, f := range rep.Sources[sc.Name].Files {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case sc.Format == "xlsx":
				seenXLSX = true
				if !strings.HasSuffix(f.Path, ".xlsx") || !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
					t.Errorf("%s is not an xlsx workbook", f.Path)
				}
				x, err := excelize.OpenFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
				if err != nil {
					t.Fatalf("%s: %v", f.Path, err)
				}
				rows, err := x.GetRows(x.GetSheetName(0))
				x.Close()
				if err != nil || len(rows) != f.Rows+1 {
					t.Errorf("%s: %d rows (err %v), want %d", f.Path, len(rows), err, f.Rows+1)
				}
			case sc.Encoding == "windows-1252":
				seen1252 = true
				if utf8.Valid(data) {
					t.Errorf("%s is valid UTF-8, want Windows-1252", f.Path)
				}
				dec, err := charmap.Windows1252.NewDecoder().Bytes(data)
				if err != nil {
					t.Fatal(err)
				}
				header, _, _ := strings.Cut(string(dec), "\r\n")
				var names []string
				for _, c := range sc.Columns {
					names = append(names, c.Name)
				}
				if want := strings.Join(names, sc.Delimiter); header != want {
					t.Errorf("%s: decoded header %q, want %q", f.Path, header, want)
				}
			case sc.Encoding == "utf-8-bom":
				seenBOM = true
				if !bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}) {
					t.Errorf("%s has no byte order mark", f.Path)
				}
			default:
				if !utf8.Valid(data) || bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}) {
					t.Errorf("%s is not plain UTF-8", f.Path)
				}
			}
			if f.Format != sc.Format {
				t.Errorf("%s: format %s, schema says %s", f.Path, f.Format, sc.Format)
			}
		}
	}
	if !seen1252 || !seenXLSX || !seenBOM {
		t.Errorf("formats seen: windows-1252 %v, xlsx %v, utf-8-bom %v", seen1252, seenXLSX, seenBOM)
	}
	// At least one source writes compact dates.
	uka, err := os.ReadFile(filepath.Join(dir, "uka", "uka-export-20260331.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\t20[12]\d[01]\d[0-3]\d\t`).Match(uka) {
		t.Error("uka has no YYYYMMDD dates")
	}
}

// Patterns of personal data. The test checks that they do match the
// exports, so that a pattern that matches nothing cannot pass vacuously.
var personalData = map[string]*regexp.Regexp{
	"identifier": regexp.MustCompile(`\d{6}[-+]?\d{4}|\d{8}-?\d{4}`),
	"e-mail":     regexp.MustCompile(`@`),
	"phone":      regexp.MustCompile(`\+46|(^|[^0-9-])0\d{1,3}-\d{2}|07\d{8}`),
	"address":    regexp.MustCompile(`(gatan|vägen) \d`),
	"name":       regexp.MustCompile(`Andersson|Johansson|Karlsson|Nilsson|Eriksson`),
}

func TestReportHasNoPersonalData(t *testing.T) {
	dir, _ := generateOnce(t, Options{Seed: 42, Reference: testRef})
	report, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var exports []byte
	for _, name := range []string{"amea", "aksel", "uka"} {
		b, err := os.ReadFile(filepath.Join(dir, name, name+"-export-20260331.csv"))
		if err != nil {
			t.Fatal(err)
		}
		exports = append(exports, b...)
	}
	exports, _ = charmap.Windows1252.NewDecoder().Bytes(exports) // amea; UTF-8 parts decode to mojibake, digits survive
	for what, re := range personalData {
		if re.Match(report) {
			t.Errorf("%s contains something like a(n) %s", ReportFile, what)
		}
		if what != "address" && what != "name" && !re.Match(exports) {
			t.Errorf("the %s pattern matches nothing in the exports: the check is vacuous", what)
		}
	}
	var rep Report
	if err := json.Unmarshal(report, &rep); err != nil {
		t.Fatalf("%s does not decode: %v", ReportFile, err)
	}
	if len(rep.Sources) != 7 {
		t.Errorf("%s has %d sources", ReportFile, len(rep.Sources))
	}
}

func TestIdentifierHelpers(t *testing.T) {
	r := newRand(1)
	taken := map[string]bool{}
	lo := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	hi := time.Date(2008, 12, 31, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 2000; i++ {
		sam := i%10 == 0
		e := synthesise(r, lo, hi, sam, taken)
		taken[e.canon] = true
		id, err := identity.Parse(e.canon, testRef)
		if err != nil {
			t.Fatalf("synthesised identifier rejected: %v", err)
		}
		want := identity.Personnummer
		if sam {
			want = identity.Samordningsnummer
		}
		if id.Kind != want || !id.Birth.Equal(e.birth) || e.birth.Before(lo) || e.birth.After(hi) {
			t.Fatalf("synthesised %v born in range %v, want %v", id.Kind, !e.birth.Before(lo) && !e.birth.After(hi), want)
		}
		if e.canon[8:11] == "000" {
			t.Fatal("birth number 000")
		}
		for _, f := range []idForm{form12Dash, form10Dash, form10} {
			id2, err := identity.Parse(format(e.canon, f), testRef)
			if err != nil || id2.Canonical != id.Canonical {
				t.Fatalf("form %d does not parse to the same canonical: %v", f, err)
			}
		}
		if _, err := identity.Parse(badCheckDigit(r, e.canon), testRef); identity.ReasonOf(err) != identity.ReasonCheckDigit {
			t.Fatalf("badCheckDigit: got %v", err)
		}
		if _, err := identity.Parse(impossibleDate(r, 1960+i%45), testRef); identity.ReasonOf(err) != identity.ReasonImpossibleDate {
			t.Fatalf("impossibleDate: got %v", err)
		}
		if _, err := identity.Parse(excelScientific(e.canon), testRef); identity.ReasonOf(err) != identity.ReasonExcelScientific {
			t.Fatalf("excelScientific: got %v", err)
		}
	}
	if len(taken) != 2000 {
		t.Errorf("synthesise repeated identifiers: %d distinct of 2000", len(taken))
	}
	if got := excelScientific("199001019802"); got != "1.99001E+11" {
		t.Errorf("excelScientific = %s", got)
	}
}

// TestSynthesisBeyondPool asks for more teenagers than the test pool holds.
func TestSynthesisBeyondPool(t *testing.T) {
	sc, err := schemas.Lookup("uka")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rep, err := generate(dir, []*schemas.Schema{sc}, Options{Rows: 30000, Years: 3, Seed: 3, Reference: testRef})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Synthesised == 0 {
		t.Fatal("no identifier synthesised although the pool is too small")
	}
	sr := rep.Sources["uka"]
	if sr.Valid+sr.Reserve+sr.BirthDateOnly+sr.MessyTotal() != 30000 || sr.Persons < 6000 {
		t.Errorf("uka: %d valid rows, %d persons", sr.Valid, sr.Persons)
	}
	recs := readExport(t, filepath.Join(dir, filepath.FromSlash(sr.Files[0].Path)), sc)
	persons := map[string]bool{}
	idc := colIndex(sc, "identifier", true)
	for _, rec := range recs[1:] {
		if len(rec) != len(recs[0]) {
			continue
		}
		if id, err := identity.Parse(rec[idc], testRef); err == nil && id.Kind != identity.Reserve {
			persons[id.Canonical] = true
		}
	}
	if len(persons) != sr.Persons {
		t.Errorf("%d distinct valid identifiers in the file, report says %d", len(persons), sr.Persons)
	}
}

func TestOptions(t *testing.T) {
	if _, err := Generate(t.TempDir(), Options{Rows: 10}); err == nil {
		t.Error("no error without a reference date")
	}
	if _, err := Generate(t.TempDir(), Options{Rows: -1, Reference: testRef}); err == nil {
		t.Error("no error for negative rows")
	}
	if _, err := Generate(t.TempDir(), Options{MessyShare: 0.9, Reference: testRef}); err == nil {
		t.Error("no error for a messy share of 0.9")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old.csv"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir, Options{Rows: 10, Reference: testRef}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-empty output directory: err = %v", err)
	}
	// Tiny exports still add up.
	rep, err := Generate(filepath.Join(t.TempDir(), "new"), Options{Rows: 50, Seed: 1, Reference: testRef})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sr := range rep.Sources {
		n += sr.Rows
		if sr.Valid+sr.Reserve+sr.BirthDateOnly+sr.MessyTotal() != sr.Rows {
			t.Errorf("counts do not add up: %+v", sr)
		}
	}
	if n != 50 {
		t.Errorf("%d rows, want 50", n)
	}
}

func TestVocabularyAndPlaces(t *testing.T) {
	for _, h := range schemas.Vocabulary() {
		if !knownHolds[h] {
			t.Errorf("holds %q in the schema vocabulary has no generator", h)
		}
	}
	codes, err := schemas.LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	for code := range places {
		if _, ok := codes.Municipality(code); !ok {
			t.Errorf("kommunkod %s is not in kommuner.csv", code)
		}
	}
	for _, p := range profiles {
		for _, k := range p.kommuner {
			if _, ok := places[k]; !ok {
				t.Errorf("profile municipality %s has no place", k)
			}
		}
	}
	v := vocab()
	if len(v.femaleNames)+len(v.maleNames) < 100 || len(v.surnames) < 100 || len(v.streets) < 20 {
		t.Errorf("word lists too short: %d+%d first names, %d surnames, %d streets",
			len(v.femaleNames), len(v.maleNames), len(v.surnames), len(v.streets))
	}
	// Every name must survive Windows-1252.
	all := strings.Join(slices.Concat(v.femaleNames, v.maleNames, v.surnames, v.streets, v.health, v.notes), "\n")
	if _, err := charmap.Windows1252.NewEncoder().String(all); err != nil {
		t.Errorf("word lists do not encode in Windows-1252: %v", err)
	}
}

func TestSpeed(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("timing is meaningless under -race or -short")
	}
	start := time.Now()
	if _, err := Generate(t.TempDir(), Options{Rows: 100000, Seed: 5, Reference: testRef}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("100,000 rows took %v, want well under 5 s", d)
	} else {
		t.Logf("100,000 rows in %v", d)
	}
}

func BenchmarkGenerate100k(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(b.TempDir(), Options{Rows: 100000, Seed: 5, Reference: testRef}); err != nil {
			b.Fatal(err)
		}
	}
}

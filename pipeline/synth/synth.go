// Package synth writes deterministic synthetic exports for every built-in
// source schema, together with a report of exactly what the pipeline must
// conclude when it reads them.
//
// The exports look like what the participant systems really deliver: every
// declared column is filled (names, addresses, e-mail addresses, phone
// numbers, health background and case notes included), in the schema's
// format, delimiter, encoding and date layout, with the messy rows real
// exports carry. The pipeline must read only its allowlisted columns and
// still reach the counts in the [Report], which Generate writes next to the
// exports as GENERATED.json. The report holds counts and file names only:
// never an identifier, name, e-mail address, phone number or address.
//
// # Who the people are
//
// Identifiers are drawn from Skatteverket's official test personnummer and
// test samordningsnummer (package schemas/testnumbers), which are never
// assigned to real people. Only when a run asks for more persons of some age
// than that pool holds does Generate synthesise further numbers (a random
// birth date in a fitting year, a birth number other than 000, a correct
// check digit); such a number may belong to a real person. Only the test
// pool is guaranteed not to. The demo and test sizes (up to about 100,000
// rows) stay within the pool; the report says how many numbers were
// synthesised (Report.Synthesised), so a caller can insist on zero.
//
// E-mail addresses use the domains reserved for examples (RFC 2606), phone
// numbers come from the series the Swedish Post and Telecom Authority (PTS)
// reserves for fiction, and names, streets and notes are common words.
//
// # What the report promises
//
// For each source, every data row of a non-drifted file is exactly one of:
//   - Valid: an identifier that identity.Parse at the report's reference
//     date accepts as a personnummer or samordningsnummer, and a measure
//     label, period and municipality the pipeline accepts. Accepted but
//     messy spellings are included: 10-digit forms with and without '-',
//     12-digit forms with and without '-', '+' forms for persons aged 100 or
//     more (af_program), and spaces around the identifier, the measure
//     label or the start date (the pipeline trims read fields).
//   - Reserve: a school temporary number (uka, YYYYMMDD-TFnn) or a
//     university interim number (skills, YYMMDD-Xnnn); policy decides.
//   - BirthDateOnly: a blank identifier and a birth date, in about one row
//     in a hundred of every source with a read birth_date column (aksel,
//     skills); policy decides.
//   - Messy: a row with exactly one defect, counted under the reason code
//     the pipeline must quarantine it with: bad_check_digit,
//     impossible_date, empty, unknown_measure, bad_date, end_before_start,
//     field_count (CSV only), and in the xlsx export (whose identifiers went
//     through a spreadsheet) excel_scientific and excel_lost_leading_zero.
//
// One file per run is drifted: its header carries an extra "Kommentar"
// column (a system upgrade), so the pipeline rejects it whole; its rows are
// counted in DriftedRows and nowhere else.
//
// 10-digit identifiers are written only for persons under 95 at the
// reference date, so a pipeline run whose reference date is within a few
// years after the report's reaches the same centuries.
//
// Generation is deterministic: the same Options produce byte-identical
// files (with the same Go release and schemas). It uses math/rand/v2's PCG
// seeded from Options.Seed, visits sources in name order, never iterates a
// map in its random order, and never reads the wall clock.
package synth

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gallra/gallra/schemas"
)

// Defaults for the zero values of [Options].
const (
	DefaultRows       = 20000
	DefaultYears      = 10
	DefaultMessyShare = 0.03
)

// ReportFile is the name of the report Generate writes in the output
// directory.
const ReportFile = "GENERATED.json"

// Messy-row reason codes, as the pipeline reports them in quarantine.
const (
	ReasonBadCheckDigit    = "bad_check_digit"
	ReasonImpossibleDate   = "impossible_date"
	ReasonExcelScientific  = "excel_scientific"
	ReasonExcelLeadingZero = "excel_lost_leading_zero"
	ReasonEmpty            = "empty"
	ReasonUnknownMeasure   = "unknown_measure"
	ReasonBadDate          = "bad_date"
	ReasonEndBeforeStart   = "end_before_start"
	ReasonFieldCount       = "field_count"
)

// Options says what to generate.
type Options struct {
	// Rows is the number of data rows over all sources in the files the
	// pipeline reads (the drifted file comes on top). Zero means DefaultRows.
	Rows int
	// Seed selects the data; the same seed gives byte-identical files.
	Seed uint64
	// Years is how many years of measure periods to generate, ending at
	// Reference. Zero means DefaultYears.
	Years int
	// Reference is the "today" of the data: no period ends after it and
	// ages are computed at it. Required; only its calendar date counts.
	Reference time.Time
	// MessyShare is the share of rows with a defect the pipeline must
	// quarantine, between 0 and 0.5. Zero means DefaultMessyShare.
	MessyShare float64
}

// Report is what the pipeline must conclude from the generated files. It is
// written as GENERATED.json and contains counts only.
type Report struct {
	Seed      uint64 `json:"seed"`
	Rows      int    `json:"rows"`      // data rows in all non-drifted files
	Reference string `json:"reference"` // YYYY-MM-DD
	Years     int    `json:"years"`
	// Synthesised counts the identifiers made up because the test pool had
	// too few persons of a fitting age; zero for the demo sizes.
	Synthesised int                      `json:"synthesised"`
	Sources     map[string]*SourceReport `json:"sources"` // by schema name
}

// SourceReport is the expected outcome for one source.
type SourceReport struct {
	Files []FileReport `json:"files"`
	// Rows is the number of data rows in the non-drifted files: what the
	// pipeline reads. Rows = Valid + Reserve + BirthDateOnly + sum(Messy).
	Rows int `json:"rows"`
	// DriftedRows is the number of data rows in drifted files, which the
	// pipeline rejects whole.
	DriftedRows int `json:"drifted_rows"`
	// Valid rows must be accepted with a personnummer or samordningsnummer.
	Valid int `json:"valid"`
	// Reserve rows carry a reserve or temporary number; policy decides.
	Reserve int `json:"reserve"`
	// BirthDateOnly rows have a blank identifier and a birth date.
	BirthDateOnly int `json:"birth_date_only"`
	// Messy maps a reason code to the rows the pipeline must quarantine
	// for it. Reasons with no rows are left out.
	Messy map[string]int `json:"messy"`
	// Persons is the number of distinct persons (canonical identifiers)
	// among the Valid rows.
	Persons int `json:"persons"`
	// ReservePersons is the number of distinct reserve numbers among the
	// Reserve rows.
	ReservePersons int `json:"reserve_persons"`
	// Measures maps a shared measure code to its number of Valid rows.
	Measures map[string]int `json:"measures"`
}

// FileReport describes one generated file.
type FileReport struct {
	Path      string `json:"path"` // relative to the output directory, with '/'
	Rows      int    `json:"rows"` // data rows, header excluded
	Format    string `json:"format"`
	Encoding  string `json:"encoding,omitempty"`
	Delimiter string `json:"delimiter,omitempty"`
	Drifted   bool   `json:"drifted"`
}

// MessyTotal returns the sum of r.Messy.
func (r *SourceReport) MessyTotal() int {
	n := 0
	for _, v := range r.Messy {
		n += v
	}
	return n
}

// Generate writes synthetic exports for every built-in schema into
// outDir/<source>/ and the report into outDir/GENERATED.json, and returns
// the report. outDir is created if missing and must otherwise be empty, so
// that no stale export can falsify the report.
func Generate(outDir string, opt Options) (*Report, error) {
	list, err := schemas.BuiltinSchemas()
	if err != nil {
		return nil, fmt.Errorf("synth: loading built-in schemas: %w", err)
	}
	return generate(outDir, list, opt)
}

func generate(outDir string, list []*schemas.Schema, opt Options) (*Report, error) {
	opt, err := opt.normalise()
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("synth: no schemas")
	}
	list = slices.Clone(list)
	slices.SortFunc(list, func(a, b *schemas.Schema) int { return cmp.Compare(a.Name, b.Name) })
	for i := 1; i < len(list); i++ {
		if list[i].Name == list[i-1].Name {
			return nil, fmt.Errorf("synth: schema %s appears twice", list[i].Name)
		}
	}
	if err := prepareDir(outDir); err != nil {
		return nil, err
	}

	g, err := newGen(opt)
	if err != nil {
		return nil, err
	}
	srcs := make([]*source, len(list))
	for i, s := range list {
		if srcs[i], err = newSource(s, opt); err != nil {
			return nil, err
		}
	}
	g.plan(srcs)

	rep := &Report{
		Seed:      opt.Seed,
		Rows:      opt.Rows,
		Reference: g.ref.Format(time.DateOnly),
		Years:     opt.Years,
		Sources:   make(map[string]*SourceReport, len(srcs)),
	}
	stamp := g.ref.Format("20060102")
	for _, s := range srcs {
		sr, err := g.generateSource(outDir, stamp, s)
		if err != nil {
			return nil, err
		}
		rep.Sources[s.schema.Name] = sr
	}
	rep.Synthesised = g.synthesised

	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("synth: encoding report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(outDir, ReportFile), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("synth: writing report: %w", err)
	}
	return rep, nil
}

func (o Options) normalise() (Options, error) {
	if o.Reference.IsZero() {
		return o, errors.New("synth: Options.Reference is required")
	}
	y, m, d := o.Reference.Date()
	o.Reference = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if o.Rows == 0 {
		o.Rows = DefaultRows
	}
	if o.Years == 0 {
		o.Years = DefaultYears
	}
	if o.MessyShare == 0 {
		o.MessyShare = DefaultMessyShare
	}
	switch {
	case o.Rows < 0:
		return o, fmt.Errorf("synth: Options.Rows is negative (%d)", o.Rows)
	case o.Years < 1 || o.Years > 50:
		return o, fmt.Errorf("synth: Options.Years must be 1-50, got %d", o.Years)
	case math.IsNaN(o.MessyShare) || o.MessyShare < 0 || o.MessyShare > 0.5:
		return o, fmt.Errorf("synth: Options.MessyShare must be 0-0.5, got %v", o.MessyShare)
	case o.Reference.Year() < 1990+o.Years:
		return o, fmt.Errorf("synth: Options.Reference %s is too early for %d years of periods", o.Reference.Format(time.DateOnly), o.Years)
	}
	return o, nil
}

// prepareDir creates dir, or checks that an existing dir is empty.
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("synth: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("synth: output directory %s is not empty", dir)
	}
	return nil
}

// newRand returns the generator's random source for a seed.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x67616c6c7261)) // "gallra"
}

// Package anonymised defines the row format of gallra's anonymised tier and
// reads and writes its Parquet files: what remains of a participation once
// retention has taken its pseudonym away — the measure, the period coarsened
// to the policy's granularity, the attributes the policy keeps, and a random
// cell key.
//
// An anonymised row holds nothing that links it to a person or to another
// row: no pseudonym, no key ID, no record key, no identifier kind, no run of
// ingest. Its cell key is drawn from crypto/rand when the row is made
// (NewCellKey), never derived from a key or an identifier, so that no key
// material can re-link it. The files lie in the lake under
//
//	<lake>/anonymised/source=<source>/start_year=<YYYY>/part-<runID>-<n>.parquet
//
// (lake.TableAnonymised); the partition columns come from the path, as in the
// pseudonymised tier. Package retain writes them; the DuckDB view
// "anonymised" reads them (see pipeline/duck).
package anonymised

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/gallra/gallra/transforms/retention"
)

// Row is one anonymised participation.
//
// Columns, in file order (Parquet → DuckDB type):
//
//	measure            required BYTE_ARRAY STRING (dict) → VARCHAR  code from the shared measure code list
//	period_start       required INT32 DATE               → DATE     first day of the granularity period holding the start
//	period_end         optional INT32 DATE               → DATE     first day of the granularity period holding the end;
//	                                                                 null only if an age rule ended linkage while ongoing
//	granularity        required BYTE_ARRAY STRING (dict) → VARCHAR  day | month | quarter | year
//	sex                optional BYTE_ARRAY STRING (dict) → VARCHAR  null unless the policy's keep_anonymised keeps it
//	age_band           optional BYTE_ARRAY STRING (dict) → VARCHAR  null unless kept
//	municipality       optional BYTE_ARRAY STRING (dict) → VARCHAR  null unless kept
//	cell_key           required INT64 UINT(64)           → UBIGINT  random (crypto/rand) at anonymisation
//	anonymised_by_run  required BYTE_ARRAY STRING (dict) → VARCHAR  the retention run that made the row
//
// Dates are int32 days since 1970-01-01 (lake.Date), as in the lake.
type Row struct {
	Measure         string
	PeriodStart     int32
	PeriodEnd       *int32
	Granularity     retention.Granularity
	Sex             *string
	AgeBand         *string
	Municipality    *string
	CellKey         uint64
	AnonymisedByRun string
}

// schemaRow declares the file schema; rows are written as explicit values
// (see Writer.Write), because parquet-go v0.32 writes optional fields of
// batches wrongly through its struct mapping (see pipeline/lake/row.go).
type schemaRow struct {
	Measure         string  `parquet:"measure,dict"`
	PeriodStart     int32   `parquet:"period_start,date"`
	PeriodEnd       *int32  `parquet:"period_end,date"`
	Granularity     string  `parquet:"granularity,dict"`
	Sex             *string `parquet:"sex,dict"`
	AgeBand         *string `parquet:"age_band,dict"`
	Municipality    *string `parquet:"municipality,dict"`
	CellKey         uint64  `parquet:"cell_key"`
	AnonymisedByRun string  `parquet:"anonymised_by_run,dict"`
}

const (
	colMeasure = iota
	colPeriodStart
	colPeriodEnd
	colGranularity
	colSex
	colAgeBand
	colMunicipality
	colCellKey
	colRun
	numColumns
)

var fileSchema = parquet.SchemaOf(schemaRow{})

// Columns lists the columns of an anonymised file, in file order. The
// partition columns source and start_year follow when read with hive
// partitioning.
var Columns = []string{"measure", "period_start", "period_end", "granularity", "sex", "age_band", "municipality", "cell_key", "anonymised_by_run"}

// Schema returns the Parquet schema of an anonymised file.
func Schema() *parquet.Schema { return fileSchema }

// CheckSchema reports whether a Parquet schema is that of an anonymised
// file: the same columns, in order, with the same types and repetition.
func CheckSchema(s *parquet.Schema) error {
	got, want := s.Fields(), fileSchema.Fields()
	if len(got) != len(want) {
		return fmt.Errorf("schema has %d columns, an anonymised file has %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name() != w.Name() {
			return fmt.Errorf("column %d is %q, want %q", i, g.Name(), w.Name())
		}
		if g.Optional() != w.Optional() || g.Type().String() != w.Type().String() {
			return fmt.Errorf("column %q has type %s (optional %v), want %s (optional %v)",
				g.Name(), g.Type(), g.Optional(), w.Type(), w.Optional())
		}
	}
	return nil
}

// NewCellKey returns a cell key from crypto/rand: random, so that it links
// the row to nothing.
func NewCellKey() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return binary.LittleEndian.Uint64(b[:])
}

// RowError reports a row the writer refuses, by column and reason code,
// never by value.
type RowError struct {
	Field  string
	Reason string
}

func (e *RowError) Error() string { return "anonymised: invalid row: " + e.Field + ": " + e.Reason }

func date(d int32) time.Time { return time.Date(1970, time.January, 1+int(d), 0, 0, 0, 0, time.UTC) }

func days(t time.Time) int32 { return int32(t.Unix() / (24 * 60 * 60)) }

func coarse(d int32, g retention.Granularity) bool { return days(retention.Coarsen(date(d), g)) == d }

// Check validates r: a measure, a known granularity, period_start and
// period_end on the first day of their granularity period and in order, sex
// K or M, a four-digit municipality, and the run that made it.
func (r *Row) Check() error {
	switch r.Granularity {
	case retention.Day, retention.Month, retention.Quarter, retention.Year:
	case "":
		return &RowError{"granularity", "missing"}
	default:
		return &RowError{"granularity", "unknown"}
	}
	switch {
	case r.Measure == "":
		return &RowError{"measure", "missing"}
	case !coarse(r.PeriodStart, r.Granularity):
		return &RowError{"period_start", "not_coarsened"}
	case r.PeriodEnd != nil && !coarse(*r.PeriodEnd, r.Granularity):
		return &RowError{"period_end", "not_coarsened"}
	case r.PeriodEnd != nil && *r.PeriodEnd < r.PeriodStart:
		return &RowError{"period_end", "before_start"}
	case r.Sex != nil && *r.Sex != "K" && *r.Sex != "M":
		return &RowError{"sex", "not_K_or_M"}
	case r.AgeBand != nil && *r.AgeBand == "":
		return &RowError{"age_band", "empty"}
	case r.Municipality != nil && !fourDigits(*r.Municipality):
		return &RowError{"municipality", "not_4_digits"}
	case r.AnonymisedByRun == "":
		return &RowError{"anonymised_by_run", "missing"}
	}
	return nil
}

func fourDigits(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Writer writes one anonymised Parquet file (one partition) to an
// io.Writer. It is not safe for concurrent use.
type Writer struct {
	pw   *parquet.Writer
	buf  []parquet.Row // rows not yet handed to parquet-go
	rows int64
	err  error
}

// batchRows is how many rows the Writer hands to parquet-go at once.
const batchRows = 256

// NewWriter starts an anonymised file on w. partitionDir is the file's
// partition directory relative to the lake root
// ("anonymised/source=<s>/start_year=<y>"), kept in its "gallra.partition"
// metadata as in every lake file; runID names the run that writes it.
func NewWriter(w io.Writer, partitionDir, runID string) *Writer {
	return &Writer{pw: parquet.NewWriter(w, fileSchema,
		parquet.Compression(&parquet.Zstd),
		parquet.CreatedBy("gallra", "anonymised", "v1"),
		parquet.KeyValueMetadata("gallra.partition", partitionDir),
		parquet.KeyValueMetadata("gallra.run_id", runID),
		parquet.MaxRowsPerRowGroup(1<<20),
	), buf: make([]parquet.Row, 0, batchRows)}
}

// Write adds one row. It refuses an invalid row with a RowError (the Writer
// stays usable); any other error leaves it failed.
func (w *Writer) Write(r Row) error {
	if w.err != nil {
		return w.err
	}
	if err := r.Check(); err != nil {
		return err
	}
	row := make(parquet.Row, numColumns)
	str := func(col int, s string, def int) {
		row[col] = parquet.ByteArrayValue([]byte(s))
		row[col].SetDefinitionLevel(def)
		row[col].SetColumnIndex(col)
	}
	null := func(col int) {
		row[col] = parquet.NullValue()
		row[col].SetColumnIndex(col)
	}
	opt := func(col int, s *string) {
		if s == nil {
			null(col)
		} else {
			str(col, *s, 1)
		}
	}
	str(colMeasure, r.Measure, 0)
	row[colPeriodStart] = parquet.Int32Value(r.PeriodStart)
	row[colPeriodStart].SetColumnIndex(colPeriodStart)
	if r.PeriodEnd != nil {
		row[colPeriodEnd] = parquet.Int32Value(*r.PeriodEnd)
		row[colPeriodEnd].SetDefinitionLevel(1)
		row[colPeriodEnd].SetColumnIndex(colPeriodEnd)
	} else {
		null(colPeriodEnd)
	}
	str(colGranularity, string(r.Granularity), 0)
	opt(colSex, r.Sex)
	opt(colAgeBand, r.AgeBand)
	opt(colMunicipality, r.Municipality)
	row[colCellKey] = parquet.Int64Value(int64(r.CellKey))
	row[colCellKey].SetColumnIndex(colCellKey)
	str(colRun, r.AnonymisedByRun, 0)
	w.buf = append(w.buf, row)
	w.rows++
	if len(w.buf) == cap(w.buf) {
		return w.flush()
	}
	return nil
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.pw.WriteRows(w.buf); err != nil {
		w.err = fmt.Errorf("anonymised: write: %w", err)
		return w.err
	}
	w.buf = w.buf[:0]
	return nil
}

// Close finishes the file (footer) and returns the number of rows written.
// It does not close the underlying io.Writer.
func (w *Writer) Close() (rows int64, err error) {
	if w.err != nil {
		return w.rows, w.err
	}
	if err := w.flush(); err != nil {
		return w.rows, err
	}
	if err := w.pw.Close(); err != nil {
		w.err = fmt.Errorf("anonymised: write: %w", err)
		return w.rows, w.err
	}
	w.err = errors.New("anonymised: writer closed")
	return w.rows, nil
}

// ReadFile streams the rows of one anonymised file to fn. It checks the
// file's schema first. A non-nil error from fn stops the read and is
// returned.
func ReadFile(path string, fn func(Row) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("anonymised: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("anonymised: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("anonymised: %s: not a readable Parquet file", path)
	}
	if err := CheckSchema(pf.Schema()); err != nil {
		return fmt.Errorf("anonymised: %s: %w", path, err)
	}
	buf := make([]parquet.Row, 128)
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		for {
			n, rerr := rr.ReadRows(buf)
			for _, pr := range buf[:n] {
				if err := fn(rowOf(pr)); err != nil {
					rr.Close()
					return err
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rr.Close()
				return fmt.Errorf("anonymised: %s: %w", path, rerr)
			}
		}
		if err := rr.Close(); err != nil {
			return fmt.Errorf("anonymised: %s: %w", path, err)
		}
	}
	return nil
}

func rowOf(pr parquet.Row) Row {
	str := func(col int) *string {
		if pr[col].IsNull() {
			return nil
		}
		s := string(pr[col].ByteArray())
		return &s
	}
	r := Row{
		Measure:         string(pr[colMeasure].ByteArray()),
		PeriodStart:     pr[colPeriodStart].Int32(),
		Granularity:     retention.Granularity(pr[colGranularity].ByteArray()),
		Sex:             str(colSex),
		AgeBand:         str(colAgeBand),
		Municipality:    str(colMunicipality),
		CellKey:         uint64(pr[colCellKey].Int64()),
		AnonymisedByRun: string(pr[colRun].ByteArray()),
	}
	if !pr[colPeriodEnd].IsNull() {
		e := pr[colPeriodEnd].Int32()
		r.PeriodEnd = &e
	}
	return r
}

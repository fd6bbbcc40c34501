package aggregates

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/transforms/disclosure"
)

// fileRow is one row of a frozen-aggregates file. Every column is required;
// only optional fields trip parquet-go v0.32's struct mapping (see
// pipeline/lake/row.go), so required ones are written through it. The date
// is int32 days since 1970-01-01, never time.Time, which v0.32 writes wrongly
// for DATE columns.
type fileRow struct {
	Year        int32  `parquet:"year"`
	Source      string `parquet:"source,dict"`
	Measure     string `parquet:"measure,dict"`
	Statistic   string `parquet:"statistic,dict"`
	Value       int64  `parquet:"value"`
	CellKey     uint64 `parquet:"cell_key"`
	FrozenByRun string `parquet:"frozen_by_run,dict"`
	FrozenOn    int32  `parquet:"frozen_on,date"`
}

var fileSchema = parquet.SchemaOf(fileRow{})

// Columns lists the columns of a frozen-aggregates file, in file order.
// DuckDB reads them as year INTEGER, source VARCHAR, measure VARCHAR,
// statistic VARCHAR, value BIGINT, cell_key UBIGINT, frozen_by_run VARCHAR,
// frozen_on DATE.
var Columns = []string{"year", "source", "measure", "statistic", "value", "cell_key", "frozen_by_run", "frozen_on"}

// Key-value metadata of a file, so that the run and date are known even
// for a file without rows.
const (
	metaFrozenBy = "gallra.frozen_by_run"
	metaFrozenOn = "gallra.frozen_on"
)

// Write writes the Parquet file of one frozen year: one row per cell with
// the columns of [Columns], zstd-compressed, sorted by (statistic, source,
// measure). frozenBy is the run that froze the year and frozenOn its day
// (the calendar date of frozenOn in its own location). It returns the
// number of rows written.
//
// Write refuses cells of more than one year, two cells with the same
// statistic, source and measure, an empty name, a value below zero, and an
// empty frozenBy.
func Write(w io.Writer, cells []Cell, frozenBy string, frozenOn time.Time) (rows int64, err error) {
	if frozenBy == "" {
		return 0, errors.New("aggregates: write: no freezing run named")
	}
	sorted := slices.Clone(cells)
	sortCells(sorted)
	day := lake.Date(frozenOn)
	out := make([]fileRow, len(sorted))
	for i, c := range sorted {
		switch {
		case c.Year != sorted[0].Year:
			return 0, fmt.Errorf("aggregates: write: cells of years %d and %d in one file", sorted[0].Year, c.Year)
		case c.Year < 1900 || c.Year > 9999:
			return 0, fmt.Errorf("aggregates: write: year %d out of range", c.Year)
		case c.Statistic == "" || c.Source == "" || c.Measure == "":
			return 0, fmt.Errorf("aggregates: write: cell %d: empty statistic, source or measure", i)
		case c.Value < 0:
			return 0, fmt.Errorf("aggregates: write: %s %s × %s: value below zero", c.Statistic, c.Source, c.Measure)
		case i > 0 && c.Statistic == sorted[i-1].Statistic && c.Source == sorted[i-1].Source && c.Measure == sorted[i-1].Measure:
			return 0, fmt.Errorf("aggregates: write: %s %s × %s: two cells", c.Statistic, c.Source, c.Measure)
		}
		out[i] = fileRow{
			Year: int32(c.Year), Source: c.Source, Measure: c.Measure, Statistic: c.Statistic,
			Value: c.Value, CellKey: uint64(c.CellKey), FrozenByRun: frozenBy, FrozenOn: day,
		}
	}
	pw := parquet.NewGenericWriter[fileRow](w,
		fileSchema,
		parquet.Compression(&parquet.Zstd),
		parquet.CreatedBy("gallra", "aggregates", "v1"),
		parquet.KeyValueMetadata(metaFrozenBy, frozenBy),
		parquet.KeyValueMetadata(metaFrozenOn, strconv.Itoa(int(day))),
	)
	if _, err := pw.Write(out); err != nil {
		return 0, fmt.Errorf("aggregates: write: %w", err)
	}
	if err := pw.Close(); err != nil {
		return 0, fmt.Errorf("aggregates: write: %w", err)
	}
	return int64(len(out)), nil
}

// ReadFile reads a file that Write wrote: its cells in file order, the run
// that froze them and the day it did (midnight UTC). A file whose columns
// are not those of [Columns], in that order and with their types, or whose
// rows disagree with its metadata on the run or the day, is refused.
func ReadFile(path string) (cells []Cell, frozenBy string, frozenOn time.Time, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", time.Time{}, fmt.Errorf("aggregates: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, "", time.Time{}, fmt.Errorf("aggregates: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, "", time.Time{}, fmt.Errorf("aggregates: %s: %w", path, err)
	}
	if err := sameSchema(pf.Schema()); err != nil {
		return nil, "", time.Time{}, fmt.Errorf("aggregates: %s: %w", path, err)
	}
	frozenBy, ok1 := pf.Lookup(metaFrozenBy)
	dayText, ok2 := pf.Lookup(metaFrozenOn)
	day, err := strconv.Atoi(dayText)
	if !ok1 || !ok2 || err != nil || frozenBy == "" {
		return nil, "", time.Time{}, fmt.Errorf("aggregates: %s: no freezing run or day in the file's metadata", path)
	}
	rows, err := parquet.Read[fileRow](f, st.Size())
	if err != nil {
		return nil, "", time.Time{}, fmt.Errorf("aggregates: %s: %w", path, err)
	}
	cells = make([]Cell, len(rows))
	for i, r := range rows {
		if r.FrozenByRun != frozenBy || int(r.FrozenOn) != day {
			return nil, "", time.Time{}, fmt.Errorf("aggregates: %s: row %d: freezing run or day differs from the file's metadata", path, i+1)
		}
		cells[i] = Cell{Year: int(r.Year), Source: r.Source, Measure: r.Measure, Statistic: r.Statistic,
			Value: r.Value, CellKey: disclosure.Key(r.CellKey)}
	}
	return cells, frozenBy, lake.DateOf(int32(day)), nil
}

// sameSchema checks a file's columns against fileSchema: names, order,
// physical and logical types.
func sameSchema(s *parquet.Schema) error {
	want, got := fileSchema.Fields(), s.Fields()
	if len(got) != len(want) {
		return fmt.Errorf("%d columns, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name() != w.Name() || g.Type().Kind() != w.Type().Kind() ||
			fmt.Sprint(g.Type().LogicalType()) != fmt.Sprint(w.Type().LogicalType()) || g.Optional() != w.Optional() {
			return fmt.Errorf("column %d is %s %s, want %s %s", i+1, g.Name(), g.Type(), w.Name(), w.Type())
		}
	}
	return nil
}

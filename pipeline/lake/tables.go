package lake

import (
	"fmt"

	"github.com/parquet-go/parquet-go"

	"github.com/gallra/gallra/pipeline/anonymised"
)

// aggregatesSchema is the schema of a frozen-aggregates file as package
// aggregates writes it (which imports this package, so its schema is
// declared here again; TestAggregatesSchema compares the two on a real file).
var aggregatesSchema = parquet.SchemaOf(struct {
	Year        int32  `parquet:"year"`
	Source      string `parquet:"source,dict"`
	Measure     string `parquet:"measure,dict"`
	Statistic   string `parquet:"statistic,dict"`
	Value       int64  `parquet:"value"`
	CellKey     uint64 `parquet:"cell_key"`
	FrozenByRun string `parquet:"frozen_by_run,dict"`
	FrozenOn    int32  `parquet:"frozen_on,date"`
}{})

// CheckTableSchema reports whether a Parquet schema is that of the files of
// table (TablePseudonymised, TableAnonymised or TableAggregates).
func CheckTableSchema(table string, s *parquet.Schema) error {
	switch table {
	case TablePseudonymised:
		return CheckSchema(s)
	case TableAnonymised:
		return anonymised.CheckSchema(s)
	case TableAggregates:
		return sameFields(s, aggregatesSchema)
	default:
		return fmt.Errorf("no table %q", table)
	}
}

func sameFields(s, want *parquet.Schema) error {
	g, w := s.Fields(), want.Fields()
	if len(g) != len(w) {
		return fmt.Errorf("schema has %d columns, want %d", len(g), len(w))
	}
	for i := range w {
		if g[i].Name() != w[i].Name() {
			return fmt.Errorf("column %d is %q, want %q", i, g[i].Name(), w[i].Name())
		}
		if g[i].Optional() != w[i].Optional() || g[i].Type().String() != w[i].Type().String() {
			return fmt.Errorf("column %q has type %s (optional %v), want %s (optional %v)",
				g[i].Name(), g[i].Type(), g[i].Optional(), w[i].Type(), w[i].Optional())
		}
	}
	return nil
}

package ingest_test

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/gallra/gallra/schemas"
)

// exportFile writes a CSV export shaped by a built-in schema: every column of
// the schema in its order; the read columns take their values from row (by
// what they hold), the others get filler — a name, an address, an e-mail —
// that must never reach the lake.
func exportFile(t *testing.T, path, schema string, comma rune, rows []map[string]string) {
	t.Helper()
	s, err := schemas.Lookup(schema)
	if err != nil {
		t.Fatal(err)
	}
	filler := map[string]string{
		"email": "karin.lindqvist@example.se", "full_name": "Karin Lindqvist", "last_name": "Lindqvist",
		"address": "Storgatan 12", "municipality": "0680",
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Comma = comma
	var header []string
	for _, c := range s.Columns {
		header = append(header, c.Name)
	}
	_ = w.Write(header)
	for _, r := range rows {
		rec := make([]string, 0, len(s.Columns))
		for _, c := range s.Columns {
			v, ok := r[c.Holds]
			switch {
			case ok && c.Read:
			case filler[c.Holds] != "":
				v = filler[c.Holds]
			default:
				v = "x"
			}
			rec = append(rec, v)
		}
		_ = w.Write(rec)
	}
	w.Flush()
	writeFile(t, path, buf.Bytes())
}

// ameaFile writes an AMEa export; each row gives identifier, measure, start
// and end.
func ameaFile(t *testing.T, path string, rows [][4]string) {
	t.Helper()
	m := make([]map[string]string, len(rows))
	for i, r := range rows {
		m[i] = map[string]string{"identifier": r[0], "measure": r[1], "period_start": r[2], "period_end": r[3]}
	}
	exportFile(t, path, "amea", ';', m)
}

// afFile writes an Arbetsförmedlingen programme export; each row gives
// Ärende-ID, identifier, programme, start and end.
func afFile(t *testing.T, path string, rows [][5]string) {
	t.Helper()
	m := make([]map[string]string, len(rows))
	for i, r := range rows {
		m[i] = map[string]string{"record_id": r[0], "identifier": r[1], "measure": r[2], "period_start": r[3], "period_end": r[4]}
	}
	exportFile(t, path, "af_program", ',', m)
}

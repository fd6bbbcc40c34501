package aggregates_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/aggregates"
	"github.com/gallra/gallra/pipeline/duck"
)

// sample is a frozen year in no particular order, with a cell key above
// 2⁶³ (a UBIGINT that a signed BIGINT could not hold).
var sample = []aggregates.Cell{
	{Year: 2024, Source: "amea", Measure: "PRAKTIK", Statistic: aggregates.Participants, Value: 2, CellKey: 0xfedcba9876543210},
	{Year: 2024, Source: "TOTAL", Measure: "TOTAL", Statistic: aggregates.Participants, Value: 4, CellKey: 42},
	{Year: 2024, Source: "amea", Measure: "TOTAL", Statistic: aggregates.Participants, Value: 4, CellKey: 42},
	{Year: 2024, Source: "TOTAL", Measure: "TOTAL", Statistic: aggregates.NewEntrants, Value: 0, CellKey: 0},
	{Year: 2024, Source: "aksel", Measure: "KARTLAGGNING", Statistic: aggregates.Reentries, Value: 1, CellKey: 1<<64 - 1},
	{Year: 2024, Source: "TOTAL", Measure: "PRAKTIK", Statistic: aggregates.Ended, Value: 3, CellKey: 3},
}

func writeSample(t *testing.T, cells []aggregates.Cell) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "year=2024.parquet")
	var buf bytes.Buffer
	n, err := aggregates.Write(&buf, cells, "20260101T020000.000Z-abcdef", time.Date(2026, 1, 1, 23, 30, 0, 0, time.FixedZone("CET", 3600)))
	if err != nil || n != int64(len(cells)) {
		t.Fatalf("Write: %d rows, %v", n, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWriteReadFile(t *testing.T) {
	path := writeSample(t, sample)
	got, by, on, err := aggregates.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by statistic, source, measure; "TOTAL" sorts before lower-case
	// source names byte-wise.
	want := []aggregates.Cell{sample[5], sample[3], sample[1], sample[0], sample[2], sample[4]}
	if !slices.Equal(got, want) {
		t.Errorf("read back\n %v\nwant\n %v", got, want)
	}
	// The day in frozenOn's own location (1 January in CET), at midnight UTC.
	if by != "20260101T020000.000Z-abcdef" || !on.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("frozen by %q on %v", by, on)
	}

	// DuckDB, another reader, sees the column types the aggregates view
	// promises and the same values.
	db, err := duck.Open(context.Background(), duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src := "read_parquet(" + duck.Literal(path) + ")"
	_, rows, err := duck.Query(context.Background(), db, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+src+")")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range rows {
		types = append(types, r[0]+" "+r[1])
	}
	if strings.Join(types, ", ") != "year INTEGER, source VARCHAR, measure VARCHAR, statistic VARCHAR, value BIGINT, cell_key UBIGINT, frozen_by_run VARCHAR, frozen_on DATE" {
		t.Errorf("DuckDB types: %s", strings.Join(types, ", "))
	}
	_, rows, err = duck.Query(context.Background(), db, "SELECT year, source, measure, statistic, value, cell_key, frozen_by_run, strftime(frozen_on, '%Y-%m-%d') FROM "+src)
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]string{
		{"2024", "TOTAL", "PRAKTIK", "ended", "3", "3"},
		{"2024", "TOTAL", "TOTAL", "new_entrants", "0", "0"},
		{"2024", "TOTAL", "TOTAL", "participants", "4", "42"},
		{"2024", "amea", "PRAKTIK", "participants", "2", "18364758544493064720"},
		{"2024", "amea", "TOTAL", "participants", "4", "42"},
		{"2024", "aksel", "KARTLAGGNING", "reentries", "1", "18446744073709551615"},
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("DuckDB read %d rows", len(rows))
	}
	for i, r := range rows {
		w := append(wantRows[i], "20260101T020000.000Z-abcdef", "2026-01-01")
		if !slices.Equal(r, w) {
			t.Errorf("DuckDB row %d = %v, want %v", i+1, r, w)
		}
	}
	// The file is zstd-compressed.
	_, rows, err = duck.Query(context.Background(), db, "SELECT DISTINCT compression FROM parquet_metadata("+duck.Literal(path)+")")
	if err != nil || len(rows) != 1 || rows[0][0] != "ZSTD" {
		t.Errorf("compression %v %v", rows, err)
	}

	// A file with no cells still says who froze it and when.
	empty := writeSample(t, nil)
	cells, by, on, err := aggregates.ReadFile(empty)
	if err != nil || len(cells) != 0 || by != "20260101T020000.000Z-abcdef" || on.Year() != 2026 {
		t.Errorf("empty file: %v %q %v %v", cells, by, on, err)
	}
}

func TestWriteRefuses(t *testing.T) {
	on := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, cells := range map[string][]aggregates.Cell{
		"two years": {sample[0], {Year: 2023, Source: "TOTAL", Measure: "TOTAL", Statistic: aggregates.Participants, Value: 1}},
		"two cells": {sample[0], sample[0]},
		"negative":  {{Year: 2024, Source: "TOTAL", Measure: "TOTAL", Statistic: aggregates.Participants, Value: -1}},
		"no name":   {{Year: 2024, Source: "", Measure: "TOTAL", Statistic: aggregates.Participants, Value: 1}},
		"bad year":  {{Year: 24, Source: "TOTAL", Measure: "TOTAL", Statistic: aggregates.Participants, Value: 1}},
	} {
		if _, err := aggregates.Write(&bytes.Buffer{}, cells, "run", on); err == nil {
			t.Errorf("%s: written", name)
		}
	}
	if _, err := aggregates.Write(&bytes.Buffer{}, sample, "", on); err == nil {
		t.Error("written without the freezing run")
	}
}

// TestReadFileRefusesOtherParquet: a Parquet file with other columns (here
// one DuckDB writes with the right names but a signed cell key) is not read
// as frozen aggregates.
func TestReadFileRefusesOtherParquet(t *testing.T) {
	db, err := duck.Open(context.Background(), duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	path := filepath.Join(t.TempDir(), "other.parquet")
	if _, err := db.ExecContext(context.Background(), `COPY (SELECT 2024::INTEGER AS year, 'TOTAL' AS source, 'TOTAL' AS measure,
		'participants' AS statistic, 1::BIGINT AS value, 1::BIGINT AS cell_key, 'run' AS frozen_by_run, DATE '2026-01-01' AS frozen_on)
		TO `+duck.Literal(path)+` (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := aggregates.ReadFile(path); err == nil {
		t.Error("a file with a signed cell_key was read")
	}
	if _, _, _, err := aggregates.ReadFile(filepath.Join(t.TempDir(), "missing.parquet")); err == nil {
		t.Error("a missing file gave no error")
	}
}

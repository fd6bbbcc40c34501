// Package lake defines the row type of gallra's pseudonymised Parquet lake and
// writes it: one Hive-partitioned directory tree of immutable Parquet files that
// DuckDB, Spark or Trino read as one table.
//
// Layout:
//
//	<lake>/source=<source>/start_year=<YYYY>/part-<runID>-<n>.parquet
//
// The partition columns source and start_year are not stored inside the files;
// readers take them from the path, for example
//
//	SELECT * FROM read_parquet('<lake>/source=*/start_year=*/*.parquet', hive_partitioning = true)
//
// A Writer stages files under <lake>/_staging/<runID>/ with names ending in
// ".parquet.tmp", so no reader glob of the form '**/*.parquet' ever sees a file
// that is still being written; Commit fsyncs each file and renames it into its
// partition directory. Files in the lake are never modified in place.
//
// The columns are described in SCHEMA.md next to this file and on [Row].
package lake

import (
	"time"

	"github.com/parquet-go/parquet-go"
)

// Row is one participation as the lake keeps it: who (a pseudonym, or nobody),
// in which measure, over which period, plus the attributes the source's policy
// declares. It carries no raw identifier.
//
// Columns, in file order (Parquet physical/logical type → DuckDB type):
//
//	pseudonym     optional FIXED_LEN_BYTE_ARRAY(16) UUID → UUID     null: the participation is kept unlinked
//	key_id        optional BYTE_ARRAY STRING (dict)      → VARCHAR  null when pseudonym is null and no key ID was given
//	id_kind       required BYTE_ARRAY STRING (dict)      → VARCHAR  personnummer | samordningsnummer | reserve | birthdate
//	measure       required BYTE_ARRAY STRING (dict)      → VARCHAR  code from the shared measure code list
//	period_start  required INT32 DATE                    → DATE
//	period_end    optional INT32 DATE                    → DATE     null while ongoing
//	sex           optional BYTE_ARRAY STRING (dict)      → VARCHAR  "K" | "M"; null unless the policy keeps it
//	age_band      optional BYTE_ARRAY STRING (dict)      → VARCHAR  e.g. "16-19", "65+"; null unless kept
//	municipality  optional BYTE_ARRAY STRING (dict)      → VARCHAR  4-digit kommunkod; null unless kept
//	record_key    required FIXED_LEN_BYTE_ARRAY(16) UUID → UUID     stable key of the participation
//	run_id        required BYTE_ARRAY STRING (dict)      → VARCHAR  the run that wrote the row
//	linkable_until optional INT32 DATE                   → DATE     last day the row may stay linkable under an age rule; null if none
//
// linkable_until is the last column so that files written before it existed
// (without it) are a prefix of today's schema: ReadFile and CheckSchema
// accept them, and read the column as null.
//
// Read with hive partitioning, two columns from the path follow: source
// (VARCHAR) and start_year (INTEGER when read with hive_types as
// duck.LakeView does; DuckDB guesses BIGINT otherwise).
//
// All columns are zstd-compressed and carry min/max/null-count statistics.
// Dates are stored as int32 days since 1970-01-01 (see [Date] and [DateOf]),
// never as time.Time, which parquet-go v0.32 writes wrongly for DATE columns.
type Row struct {
	// Pseudonym is the keyed pseudonym of the person as a 16-byte UUID, or
	// nil when the policy keeps the participation without linking it to a
	// person. A non-nil all-zero pseudonym is rejected as a sign of a bug
	// upstream.
	Pseudonym *[16]byte
	// KeyID names the key that made the pseudonym, e.g. "gk1-0123456789abcdef".
	// Required when Pseudonym is set; may be empty (stored as null) otherwise.
	KeyID string
	// IDKind is the kind of identifier the row was derived from: one of
	// IDPersonnummer, IDSamordningsnummer, IDReserve, IDBirthdate.
	IDKind string
	// Measure is a code from the shared measure code list.
	Measure string
	// PeriodStart is the first day of the participation, in days since
	// 1970-01-01. Its year must equal the partition's StartYear.
	PeriodStart int32
	// PeriodEnd is the last day of the participation in days since
	// 1970-01-01, or nil while it is ongoing. It is never before PeriodStart.
	PeriodEnd *int32
	// Sex is the declared attribute "K" or "M", or nil unless the source's
	// policy keeps it.
	Sex *string
	// AgeBand is the age band at PeriodStart, e.g. "16-19", "20-24", "65+",
	// or nil unless the policy keeps it.
	AgeBand *string
	// Municipality is the 4-digit kommunkod, or nil unless the policy keeps it.
	Municipality *string
	// RecordKey is the stable key of the participation (a keyed hash), used
	// to merge later versions of the same participation. It must not be all zero.
	RecordKey [16]byte
	// RunID is the run that wrote the row. When empty, the Writer fills in
	// its own run ID.
	RunID string
	// LinkableUntil is the last day (days since 1970-01-01) the row may stay
	// pseudonymised under its source's age rule (UKA: 31 December of the
	// year the person turns 21), set at ingest from the identifier's birth
	// date; nil when the policy has no age rule or the identifier gives no
	// birth date. It is not the birth date: it says nothing finer than the
	// year. See transforms/retention.Policy.Deadline.
	LinkableUntil *int32
}

// Identifier kinds accepted in Row.IDKind.
const (
	IDPersonnummer      = "personnummer"
	IDSamordningsnummer = "samordningsnummer"
	IDReserve           = "reserve"
	IDBirthdate         = "birthdate"
)

// fileSchema is the Parquet schema of every lake file, in column order. It
// is declared by schemaRow's tags; no schemaRow is ever written.
var fileSchema = parquet.SchemaOf(schemaRow{})

// schemaRow declares the file schema. Rows are not written through
// parquet-go's struct mapping but as explicit values (see partFile.add),
// because parquet-go v0.32 cannot tag a *[16]byte as uuid, and it writes an
// "optional" non-pointer field wrongly: in a batch, zero values after the
// first non-zero one are stored as values instead of nulls.
type schemaRow struct {
	Pseudonym     [16]byte `parquet:"pseudonym,uuid,optional"`
	KeyID         string   `parquet:"key_id,optional,dict"`
	IDKind        string   `parquet:"id_kind,dict"`
	Measure       string   `parquet:"measure,dict"`
	PeriodStart   int32    `parquet:"period_start,date"`
	PeriodEnd     *int32   `parquet:"period_end,date"`
	Sex           *string  `parquet:"sex,dict"`
	AgeBand       *string  `parquet:"age_band,dict"`
	Municipality  *string  `parquet:"municipality,dict"`
	RecordKey     [16]byte `parquet:"record_key,uuid"`
	RunID         string   `parquet:"run_id,dict"`
	LinkableUntil *int32   `parquet:"linkable_until,date"`
}

// Column indexes in fileSchema (struct order; TestFileMetadata checks them).
const (
	colPseudonym = iota
	colKeyID
	colIDKind
	colMeasure
	colPeriodStart
	colPeriodEnd
	colSex
	colAgeBand
	colMunicipality
	colRecordKey
	colRunID
	colLinkableUntil
	numColumns
)

// Columns lists the column names stored in every lake file, in file order.
// The partition columns source and start_year come after them when read with
// hive partitioning.
var Columns = []string{
	"pseudonym", "key_id", "id_kind", "measure", "period_start", "period_end",
	"sex", "age_band", "municipality", "record_key", "run_id", "linkable_until",
}

const secondsPerDay = 24 * 60 * 60

// Date returns the calendar date of t (in t's own location) as days since
// 1970-01-01, the representation of the lake's DATE columns.
func Date(t time.Time) int32 {
	if t.Location() == time.UTC {
		// The common case (every date the ingest parses): the day number
		// is the Unix time's, rounded down.
		sec := t.Unix()
		days := sec / secondsPerDay
		if sec%secondsPerDay < 0 {
			days--
		}
		return int32(days)
	}
	y, m, d := t.Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay)
}

// DateOf returns the date days after 1970-01-01 as midnight UTC.
func DateOf(days int32) time.Time {
	return time.Unix(int64(days)*secondsPerDay, 0).UTC() // time.Date's normalisation costs 4x
}

// YearOf returns the year of the date days after 1970-01-01, as
// DateOf(days).Year() does. The merge asks it twice of every row (the
// partition is the start year), and for the years 1970-2199 it answers from
// the table of the years' first days, in a third of the time Year takes (see
// BenchmarkYearOf).
func YearOf(days int32) int {
	if days >= 0 && days < yearStarts[len(yearStarts)-1] {
		i := int(int64(days) * 400 / 146097) // whole years since 1970, give or take one
		switch {
		case days >= yearStarts[i+1]:
			i++
		case days < yearStarts[i]:
			i--
		}
		return 1970 + i
	}
	return DateOf(days).Year()
}

// yearStarts[i] is the day of 1 January of the year 1970+i, up to 2200.
var yearStarts = func() (t [2200 - 1970 + 1]int32) {
	for i := range t {
		t[i], _ = yearDays(1970 + i)
	}
	return t
}()

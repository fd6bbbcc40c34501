// Package schemas describes the exports of the participant systems gallra reads, and the shared
// code lists their values map to.
//
// A schema is data, not code: one TOML file per source system (see README.md for the format)
// names every column the system's export carries, says what each column holds, and marks the few
// columns the pipeline may read with read = true. That flag is the allowlist: a column without it is
// declared only so the header can be checked, and its values never leave the parser. The built-in
// schemas under sources/ and the code lists under codes/ are embedded in the binary;
// an operator can load their own schema file with [LoadFile].
//
// [Schema.Bind] matches a file's header row against a schema and returns the column indexes to
// read. Any difference between the header and the schema (a missing, unexpected or duplicated
// column) is schema drift, reported as a [*DriftError] whose text never repeats a header cell that
// looks like personal data: a file without a header row makes its first data row the "header".
//
// [Schema.MapMeasure] maps a system's own measure label to a shared code from
// codes/measures.toml; [Codes.Municipality] looks up a kommunkod in codes/kommuner.csv.
package schemas

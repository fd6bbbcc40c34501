// Package duck opens hardened in-process DuckDB sessions over gallra's
// Parquet lake and renders query results as text for the command line.
//
// It is the only package of gallra that imports the DuckDB driver
// (github.com/duckdb/duckdb-go/v2, registered as "duckdb"), so that only its
// importers link DuckDB.
//
// A session from [Open] is an in-memory database: automatic extension
// installation and loading are off, community extensions are refused, memory
// and spill directory are explicit, and the configuration is locked so SQL
// cannot loosen it. With Options.ReadOnlyLake, DuckDB's external access is
// switched off as well, except for the lake directory (see [Options]).
package duck

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver (text.go uses its types)

	"github.com/gallra/gallra/pipeline/atomicfile"
	"github.com/gallra/gallra/pipeline/lake"
)

// DefaultMemoryLimit is the memory limit of a session when Options.MemoryLimit
// is empty.
const DefaultMemoryLimit = "2GB"

// Options configures a session.
type Options struct {
	// MemoryLimit is DuckDB's memory_limit, e.g. "2GB" (the default) or "512MiB".
	MemoryLimit string
	// TempDir is where DuckDB spills when a query needs more than MemoryLimit.
	// Empty means a new directory under os.TempDir() that DuckDB creates when
	// it first spills and removes when the database closes.
	TempDir string
	// Threads is DuckDB's thread count; 0 keeps DuckDB's default (one per core).
	Threads int
	// ReadOnlyLake turns DuckDB's external access off (enable_external_access
	// = false): no file outside LakeDir can be read or written, no database
	// attached, no extension installed or loaded. DuckDB cannot read local
	// Parquet at all with external access off unless the directory is listed
	// in allowed_directories, so LakeDir is listed there and must be set.
	// DuckDB lets SQL write as well as read inside an allowed directory
	// (COPY ... TO '<lake>/...' works), so a session that must not change the
	// lake also needs the operating system to deny it write access.
	ReadOnlyLake bool
	// LakeDir is the lake root; required with ReadOnlyLake, otherwise unused.
	LakeDir string
}

var tempSeq atomic.Int64

// Open starts an in-memory DuckDB session with hardened settings:
// autoinstall_known_extensions=false, autoload_known_extensions=false,
// allow_community_extensions=false, memory_limit, temp_directory and threads
// as opt says; with opt.ReadOnlyLake also allowed_directories=[LakeDir] and
// enable_external_access=false; and last lock_configuration=true, after which
// no SET can change any of these. The parquet, json and icu extensions are
// linked in and need no loading.
//
// The settings are global to the database, so they hold on every connection
// of the returned pool. Close the *sql.DB to free the database.
func Open(ctx context.Context, opt Options) (*sql.DB, error) {
	mem := opt.MemoryLimit
	if mem == "" {
		mem = DefaultMemoryLimit
	}
	if opt.Threads < 0 {
		return nil, fmt.Errorf("duck: threads %d: must not be negative", opt.Threads)
	}
	tmp := opt.TempDir
	if tmp == "" {
		tmp = filepath.Join(os.TempDir(), fmt.Sprintf("gallra-duckdb-%d-%d", os.Getpid(), tempSeq.Add(1)))
	}
	tmp, err := filepath.Abs(tmp)
	if err != nil {
		return nil, fmt.Errorf("duck: temp directory: %w", err)
	}
	var lakeDir string
	if opt.ReadOnlyLake {
		if opt.LakeDir == "" {
			return nil, errors.New("duck: ReadOnlyLake needs LakeDir")
		}
		if lakeDir, err = filepath.Abs(opt.LakeDir); err != nil {
			return nil, fmt.Errorf("duck: lake directory: %w", err)
		}
	}

	// Settings in the DSN are applied when the database is created, before
	// any statement can run.
	q := url.Values{}
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	q.Set("allow_community_extensions", "false")
	q.Set("memory_limit", mem)
	q.Set("temp_directory", tmp)
	if opt.Threads > 0 {
		q.Set("threads", strconv.Itoa(opt.Threads))
	}
	db, err := sql.Open("duckdb", "?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("duck: open: %w", err)
	}

	var stmts []string
	if opt.ReadOnlyLake {
		// The trailing separator keeps a sibling such as "<lake>2" out.
		stmts = append(stmts,
			"SET allowed_directories = ["+Literal(strings.TrimSuffix(lakeDir, string(filepath.Separator))+string(filepath.Separator))+"]",
			"SET enable_external_access = false")
	}
	stmts = append(stmts, "SET lock_configuration = true")
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, fmt.Errorf("duck: configure session: %w", err)
		}
	}
	return db, nil
}

// Literal returns s as a SQL string literal: in single quotes, with single
// quotes doubled.
func Literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// LakeGlob returns the reader glob of the pseudonymised tier of the lake at
// lakeDir, "<lakeDir>/source=*/start_year=*/*.parquet" (the anonymised tier
// and the frozen aggregates live under anonymised/ and aggregates/ with
// other columns), as a SQL string literal ready to put into a query,
// for example "read_parquet(" + LakeGlob(dir) + ", hive_partitioning = true)".
func LakeGlob(lakeDir string) string {
	return Literal(filepath.ToSlash(strings.TrimRight(lakeDir, `/\`)) + "/source=*/start_year=*/*.parquet")
}

// lakeSchema is the lake's schema as DuckDB reads it, partition columns last;
// an empty lake gets a view with exactly these columns. It must match
// lake.Row and SCHEMA.md (a test compares it with real files).
var lakeSchema = [][2]string{
	{"pseudonym", "UUID"},
	{"key_id", "VARCHAR"},
	{"id_kind", "VARCHAR"},
	{"measure", "VARCHAR"},
	{"period_start", "DATE"},
	{"period_end", "DATE"},
	{"sex", "VARCHAR"},
	{"age_band", "VARCHAR"},
	{"municipality", "VARCHAR"},
	{"record_key", "UUID"},
	{"run_id", "VARCHAR"},
	{"linkable_until", "DATE"},
	{"source", "VARCHAR"},
	{"start_year", "INTEGER"},
}

// anonymisedSchema is the anonymised tier's view (package anonymised's
// columns, then the partition columns).
var anonymisedSchema = [][2]string{
	{"measure", "VARCHAR"},
	{"period_start", "DATE"},
	{"period_end", "DATE"},
	{"granularity", "VARCHAR"},
	{"sex", "VARCHAR"},
	{"age_band", "VARCHAR"},
	{"municipality", "VARCHAR"},
	{"cell_key", "UBIGINT"},
	{"anonymised_by_run", "VARCHAR"},
	{"source", "VARCHAR"},
	{"start_year", "INTEGER"},
}

// aggregatesSchema is the frozen aggregates' view (package aggregates'
// columns; the year comes from the file, not the path).
var aggregatesSchema = [][2]string{
	{"year", "INTEGER"},
	{"source", "VARCHAR"},
	{"measure", "VARCHAR"},
	{"statistic", "VARCHAR"},
	{"value", "BIGINT"},
	{"cell_key", "UBIGINT"},
	{"frozen_by_run", "VARCHAR"},
	{"frozen_on", "DATE"},
}

// emptyColumns selects NULLs of a schema's columns and types, for a view
// over no files.
func emptyColumns(schema [][2]string) string {
	cols := make([]string, len(schema))
	for i, c := range schema {
		cols[i] = "CAST(NULL AS " + c[1] + ") AS " + c[0]
	}
	return strings.Join(cols, ", ")
}

// columnList names a schema's columns, so a view has them in its order
// whatever the files hold.
func columnList(schema [][2]string) string {
	cols := make([]string, len(schema))
	for i, c := range schema {
		cols[i] = c[0]
	}
	return strings.Join(cols, ", ")
}

// LakeView creates (or replaces) the views of the lake at lakeDir (see
// ViewsSQL) in db.
//
// The view "lake" reads the pseudonymised files the lake's manifest lists,
// so it shows exactly one committed generation even while a run is
// publishing the next; a folder without a manifest (not written by gallra
// run) is read through the glob '<lakeDir>/source=*/start_year=*/*.parquet'.
// The partition columns source (VARCHAR) and start_year (INTEGER) come last.
// The views "anonymised" and "aggregates" read the manifest's files of those
// tables. An empty lake, or table, gives a view with the same columns and
// no rows. The views do not notice later commits: call LakeView
// again after one.
//
// lakeDir is made absolute first; it must not contain the glob characters
// * ? [ ].
func LakeView(ctx context.Context, db *sql.DB, lakeDir string) error {
	q, err := viewsSQL(lakeDir, true)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("duck: create lake views: %w", err)
	}
	return nil
}

// unmanagedGlob is what the view "lake" reads in a folder without a
// manifest: the pseudonymised table's partition directories.
const unmanagedGlob = "source=*/start_year=*/*.parquet"

// tableFiles returns the absolute paths of a table's files in manifest m.
func tableFiles(abs string, m *lake.Manifest, table string) []string {
	var paths []string
	for _, f := range m.TableFiles(table) {
		paths = append(paths, filepath.Join(abs, filepath.FromSlash(f.Path)))
	}
	return paths
}

// LakeFiles returns the files the view "lake" of LakeView reads for the
// lake at lakeDir now: the pseudonymised table's files of the manifest's
// generation, or in a folder without a manifest every Parquet file under
// source=*/start_year=*/.
func LakeFiles(lakeDir string) ([]string, error) {
	abs, err := filepath.Abs(lakeDir)
	if err != nil {
		return nil, fmt.Errorf("duck: lake directory: %w", err)
	}
	m, err := lake.ReadManifest(abs)
	switch {
	case err == nil && m.Generation > 0:
		return tableFiles(abs, m, lake.TablePseudonymised), nil
	case err != nil && !errors.Is(err, lake.ErrNoManifest):
		return nil, fmt.Errorf("duck: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(abs, filepath.FromSlash(unmanagedGlob)))
	if err != nil {
		return nil, fmt.Errorf("duck: %w", err)
	}
	return files, nil
}

// ViewsSQL returns the SQL that creates the lake's views, for DuckDB alone:
// an analyst without gallra runs it with `.read` in the duckdb CLI. gallra
// run writes it to <lake>/_gallra/views.sql after every commit.
//
//	lake            every pseudonymised row of the current generation, with source and start_year
//	participations  the same rows with readable names: person (the pseudonym), ...
//	anonymised      the anonymised tier: measure, coarsened period, granularity, kept attributes,
//	                cell_key, anonymised_by_run, source, start_year (package anonymised)
//	aggregates      the frozen aggregates: year, source, measure, statistic, value, cell_key,
//	                frozen_by_run, frozen_on (package aggregates)
//	runs            one row per run in the run log: run_id, kind (run, retain, subject-erase, ...),
//	                started, finished, outcome, counts
//
// The runs view reads the run log if the manifest records a committed run
// (whose log gallra run writes as it finishes).
func ViewsSQL(lakeDir string) (string, error) { return viewsSQL(lakeDir, false) }

// viewsSQL builds the views; with onDisk, the runs view is made only if run
// log files exist now (a lake written without gallra run has none).
func viewsSQL(lakeDir string, onDisk bool) (string, error) {
	if strings.ContainsAny(lakeDir, "*?[]") {
		return "", errors.New("duck: lake directory path contains a glob character (* ? [ ])")
	}
	abs, err := filepath.Abs(lakeDir) // as allowed_directories holds it
	if err != nil {
		return "", fmt.Errorf("duck: lake directory: %w", err)
	}
	var src, anonSrc, aggSrc string
	hasRuns := false
	m, err := lake.ReadManifest(abs)
	switch {
	case err == nil && m.Generation > 0:
		hasRuns = len(m.Runs) > 0
		list := func(table string) string {
			var paths []string
			for _, f := range tableFiles(abs, m, table) {
				paths = append(paths, Literal(filepath.ToSlash(f)))
			}
			if len(paths) == 0 {
				return ""
			}
			return "[" + strings.Join(paths, ",\n  ") + "]"
		}
		src, anonSrc, aggSrc = list(lake.TablePseudonymised), list(lake.TableAnonymised), list(lake.TableAggregates)
	case err != nil && !errors.Is(err, lake.ErrNoManifest):
		return "", fmt.Errorf("duck: %w", err)
	default:
		// A folder not written by gallra run: only the pseudonymised table's
		// directories, never anonymised/ or aggregates/.
		if files, _ := filepath.Glob(filepath.Join(abs, filepath.FromSlash(unmanagedGlob))); len(files) > 0 {
			src = Literal(filepath.ToSlash(abs) + "/" + unmanagedGlob)
		}
	}
	var b strings.Builder
	b.WriteString("-- The views of the gallra lake at " + filepath.ToSlash(abs) + ".\n")
	b.WriteString("-- In the duckdb CLI: .read " + filepath.ToSlash(filepath.Join(abs, lake.MetaDir, "views.sql")) + "\n")
	hive := ",\n  hive_partitioning = true, union_by_name = true, hive_types = {'source': VARCHAR, 'start_year': INTEGER})"
	view := func(name string, schema [][2]string, src, opts string) {
		if src == "" {
			b.WriteString("CREATE OR REPLACE VIEW " + name + " AS SELECT " + emptyColumns(schema) + " WHERE false;\n")
			return
		}
		b.WriteString("CREATE OR REPLACE VIEW " + name + " AS SELECT " + columnList(schema) + " FROM read_parquet(" + src + opts + ";\n")
	}
	if src != "" {
		// Files written before linkable_until existed lack it: a union by
		// name with an empty relation of every column gives them NULL
		// there, whatever mix of files the lake holds.
		src = "(SELECT " + emptyColumns(lakeSchema) + " WHERE false\n  UNION ALL BY NAME SELECT * FROM read_parquet(" + src + hive + ")"
		b.WriteString("CREATE OR REPLACE VIEW lake AS SELECT " + columnList(lakeSchema) + " FROM " + src + ";\n")
	} else {
		view("lake", lakeSchema, "", "")
	}
	view("anonymised", anonymisedSchema, anonSrc, hive)
	view("aggregates", aggregatesSchema, aggSrc, ",\n  hive_partitioning = false)")
	b.WriteString(`CREATE OR REPLACE VIEW participations AS
SELECT pseudonym AS person, id_kind, source, measure, period_start, period_end,
       period_end IS NULL AS ongoing, sex, age_band, municipality, key_id, record_key, run_id
FROM lake;
`)
	runs := filepath.Join(abs, lake.MetaDir, "runs")
	if onDisk {
		files, _ := filepath.Glob(filepath.Join(runs, "*.json"))
		hasRuns = len(files) > 0
	}
	if hasRuns {
		b.WriteString("CREATE OR REPLACE VIEW runs AS\nSELECT run_id, coalesce(kind, 'run') AS kind, started, finished, outcome, exit_code, lake_generation,\n" +
			"       totals.rows_read AS rows_read, totals.rows_accepted AS rows_accepted, key_id\n" +
			"FROM read_json(" + Literal(filepath.ToSlash(filepath.Join(runs, "*.json"))) + ", union_by_name = true)\nORDER BY started;\n")
	} else {
		b.WriteString("CREATE OR REPLACE VIEW runs AS SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS kind, NULL::TIMESTAMP AS started, NULL::TIMESTAMP AS finished,\n" +
			"  NULL::VARCHAR AS outcome, NULL::INTEGER AS exit_code, NULL::BIGINT AS lake_generation, NULL::BIGINT AS rows_read,\n" +
			"  NULL::BIGINT AS rows_accepted, NULL::VARCHAR AS key_id WHERE false;\n")
	}
	return b.String(), nil
}

// WriteViews writes <lakeDir>/_gallra/views.sql, the lake's views for the
// duckdb CLI (`.read` it), naming exactly the files of the generation the
// manifest holds now. Every commit calls it.
func WriteViews(lakeDir string) error {
	q, err := ViewsSQL(lakeDir)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(lakeDir, lake.MetaDir, "views.sql"), []byte(q), 0o640)
}

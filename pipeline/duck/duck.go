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

// LakeGlob returns the reader glob of the lake at lakeDir,
// "<lakeDir>/**/*.parquet", as a SQL string literal ready to put into a query,
// for example "read_parquet(" + LakeGlob(dir) + ", hive_partitioning = true)".
func LakeGlob(lakeDir string) string {
	return Literal(filepath.ToSlash(strings.TrimRight(lakeDir, `/\`)) + "/**/*.parquet")
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
	{"source", "VARCHAR"},
	{"start_year", "INTEGER"},
}

// LakeView creates (or replaces) the view "lake" over the lake at lakeDir:
//
//	CREATE OR REPLACE VIEW lake AS SELECT * FROM read_parquet([<files>],
//	    hive_partitioning = true, union_by_name = true,
//	    hive_types = {'source': VARCHAR, 'start_year': INTEGER})
//
// The files are those the lake's manifest lists, so the view shows exactly
// one committed generation even while a run is publishing the next; a folder
// without a manifest (not written by gallra run) is read through the glob
// '<lakeDir>/**/*.parquet'. The partition columns source (VARCHAR) and
// start_year (INTEGER) come last. An empty lake gives a view with the same
// columns and no rows. The view does not notice later commits: call LakeView
// again after one.
//
// lakeDir is made absolute first; it must not contain the glob characters
// * ? [ ].
func LakeView(ctx context.Context, db *sql.DB, lakeDir string) error {
	if strings.ContainsAny(lakeDir, "*?[]") {
		return errors.New("duck: lake directory path contains a glob character (* ? [ ])")
	}
	abs, err := filepath.Abs(lakeDir) // as allowed_directories holds it
	if err != nil {
		return fmt.Errorf("duck: lake directory: %w", err)
	}
	src := LakeGlob(abs)
	var n int64
	m, err := lake.ReadManifest(abs)
	switch {
	case err == nil && m.Generation > 0:
		paths := make([]string, len(m.Files))
		for i, f := range m.Files {
			paths[i] = Literal(filepath.ToSlash(filepath.Join(abs, filepath.FromSlash(f.Path))))
		}
		src, n = "["+strings.Join(paths, ", ")+"]", int64(len(paths))
	case err != nil && !errors.Is(err, lake.ErrNoManifest):
		return fmt.Errorf("duck: %w", err)
	default:
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM glob("+src+")").Scan(&n); err != nil {
			return fmt.Errorf("duck: list lake files: %w", err)
		}
	}
	var q string
	if n == 0 {
		cols := make([]string, len(lakeSchema))
		for i, c := range lakeSchema {
			cols[i] = "CAST(NULL AS " + c[1] + ") AS " + c[0]
		}
		q = "CREATE OR REPLACE VIEW lake AS SELECT " + strings.Join(cols, ", ") + " WHERE false"
	} else {
		q = "CREATE OR REPLACE VIEW lake AS SELECT * FROM read_parquet(" + src +
			", hive_partitioning = true, union_by_name = true" +
			", hive_types = {'source': VARCHAR, 'start_year': INTEGER})"
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("duck: create lake view: %w", err)
	}
	return nil
}

// Package stats is gallra's standard statistics suite: SQL files kept as data
// (sql/*.sql, each with a header that names and documents it), run with
// in-process DuckDB over the lake view that duck.LakeView creates.
//
// Every query reads the view "lake" and takes its span of years from DuckDB
// variables (getvariable('from_year'), getvariable('to_year'), its
// breakdown from getvariable('breakdown'), and for transitions
// getvariable('within_days'), for cohorts getvariable('as_of')), so the
// same files run unchanged in the duckdb CLI after
//
//	SET VARIABLE from_year = 2016; SET VARIABLE to_year = 2025;
//	SET VARIABLE breakdown = 'source'; -- unset: by measure
//	.read pipeline/stats/inputs.sql
//
// Counts of persons use linked rows only (a pseudonym); unlinked rows count
// as participations, and so do the anonymised tier's rows (view
// "anonymised") in participants.sql, the one statistic that needs neither
// linkage nor exact dates. The others read the pseudonymised rows only.
//
// Counts that need linkage come from two places, and the queries that give
// them (participants, new_entrants, reentry) say which in a last column,
// basis. For a year that retention has frozen (a year present in the view
// "aggregates", over the frozen-aggregate files; see pipeline/aggregates and
// docs/retention.md) they are the frozen values, basis 'frozen'; for other
// years they are counted from the lake's linked rows, basis
// 'pseudonymised'. The other statistics are always counted from the lake.
//
// The queries are written for lakes of a hundred million rows: no range
// join of rows against month ends or years and no self-join. Distinct
// persons per month end (stock_month_end) and year (participants) come from
// a bit per month or year merged per person and category; reentry and
// transitions share one window over each person's rows in start order,
// which gives each ended row whether a start followed within 365 days and
// the categories started within the transition's days (a bit per category:
// transitions counts at most 128 categories and refuses more); cohorts
// joins each person's first start back once; durations takes its quartiles
// from a histogram of days. The plain definitions they must agree with are
// kept in testdata/reference (see reference_test.go). Give the session a
// thread per core and memory to match (duck.Options): the views' per-person
// hash tables over 100M rows need several GB (the sweep, far less).
//
// What several statistics need per person is a shared input, named
// stats_* and defined once, in inputs.sql, as a temporary view over the
// lake: stats_categories (the breakdown's categories, numbered),
// stats_firsts (persons by the year and category of their first start and
// whether they were active at its anniversaries: new_entrants, cohorts),
// stats_person_years (persons by category, year and month ends:
// participants, stock_month_end) and stats_ends (persons by year and
// category of an ended participation and what followed it: reentry,
// transitions). The suite's preparation step, prepare.sql, turns each view
// into a temporary table of the same name, computed once. [Run] runs one
// statistic alone (after inputs.sql); [Prepare] prepares a session for
// several, whose results are the same. Given the lake's directory, Prepare
// computes the three person-keyed inputs with package sweep instead (one
// pass over each person's rows, in Go: DuckDB's hash tables keyed by
// person were most of the suite's time over a large lake) and loads its
// counts as the same tables; the SQL stays their definition, and the
// reference test holds the two to the same rows.
package stats

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gallra/gallra/pipeline/duck"
)

//go:embed sql/*.sql inputs.sql prepare.sql
var files embed.FS

// Query is one statistic of the suite.
type Query struct {
	Name        string // e.g. "participants"
	Title       string // Swedish title, as a table would carry it
	Description string
	Params      []string
	SQL         string
}

// Suite returns the standard statistics, in name order.
func Suite() ([]Query, error) {
	entries, err := files.ReadDir("sql")
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, e := range entries {
		b, err := files.ReadFile(path.Join("sql", e.Name()))
		if err != nil {
			return nil, err
		}
		q, err := parse(e.Name(), string(b))
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup returns one statistic by name.
func Lookup(name string) (Query, error) {
	all, err := Suite()
	if err != nil {
		return Query{}, err
	}
	var names []string
	for _, q := range all {
		if q.Name == name {
			return q, nil
		}
		names = append(names, q.Name)
	}
	return Query{}, fmt.Errorf("stats: no statistic %q (known: %s)", name, strings.Join(names, ", "))
}

// parse reads the header comment: "-- key: value" lines, a value continued
// on "--   " lines.
func parse(file, text string) (Query, error) {
	q := Query{SQL: text}
	var last *string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "--") {
			break
		}
		body := strings.TrimPrefix(line, "--")
		if strings.HasPrefix(body, "   ") && last != nil {
			*last += " " + strings.TrimSpace(body)
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(body), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "name":
			q.Name, last = v, &q.Name
		case "title":
			q.Title, last = v, &q.Title
		case "description":
			q.Description, last = v, &q.Description
		case "params":
			for _, p := range strings.Split(v, ",") {
				q.Params = append(q.Params, strings.TrimSpace(p))
			}
			last = nil
		}
	}
	if q.Name == "" || q.Title == "" || q.Description == "" {
		return q, fmt.Errorf("stats: %s: the header needs name, title and description", file)
	}
	if q.Name+".sql" != file {
		return q, fmt.Errorf("stats: %s: name %q does not match the file name", file, q.Name)
	}
	return q, nil
}

// Span is the period a statistic covers, and its other parameters.
type Span struct {
	FromYear, ToYear int       // participants takes a span of at most 120 years
	WithinDays       int       // transitions: days between an end and the next start (0 = 30)
	By               string    // breakdown of every statistic: see Breakdowns ("" = measure)
	AsOf             time.Time // cohorts: the date up to which the lake is complete (zero = today, UTC)
}

// Breakdowns are the values of Span.By: the lake's columns a statistic can
// be broken down by (sex, age band and municipality only where a source's
// policy keeps them; other rows fall in an empty category). Every statistic
// of the suite takes it (getvariable('breakdown')): the category replaces
// the measure, in transitions at both ends of the pair, in new_entrants and
// cohorts of the person's first participation. For a frozen year the
// frozen aggregates have source and measure only, so participants,
// new_entrants and reentry give one row, category TOTAL, for the others.
var Breakdowns = []string{"measure", "source", "sex", "age_band", "municipality"}

// emptyAggregates makes the view "aggregates" when the session has none,
// with the columns of the frozen-aggregate files and no rows.
const emptyAggregates = `CREATE VIEW IF NOT EXISTS aggregates AS
SELECT CAST(NULL AS INTEGER) AS year, CAST(NULL AS VARCHAR) AS source, CAST(NULL AS VARCHAR) AS measure,
       CAST(NULL AS VARCHAR) AS statistic, CAST(NULL AS BIGINT) AS value, CAST(NULL AS UBIGINT) AS cell_key,
       CAST(NULL AS VARCHAR) AS frozen_by_run, CAST(NULL AS DATE) AS frozen_on
WHERE false`

// emptyAnonymised makes the view "anonymised" when the session has none,
// with the columns of the anonymised tier and no rows.
const emptyAnonymised = `CREATE VIEW IF NOT EXISTS anonymised AS
SELECT CAST(NULL AS VARCHAR) AS measure, CAST(NULL AS DATE) AS period_start, CAST(NULL AS DATE) AS period_end,
       CAST(NULL AS VARCHAR) AS granularity, CAST(NULL AS VARCHAR) AS sex, CAST(NULL AS VARCHAR) AS age_band,
       CAST(NULL AS VARCHAR) AS municipality, CAST(NULL AS UBIGINT) AS cell_key, CAST(NULL AS VARCHAR) AS anonymised_by_run,
       CAST(NULL AS VARCHAR) AS source, CAST(NULL AS INTEGER) AS start_year
WHERE false`

// Run runs one statistic over the views "lake", "anonymised" and
// "aggregates" (see duck.LakeView) and returns its columns and rows as
// text. A session without a view "aggregates" or "anonymised" (one made
// before retention tiers existed) gets an empty one, so every year is
// counted from the lake. The statistic computes its shared inputs itself
// (as views); to run several, Prepare once and run them on the Prepared.
func Run(ctx context.Context, db *sql.DB, q Query, s Span) ([]string, [][]string, error) {
	conn, err := db.Conn(ctx) // variables live in one connection
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	if err := setSpan(ctx, conn, s); err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, InputsSQL()); err != nil {
		return nil, nil, fmt.Errorf("stats: inputs: %w", err)
	}
	return duck.Query(ctx, conn, q.SQL)
}

// embedded returns one of the package's embedded SQL files.
func embedded(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err) // embedded
	}
	return string(b)
}

// withDefaults returns s with what it leaves unset filled in: by measure,
// 30 days for transitions, as of now.
func (s Span) withDefaults() Span {
	if s.By == "" {
		s.By = "measure"
	}
	if s.WithinDays <= 0 {
		s.WithinDays = 30
	}
	if s.AsOf.IsZero() {
		s.AsOf = time.Now().UTC()
	}
	return s
}

// setSpan checks s and sets the variables the statistics read.
func setSpan(ctx context.Context, conn *sql.Conn, s Span) error {
	if s.FromYear > s.ToYear || s.FromYear < 1900 {
		return fmt.Errorf("stats: bad span %d–%d", s.FromYear, s.ToYear)
	}
	s = s.withDefaults()
	if !slices.Contains(Breakdowns, s.By) {
		return fmt.Errorf("stats: no breakdown %q (known: %s)", s.By, strings.Join(Breakdowns, ", "))
	}
	for _, set := range []string{
		emptyAggregates,
		emptyAnonymised,
		fmt.Sprintf("SET VARIABLE from_year = %d", s.FromYear),
		fmt.Sprintf("SET VARIABLE to_year = %d", s.ToYear),
		fmt.Sprintf("SET VARIABLE within_days = %d", s.WithinDays),
		fmt.Sprintf("SET VARIABLE breakdown = '%s'", s.By), // one of Breakdowns: no quoting needed
		fmt.Sprintf("SET VARIABLE as_of = DATE '%s'", s.AsOf.Format("2006-01-02")),
	} {
		if _, err := conn.ExecContext(ctx, set); err != nil {
			return fmt.Errorf("stats: %w", err)
		}
	}
	return nil
}

// InputsSQL returns the shared inputs (inputs.sql): a temporary view per
// input, over the lake, for the span and breakdown the variables give; a
// table of the same name already there stays. Run and Prepare run it
// before anything else; an analyst runs it in the duckdb CLI after
// views.sql and the SET VARIABLE lines, before a statistic.
func InputsSQL() string { return embedded("inputs.sql") }

// PrepareSQL returns the suite's preparation step (prepare.sql): for each
// shared input of InputsSQL, the statements that compute its view once
// into a temporary table and put the table in the view's place. An
// analyst runs it in the duckdb CLI after InputsSQL, before the
// statistics.
func PrepareSQL() string { return embedded("prepare.sql") }

// input is one shared input of prepare.sql: its name and the statements
// that materialise it.
type input struct {
	name, sql string
}

var inputRE = regexp.MustCompile(`(?m)^CREATE OR REPLACE TEMP TABLE (\w+)__prepared AS .*;\nDROP VIEW \w+;\nALTER TABLE \w+ RENAME TO \w+;\n`)

// inputs returns the shared inputs of prepare.sql in file order.
func inputs() []input {
	var out []input
	text := PrepareSQL()
	for _, m := range inputRE.FindAllStringSubmatchIndex(text, -1) {
		out = append(out, input{name: text[m[2]:m[3]], sql: text[m[0]:m[1]]})
	}
	return out
}

// Prepared is a session with the suite's shared inputs materialised once,
// for one span, by Prepare. It holds one connection of the pool; Close it.
type Prepared struct {
	conn *sql.Conn
	// Inputs are the shared inputs made tables, in the order made, and
	// InputTook how long each took.
	Inputs    []string
	InputTook []time.Duration
	// SweepTook is how long package sweep's pass over the lake took, when
	// Prepare had a lake directory; InputTook then holds, for the inputs
	// the pass made, the time to load each.
	SweepTook time.Duration
	// Took is how long the preparation took (it counts in a suite's time).
	Took time.Duration
}

// Prepare sets up a session for the span s and materialises, as temporary
// tables, the shared inputs (prepare.sql) that any of the statistics qs
// reads, so that each is computed once however many of them read it.
// Run them with Prepared.Run; their results are exactly those of Run. The
// tables hold s: prepare again for another span or breakdown.
//
// With lakeDir, the directory whose lake view the session reads
// (duck.LakeView), the person-keyed inputs (stats_firsts,
// stats_person_years, stats_ends) are computed by package sweep in one
// pass over each person's rows, several times faster than DuckDB's hash
// tables over a large lake, and loaded as the same tables; with "", every
// input is computed by its SQL, as prepare.sql does.
func Prepare(ctx context.Context, db *sql.DB, lakeDir string, s Span, qs []Query) (*Prepared, error) {
	t0 := time.Now()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	p := &Prepared{conn: conn}
	if err := setSpan(ctx, conn, s); err != nil {
		p.Close()
		return nil, err
	}
	var needed []input
	for _, in := range inputs() {
		if !slices.ContainsFunc(qs, func(q Query) bool { return strings.Contains(q.SQL, in.name) }) {
			continue
		}
		// A table of this name left on the connection would keep its
		// span; the pool's connections come from Run (views) or from a
		// Prepared, which discards its connection, so this is only a
		// safeguard. (A view of the name is left: inputs.sql keeps it.)
		if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS temp.main."+in.name); err != nil && !strings.Contains(err.Error(), "trying to drop type Table") {
			p.Close()
			return nil, fmt.Errorf("stats: prepare %s: %w", in.name, err)
		}
		needed = append(needed, in)
	}
	if _, err := conn.ExecContext(ctx, InputsSQL()); err != nil {
		p.Close()
		return nil, fmt.Errorf("stats: inputs: %w", err)
	}
	var swept []string
	for _, in := range needed {
		if lakeDir != "" && slices.Contains(sweptInputs, in.name) {
			swept = append(swept, in.name)
			continue
		}
		t := time.Now()
		if _, err := conn.ExecContext(ctx, in.sql); err != nil {
			p.Close()
			return nil, fmt.Errorf("stats: prepare %s: %w", in.name, err)
		}
		p.Inputs = append(p.Inputs, in.name)
		p.InputTook = append(p.InputTook, time.Since(t))
	}
	if len(swept) > 0 {
		if err := p.sweep(ctx, lakeDir, s, swept); err != nil {
			p.Close()
			return nil, err
		}
	}
	p.Took = time.Since(t0)
	return p, nil
}

// Run runs one statistic in the prepared session: over the shared inputs
// Prepare materialised, and over views for any it did not.
func (p *Prepared) Run(ctx context.Context, q Query) ([]string, [][]string, error) {
	if p.conn == nil {
		return nil, nil, errors.New("stats: Run on a closed Prepared")
	}
	return duck.Query(ctx, p.conn, q.SQL)
}

// Close ends the session. Its connection is closed, not returned to the
// pool, so that its tables (which hold one span) go with it and no later
// Run can read them.
func (p *Prepared) Close() error {
	if p.conn == nil {
		return nil
	}
	c := p.conn
	p.conn = nil
	// driver.ErrBadConn makes database/sql close the connection instead
	// of pooling it.
	if err := c.Raw(func(any) error { return driver.ErrBadConn }); errors.Is(err, driver.ErrBadConn) {
		return nil
	}
	return c.Close()
}

package duck

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/gallra/gallra/transforms/pseudonym"
)

// Querier is a *sql.DB, *sql.Conn or *sql.Tx: Query runs on any of them (a
// Conn where session state such as DuckDB variables must carry over).
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Query runs query with args and returns its column names and every row
// rendered as text: NULL as "", UUID in canonical 8-4-4-4-12 form, DATE as
// YYYY-MM-DD, TIMESTAMP as "YYYY-MM-DD hh:mm:ss[.ffffff]", TIMESTAMP WITH TIME
// ZONE in RFC 3339, BLOB as lowercase hex, floats in the shortest form that
// reads back exactly, anything else as fmt prints it. It holds the whole
// result in memory: it is meant for small results shown on a terminal.
func Query(ctx context.Context, db Querier, query string, args ...any) ([]string, [][]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, nil, err
	}
	dbTypes := make([]string, len(types))
	for i, t := range types {
		dbTypes[i] = t.DatabaseTypeName()
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out [][]string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = Text(dbTypes[i], v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return cols, out, nil
}

// Text renders one value scanned from DuckDB as Query does; dbType is the
// column's DuckDB type name (sql.ColumnType.DatabaseTypeName).
func Text(dbType string, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		if dbType == "UUID" && len(v) == 16 {
			return FormatUUID([16]byte(v))
		}
		return hex.EncodeToString(v)
	case [16]byte:
		return FormatUUID(v)
	case time.Time:
		switch dbType {
		case "DATE":
			return v.Format(time.DateOnly)
		case "TIME":
			return v.Format("15:04:05.999999")
		case "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE":
			return v.Format(time.RFC3339Nano)
		default:
			return v.Format("2006-01-02 15:04:05.999999")
		}
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case *big.Int:
		return v.String()
	case duckdb.Decimal:
		return formatDecimal(v)
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

// formatDecimal renders d with exactly d.Scale fractional digits, as DuckDB
// does (12.30, not 12.3).
func formatDecimal(d duckdb.Decimal) string {
	if d.Value == nil {
		return ""
	}
	digits := new(big.Int).Abs(d.Value).String()
	sign := ""
	if d.Value.Sign() < 0 {
		sign = "-"
	}
	scale := int(d.Scale)
	if scale == 0 {
		return sign + digits
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}

// FormatUUID returns u in canonical form, xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx,
// the form `gallra id pseudonym` prints.
func FormatUUID(u [16]byte) string { return pseudonym.Pseudonym(u).String() }

// PrintTable writes cols and rows to w as an aligned text table: a header, a
// rule, then one line per row. Columns whose values are all numbers (or
// empty) are right-aligned, the rest left-aligned. Control characters in
// values are shown as '?', so no value can move the cursor or change the
// terminal. Rows shorter than cols are padded with empty cells.
func PrintTable(w io.Writer, cols []string, rows [][]string) error {
	n := len(cols)
	cell := func(r []string, i int) string {
		if i < len(r) {
			return clean(r[i])
		}
		return ""
	}
	width := make([]int, n)
	numeric := make([]bool, n)
	for i, c := range cols {
		width[i] = utf8.RuneCountInString(clean(c))
		numeric[i] = true
	}
	for _, r := range rows {
		for i := range n {
			s := cell(r, i)
			width[i] = max(width[i], utf8.RuneCountInString(s))
			if s != "" && !isNumber(s) {
				numeric[i] = false
			}
		}
	}
	var b strings.Builder
	line := func(get func(i int) string, align bool) {
		for i := range n {
			s := get(i)
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
			if i > 0 {
				b.WriteString("  ")
			}
			if align && numeric[i] {
				b.WriteString(pad + s)
			} else if i < n-1 {
				b.WriteString(s + pad)
			} else {
				b.WriteString(s) // no trailing blanks
			}
		}
		b.WriteByte('\n')
	}
	line(func(i int) string { return clean(cols[i]) }, true)
	line(func(i int) string { return strings.Repeat("-", width[i]) }, false)
	for _, r := range rows {
		line(func(i int) string { return cell(r, i) }, true)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// Append adds rows to a table of the connection's session with DuckDB's
// appender (many times faster than INSERT … VALUES for thousands of rows):
// catalog "temp" and schema "main" for a temporary table. Each row holds
// a value per column, in column order, of a Go type the appender takes
// (int32, int64, bool, string, time.Time for a DATE, *big.Int for a
// UHUGEINT, nil for NULL).
func Append(ctx context.Context, conn *sql.Conn, catalog, schema, table string, rows [][]driver.Value) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("duck: append to %s: not a DuckDB connection", table)
		}
		a, err := duckdb.NewAppender(c, catalog, schema, table)
		if err != nil {
			return fmt.Errorf("duck: append to %s: %w", table, err)
		}
		for _, r := range rows {
			if err := ctx.Err(); err != nil {
				a.Close()
				return err
			}
			if err := a.AppendRow(r...); err != nil {
				a.Close()
				return fmt.Errorf("duck: append to %s: %w", table, err)
			}
		}
		if err := a.Close(); err != nil {
			return fmt.Errorf("duck: append to %s: %w", table, err)
		}
		return nil
	})
}

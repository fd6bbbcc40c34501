// Package risk measures the re-identification risk of the lake's anonymised
// tier as k-anonymity: rows that share every quasi-identifier form an
// equivalence class, and a class of k rows hides each of them among k. A
// class smaller than the threshold is a row someone who knows a person's
// measure and period (a neighbour, an employer, the person) might single
// out, even though no pseudonym is left.
//
// The quasi-identifiers are everything an anonymised row still says about a
// person: source, measure, the period at its kept granularity, and the
// attributes the policy keeps (sex, age band, municipality). The cell key
// is random and says nothing, so it is not one.
//
// Assess reads the DuckDB view "anonymised" (see duck.LakeView) and only
// reports. Package risk's Fix (fix.go) coarsens or suppresses the small
// classes by policy.
package risk

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/gallra/gallra/pipeline/duck"
)

// QuasiIdentifiers are the columns of the anonymised view that form a
// row's equivalence class, in report order.
var QuasiIdentifiers = []string{"source", "measure", "granularity", "period_start", "period_end", "sex", "age_band", "municipality"}

// Class is one equivalence class: its quasi-identifier values (as text,
// "" for null) and its size.
type Class struct {
	Values []string `json:"values"` // in QuasiIdentifiers order
	Rows   int64    `json:"rows"`
}

// Bucket counts the classes (and their rows) of a range of sizes.
type Bucket struct {
	Label   string `json:"size"`
	Classes int64  `json:"classes"`
	Rows    int64  `json:"rows"`
}

// Summary is the risk of one source's anonymised rows.
type Summary struct {
	Source       string `json:"source"`
	Rows         int64  `json:"rows"`
	Classes      int64  `json:"classes"`
	MinK         int64  `json:"min_k"`
	SmallClasses int64  `json:"small_classes"`
	RowsInSmall  int64  `json:"rows_in_small_classes"`
}

// Report is what Assess found.
type Report struct {
	K            int64     `json:"k"` // the threshold: classes under it are small
	Rows         int64     `json:"rows"`
	Classes      int64     `json:"classes"`
	MinK         int64     `json:"min_k"` // the smallest class (0 when there are no rows)
	SmallClasses int64     `json:"small_classes"`
	RowsInSmall  int64     `json:"rows_in_small_classes"`
	Sizes        []Bucket  `json:"class_sizes"`
	Sources      []Summary `json:"sources"`
	// Small lists the small classes, smallest first, at most the limit
	// Assess was given.
	Small []Class `json:"small"`
}

// OK reports whether every class has at least K rows.
func (r *Report) OK() bool { return r.SmallClasses == 0 }

// classesSQL is one row per equivalence class of the view v.
func classesSQL(v string) string {
	return `SELECT source, measure, granularity, strftime(period_start, '%Y-%m-%d') AS period_start,
       coalesce(strftime(period_end, '%Y-%m-%d'), '') AS period_end,
       coalesce(sex, '') AS sex, coalesce(age_band, '') AS age_band, coalesce(municipality, '') AS municipality,
       count(*) AS k
FROM ` + v + ` GROUP BY ALL`
}

// Assess measures k-anonymity of the view "anonymised" with threshold k,
// listing at most limit small classes (limit < 0: all).
func Assess(ctx context.Context, db *sql.DB, k int64, limit int) (*Report, error) {
	if k < 2 {
		return nil, fmt.Errorf("risk: threshold k = %d: must be at least 2", k)
	}
	classes := "(" + classesSQL("anonymised") + ")"
	rep := &Report{K: k}
	_, rows, err := duck.Query(ctx, db, `SELECT source, sum(k), count(*), min(k),
       count(*) FILTER (WHERE k < ?), coalesce(sum(k) FILTER (WHERE k < ?), 0)
FROM `+classes+` GROUP BY source ORDER BY source`, k, k)
	if err != nil {
		return nil, fmt.Errorf("risk: %w", err)
	}
	for _, r := range rows {
		var s Summary
		s.Source = r[0]
		if err := ints(r[1:], &s.Rows, &s.Classes, &s.MinK, &s.SmallClasses, &s.RowsInSmall); err != nil {
			return nil, err
		}
		rep.Sources = append(rep.Sources, s)
		rep.Rows += s.Rows
		rep.Classes += s.Classes
		rep.SmallClasses += s.SmallClasses
		rep.RowsInSmall += s.RowsInSmall
		if rep.MinK == 0 || s.MinK < rep.MinK {
			rep.MinK = s.MinK
		}
	}
	_, rows, err = duck.Query(ctx, db, `SELECT b, count(*), sum(k) FROM (
  SELECT k, CASE WHEN k < 5 THEN k::VARCHAR WHEN k < 10 THEN '5-9' WHEN k < 50 THEN '10-49' ELSE '50+' END AS b,
         CASE WHEN k < 5 THEN k WHEN k < 10 THEN 5 WHEN k < 50 THEN 10 ELSE 50 END AS o
  FROM `+classes+`) GROUP BY b, o ORDER BY o`)
	if err != nil {
		return nil, fmt.Errorf("risk: %w", err)
	}
	for _, r := range rows {
		b := Bucket{Label: r[0]}
		if err := ints(r[1:], &b.Classes, &b.Rows); err != nil {
			return nil, err
		}
		rep.Sizes = append(rep.Sizes, b)
	}
	q := `SELECT * FROM ` + classes + ` WHERE k < ? ORDER BY k, source, measure, granularity, period_start, period_end, sex, age_band, municipality`
	if limit >= 0 {
		q += " LIMIT " + strconv.Itoa(limit)
	}
	_, rows, err = duck.Query(ctx, db, q, k)
	if err != nil {
		return nil, fmt.Errorf("risk: %w", err)
	}
	for _, r := range rows {
		c := Class{Values: r[:len(QuasiIdentifiers)]}
		if err := ints(r[len(QuasiIdentifiers):], &c.Rows); err != nil {
			return nil, err
		}
		rep.Small = append(rep.Small, c)
	}
	return rep, nil
}

func ints(s []string, out ...*int64) error {
	for i, p := range out {
		n, err := strconv.ParseInt(s[i], 10, 64)
		if err != nil {
			return fmt.Errorf("risk: count %q: %w", s[i], err)
		}
		*p = n
	}
	return nil
}

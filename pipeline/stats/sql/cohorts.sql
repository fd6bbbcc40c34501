-- name: cohorts
-- title: Uppföljning av startkohorter
-- description: Persons whose first participation ever started in the year (the
--   cohort), and how many of them were in some measure (any source) on the
--   first, second and third anniversary of that first start. A figure whose
--   anniversaries are not all past the as-of date (getvariable('as_of')) is
--   left empty: it is not known yet.
--   Broken down by getvariable('breakdown'), always of the first participation
--   (as new_entrants, whose counts the cohort sizes are): measure (the
--   default), source, sex, age_band (at that first start) or municipality (the
--   last three where the policy keeps them). A tie on the first day goes to
--   the alphabetically first measure, then source.
-- params: from_year, to_year, as_of, breakdown

-- Reads the shared input stats_firsts (../inputs.sql).
WITH cohort AS (
    SELECT pseudonym, year(first_start)::INTEGER AS cohort, category,
           (first_start + to_years(1))::DATE AS ann1, (first_start + to_years(2))::DATE AS ann2,
           (first_start + to_years(3))::DATE AS ann3
    FROM stats_firsts
    WHERE year(first_start) BETWEEN getvariable('from_year') AND getvariable('to_year')
), active AS (
    -- the persons with a row that covers an anniversary
    SELECT c.pseudonym,
           bool_or(l.period_end IS NULL OR l.period_end >= c.ann1) FILTER (WHERE l.period_start <= c.ann1) AS a1,
           bool_or(l.period_end IS NULL OR l.period_end >= c.ann2) FILTER (WHERE l.period_start <= c.ann2) AS a2,
           bool_or(l.period_end IS NULL OR l.period_end >= c.ann3) FILTER (WHERE l.period_start <= c.ann3) AS a3
    FROM cohort c JOIN lake l ON l.pseudonym = c.pseudonym
    WHERE l.period_start <= c.ann3 AND (l.period_end IS NULL OR l.period_end >= c.ann1)
    GROUP BY c.pseudonym
)
SELECT cohort, category, count(*) AS cohort_size,
       CASE WHEN max(ann1) > getvariable('as_of') THEN NULL ELSE count(*) FILTER (WHERE a1) END AS active_after_1y,
       CASE WHEN max(ann2) > getvariable('as_of') THEN NULL ELSE count(*) FILTER (WHERE a2) END AS active_after_2y,
       CASE WHEN max(ann3) > getvariable('as_of') THEN NULL ELSE count(*) FILTER (WHERE a3) END AS active_after_3y
FROM cohort LEFT JOIN active USING (pseudonym)
GROUP BY ALL
ORDER BY cohort, category;

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
WITH firsts AS (
    SELECT pseudonym, min(period_start) AS first_start,
           -- a struct, so that a first row whose category is NULL (not kept) is not skipped
           arg_min(struct_pack(c := CASE coalesce(getvariable('breakdown'), 'measure')
                       WHEN 'measure' THEN measure WHEN 'source' THEN source WHEN 'sex' THEN sex
                       WHEN 'age_band' THEN age_band WHEN 'municipality' THEN municipality END),
                   (period_start, measure, source)).c AS category
    FROM lake WHERE pseudonym IS NOT NULL
    GROUP BY pseudonym
), marks AS (
    SELECT f.pseudonym, year(f.first_start)::INTEGER AS cohort, f.category, t.k,
           (f.first_start + to_years(t.k::INTEGER))::DATE AS anniversary,
           EXISTS (SELECT 1 FROM lake l
                   WHERE l.pseudonym = f.pseudonym
                     AND l.period_start <= (f.first_start + to_years(t.k::INTEGER))::DATE
                     AND (l.period_end IS NULL OR l.period_end >= (f.first_start + to_years(t.k::INTEGER))::DATE)) AS active
    FROM firsts f, range(1, 4) t(k)
    WHERE year(f.first_start) BETWEEN getvariable('from_year') AND getvariable('to_year')
), per_k AS (
    SELECT cohort, category, k, count(*) AS size,
           CASE WHEN max(anniversary) > getvariable('as_of') THEN NULL
                ELSE count(*) FILTER (WHERE active) END AS active
    FROM marks GROUP BY cohort, category, k
)
SELECT cohort, category,
       any_value(size) AS cohort_size,
       any_value(active) FILTER (WHERE k = 1) AS active_after_1y,
       any_value(active) FILTER (WHERE k = 2) AS active_after_2y,
       any_value(active) FILTER (WHERE k = 3) AS active_after_3y
FROM per_k
GROUP BY cohort, category
ORDER BY cohort, category;

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

-- Reads the shared input stats_firsts (../inputs.sql): the persons of each
-- cohort by category and whether they were active at each anniversary. The
-- latest anniversary of a cohort is that of its latest first start.
SELECT year AS cohort, category, sum(persons)::BIGINT AS cohort_size,
       CASE WHEN (max(last_first) + to_years(1))::DATE > getvariable('as_of') THEN NULL
            ELSE coalesce(sum(persons) FILTER (WHERE active_1y), 0)::BIGINT END AS active_after_1y,
       CASE WHEN (max(last_first) + to_years(2))::DATE > getvariable('as_of') THEN NULL
            ELSE coalesce(sum(persons) FILTER (WHERE active_2y), 0)::BIGINT END AS active_after_2y,
       CASE WHEN (max(last_first) + to_years(3))::DATE > getvariable('as_of') THEN NULL
            ELSE coalesce(sum(persons) FILTER (WHERE active_3y), 0)::BIGINT END AS active_after_3y
FROM stats_firsts
GROUP BY ALL
ORDER BY cohort, category;

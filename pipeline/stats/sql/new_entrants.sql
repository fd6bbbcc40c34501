-- name: new_entrants
-- title: Nya deltagare per år och första åtgärd
-- description: Persons whose first participation ever (in the lake, over all
--   sources and measures) started in the year, by the measure of that first
--   participation. A person who starts two measures on their first day counts
--   once, under the alphabetically first measure.
-- params: from_year, to_year
WITH firsts AS (
    SELECT pseudonym, min(period_start) AS first_start,
           arg_min(measure, (period_start, measure)) AS first_measure
    FROM lake WHERE pseudonym IS NOT NULL
    GROUP BY pseudonym
)
SELECT year(first_start)::INTEGER AS year, first_measure AS measure, count(*) AS new_entrants
FROM firsts
WHERE year(first_start) BETWEEN getvariable('from_year') AND getvariable('to_year')
GROUP BY ALL
ORDER BY year, measure;

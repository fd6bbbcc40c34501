-- name: new_entrants
-- title: Nya deltagare per år och första åtgärd
-- description: Persons whose first participation ever (in the lake, over all
--   sources and measures, linked rows only) started in the year, by the measure
--   of that first participation. A person who starts two measures on their
--   first day counts once, under the alphabetically first measure.
--   The last column, basis, says where the count comes from. 'pseudonymised':
--   counted now from the lake's linked rows. 'frozen': the year is in the view
--   "aggregates" (retention froze it, from the whole pseudonymised lake, on the
--   first run that anonymised or purged a row active in the year), and the
--   count is its frozen new_entrants cell, total over sources; later rows do
--   not change it. A year counted now sees only the rows still linked: a
--   person whose earlier participations are anonymised looks new.
-- params: from_year, to_year
WITH firsts AS (
    SELECT pseudonym, min(period_start) AS first_start,
           arg_min(measure, (period_start, measure)) AS first_measure
    FROM lake WHERE pseudonym IS NOT NULL
    GROUP BY pseudonym
)
SELECT year(first_start)::INTEGER AS year, first_measure AS measure, count(*) AS new_entrants,
       'pseudonymised' AS basis
FROM firsts
WHERE year(first_start) BETWEEN getvariable('from_year') AND getvariable('to_year')
  AND year(first_start) NOT IN (SELECT year FROM aggregates)
GROUP BY ALL
UNION ALL
SELECT year, measure, value AS new_entrants, 'frozen' AS basis
FROM aggregates
WHERE statistic = 'new_entrants' AND source = 'TOTAL' AND measure <> 'TOTAL' AND value > 0
  AND year BETWEEN getvariable('from_year') AND getvariable('to_year')
ORDER BY year, measure;

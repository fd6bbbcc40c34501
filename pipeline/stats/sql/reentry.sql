-- name: reentry
-- title: Återinträde inom 12 månader
-- description: Of the persons with a participation that ended in the year, how
--   many started a participation (any measure, any source) after that end and
--   within 365 days of it. A person counts once per year and measure of the
--   ended participation.
--   Broken down by getvariable('breakdown'): measure (the default), source, sex,
--   age_band or municipality (the last three where the policy keeps them).
--   The last column, basis, says where the counts come from. 'pseudonymised':
--   counted now from the lake's linked rows. 'frozen': the year is in the view
--   "aggregates" (retention froze it, from the whole pseudonymised lake, on the
--   first run that anonymised or purged a row active in the year), and the
--   counts are its frozen ended and reentries cells, total over sources by
--   measure or total over measures by source; later rows do not change them.
--   The frozen cells have no breakdown by sex, age band or municipality: for a
--   frozen year those breakdowns give one row, category TOTAL.
-- params: from_year, to_year, breakdown

-- Reads the shared inputs stats_ends and stats_categories (../inputs.sql).
SELECT e.year, c.category, sum(e.persons)::BIGINT AS ended_persons,
       coalesce(sum(e.persons) FILTER (WHERE e.reentered), 0)::BIGINT AS reentered_persons,
       'pseudonymised' AS basis
FROM stats_ends e
JOIN stats_categories c USING (slot)
WHERE e.year NOT IN (SELECT year FROM aggregates)
GROUP BY ALL
UNION ALL
SELECT e.year, CASE coalesce(getvariable('breakdown'), 'measure')
           WHEN 'measure' THEN e.measure WHEN 'source' THEN e.source ELSE 'TOTAL' END AS category,
       e.value AS ended_persons, coalesce(r.value, 0) AS reentered_persons, 'frozen' AS basis
FROM aggregates e
LEFT JOIN aggregates r
  ON r.statistic = 'reentries' AND r.year = e.year AND r.source = e.source AND r.measure = e.measure
WHERE e.statistic = 'ended' AND e.value > 0
  AND e.year BETWEEN getvariable('from_year') AND getvariable('to_year')
  AND CASE coalesce(getvariable('breakdown'), 'measure')
          WHEN 'measure' THEN e.source = 'TOTAL' AND e.measure <> 'TOTAL'
          WHEN 'source' THEN e.measure = 'TOTAL' AND e.source <> 'TOTAL'
          ELSE e.source = 'TOTAL' AND e.measure = 'TOTAL' END
ORDER BY ALL;

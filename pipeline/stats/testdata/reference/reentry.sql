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
WITH ended AS (
    SELECT l.pseudonym, CASE coalesce(getvariable('breakdown'), 'measure')
           WHEN 'measure' THEN l.measure WHEN 'source' THEN l.source WHEN 'sex' THEN l.sex
           WHEN 'age_band' THEN l.age_band WHEN 'municipality' THEN l.municipality END AS category, l.period_end
    FROM lake l
    WHERE l.pseudonym IS NOT NULL AND l.period_end IS NOT NULL
      AND year(l.period_end) BETWEEN getvariable('from_year') AND getvariable('to_year')
      AND year(l.period_end) NOT IN (SELECT year FROM aggregates)
), flagged AS (
    SELECT e.pseudonym, e.category, year(e.period_end)::INTEGER AS year,
           EXISTS (SELECT 1 FROM lake n
                   WHERE n.pseudonym = e.pseudonym
                     AND n.period_start > e.period_end
                     AND n.period_start <= e.period_end + INTERVAL 365 DAY) AS reentered
    FROM ended e
)
SELECT year, category,
       count(DISTINCT pseudonym) AS ended_persons,
       count(DISTINCT pseudonym) FILTER (WHERE reentered) AS reentered_persons,
       'pseudonymised' AS basis
FROM flagged
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

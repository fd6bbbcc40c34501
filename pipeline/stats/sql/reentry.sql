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
WITH flagged AS (
    -- each row and whether one of its person's rows (in start order) starts
    -- after its end and within 365 days of it: a frame of start days,
    -- end - start + 1 to end - start + 365 days after its own start (the
    -- lake's writer refuses an end before the start)
    SELECT pseudonym, CASE coalesce(getvariable('breakdown'), 'measure')
           WHEN 'measure' THEN measure WHEN 'source' THEN source WHEN 'sex' THEN sex
           WHEN 'age_band' THEN age_band WHEN 'municipality' THEN municipality END AS category, period_end,
           count(*) OVER (PARTITION BY pseudonym ORDER BY period_start
               RANGE BETWEEN (coalesce(period_end, period_start) - period_start + 1)::INTEGER FOLLOWING
                     AND (coalesce(period_end, period_start) - period_start + 365)::INTEGER FOLLOWING) > 0 AS reentered
    FROM lake
    WHERE pseudonym IS NOT NULL
)
SELECT year, category, count(*) AS ended_persons, count(*) FILTER (WHERE reentered) AS reentered_persons,
       'pseudonymised' AS basis
FROM (
    -- each person once per year and category of an ended row (one hash
    -- table, where two DISTINCT counts would build one each)
    SELECT year(period_end)::INTEGER AS year, category, pseudonym, bool_or(reentered) AS reentered
    FROM flagged
    WHERE period_end IS NOT NULL
      AND year(period_end) BETWEEN getvariable('from_year') AND getvariable('to_year')
      AND year(period_end) NOT IN (SELECT year FROM aggregates)
    GROUP BY ALL)
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

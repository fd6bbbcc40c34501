-- name: participants
-- title: Deltagare och deltaganden per åtgärd och år
-- description: For every year in the span and every measure: distinct persons
--   (linked rows only) and participations that were active at some time in the
--   year (started on or before 31 December, not ended before 1 January).
--   Unlinked rows count as participations, never as persons.
--   Broken down by getvariable('breakdown'): measure (the default), source, sex,
--   age_band or municipality (the last three where the policy keeps them).
--   The last column, basis, says where the persons come from. 'pseudonymised':
--   counted now from the lake's linked rows. 'frozen': the year is in the view
--   "aggregates" (retention froze it, from the whole pseudonymised lake, on the
--   first run that anonymised or purged a row active in the year), and persons
--   are its frozen participants cells, total over sources by measure or total
--   over measures by source; later rows for the year do not change them. The
--   frozen cells have no breakdown by sex, age band or municipality: for a
--   frozen year those breakdowns give one row, category TOTAL. Participations
--   need no linkage and are always counted now from the rows the lake holds:
--   the pseudonymised rows (view "lake") and the anonymised ones (view
--   "anonymised", whose dates are coarsened within their year, so the years
--   a row is active in are exact); purged rows are gone. An anonymised row
--   counts under sex, age band or municipality only where the policy's
--   keep_anonymised kept them.
-- params: from_year, to_year, breakdown
WITH years AS (
    SELECT y::INTEGER AS year, y IN (SELECT year FROM aggregates) AS frozen
    FROM range(getvariable('from_year'), getvariable('to_year') + 1) t(y)
), live AS (
    SELECT y.year, y.frozen,
           CASE WHEN y.frozen AND coalesce(getvariable('breakdown'), 'measure') NOT IN ('measure', 'source') THEN 'TOTAL'
                ELSE CASE coalesce(getvariable('breakdown'), 'measure')
                    WHEN 'measure' THEN l.measure WHEN 'source' THEN l.source WHEN 'sex' THEN l.sex
                    WHEN 'age_band' THEN l.age_band WHEN 'municipality' THEN l.municipality END END AS category,
           count(DISTINCT l.pseudonym) AS participants,
           count(*) AS participations
    FROM years y
    JOIN (SELECT pseudonym, source, measure, sex, age_band, municipality, period_start, period_end FROM lake
          UNION ALL
          SELECT NULL, source, measure, sex, age_band, municipality, period_start, period_end FROM anonymised) l
      ON l.period_start <= make_date(y.year, 12, 31)
     AND (l.period_end IS NULL OR l.period_end >= make_date(y.year, 1, 1))
    GROUP BY ALL
), frozen AS (
    SELECT a.year, CASE coalesce(getvariable('breakdown'), 'measure')
               WHEN 'measure' THEN a.measure WHEN 'source' THEN a.source ELSE 'TOTAL' END AS category,
           a.value AS participants
    FROM aggregates a
    WHERE a.statistic = 'participants' AND a.value > 0
      AND a.year BETWEEN getvariable('from_year') AND getvariable('to_year')
      AND CASE coalesce(getvariable('breakdown'), 'measure')
              WHEN 'measure' THEN a.source = 'TOTAL' AND a.measure <> 'TOTAL'
              WHEN 'source' THEN a.measure = 'TOTAL' AND a.source <> 'TOTAL'
              ELSE a.source = 'TOTAL' AND a.measure = 'TOTAL' END
)
SELECT year, category, participants, participations, 'pseudonymised' AS basis
FROM live
WHERE NOT frozen
UNION ALL
SELECT year, category, coalesce(f.participants, 0) AS participants,
       coalesce(l.participations, 0) AS participations, 'frozen' AS basis
FROM frozen f
FULL JOIN (SELECT year, category, participations FROM live WHERE frozen) l USING (year, category)
ORDER BY ALL;

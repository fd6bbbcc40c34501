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
--   keep_anonymised kept them. The span is at most 120 years (a person's
--   years are counted as the bits of one number).
-- params: from_year, to_year, breakdown

-- Reads the shared input stats_person_years (../inputs.sql).
WITH years AS (
    SELECT y::INTEGER AS year, y IN (SELECT year FROM aggregates) AS frozen
    FROM range(getvariable('from_year'), getvariable('to_year') + 1) t(y)
    WHERE CASE WHEN getvariable('to_year') - getvariable('from_year') >= 120
               THEN error('participants: a span of at most 120 years') ELSE true END
), rows AS (
    -- the years of the span each row is active in: first a, last b
    SELECT CASE coalesce(getvariable('breakdown'), 'measure')
               WHEN 'measure' THEN measure WHEN 'source' THEN source WHEN 'sex' THEN sex
               WHEN 'age_band' THEN age_band WHEN 'municipality' THEN municipality END AS category,
           greatest(year(period_start), getvariable('from_year'))::INTEGER AS a,
           least(coalesce(year(period_end), getvariable('to_year')), getvariable('to_year'))::INTEGER AS b
    FROM (SELECT pseudonym, source, measure, sex, age_band, municipality, period_start, period_end FROM lake
          UNION ALL
          SELECT NULL, source, measure, sex, age_band, municipality, period_start, period_end FROM anonymised)
    WHERE period_start <= make_date(getvariable('to_year'), 12, 31)
      AND (period_end IS NULL OR period_end >= make_date(getvariable('from_year'), 1, 1))
), participations AS (
    SELECT t.y::INTEGER AS year, category, sum(n)::BIGINT AS participations
    FROM (SELECT category, a, b, count(*) AS n FROM rows GROUP BY ALL), unnest(range(a, b + 1)) t(y)
    GROUP BY ALL
), persons AS (
    -- a person counts once in a year and category, however many rows they
    -- have there (see stats_person_years)
    SELECT year, category, sum(persons)::BIGINT AS participants
    FROM stats_person_years
    GROUP BY ALL
), live AS (
    SELECT year, y.frozen, p.category, coalesce(n.participants, 0) AS participants, p.participations
    FROM participations p JOIN years y USING (year)
    LEFT JOIN persons n ON n.year = p.year AND n.category IS NOT DISTINCT FROM p.category
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
FULL JOIN (SELECT year, CASE WHEN coalesce(getvariable('breakdown'), 'measure') NOT IN ('measure', 'source') THEN 'TOTAL'
                             ELSE category END AS category,
                  sum(participations)::BIGINT AS participations
           FROM live WHERE frozen GROUP BY ALL) l USING (year, category)
ORDER BY ALL;

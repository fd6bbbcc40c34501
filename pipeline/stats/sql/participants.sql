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

-- The shared input stats_person_years (see ../prepare.sql): a view over the lake
-- unless the suite's preparation step has made it a table already.
CREATE TEMP VIEW IF NOT EXISTS stats_person_years AS
WITH categories AS (
    -- the breakdown's categories (NULL where not kept) and a number for each
    SELECT category, (row_number() OVER (ORDER BY category))::INTEGER AS slot
    FROM (SELECT DISTINCT CASE coalesce(getvariable('breakdown'), 'measure')
                     WHEN 'measure' THEN measure WHEN 'source' THEN source WHEN 'sex' THEN sex
                     WHEN 'age_band' THEN age_band WHEN 'municipality' THEN municipality END AS category
          FROM lake WHERE pseudonym IS NOT NULL)
), rows AS NOT MATERIALIZED (
    -- the years of the span each row is active in (ya to yb) and the month
    -- ends it covers (ma to mb), as indexes from the span's first year and
    -- month; a month end counts from the month of the start to the month of
    -- the end, less that month when the end is before its last day
    SELECT l.pseudonym, c.slot,
           greatest(year(l.period_start), getvariable('from_year')) - getvariable('from_year') AS ya,
           least(coalesce(year(l.period_end), getvariable('to_year')), getvariable('to_year')) - getvariable('from_year') AS yb,
           greatest((year(l.period_start) - getvariable('from_year')) * 12 + month(l.period_start) - 1, 0) AS ma,
           least(CASE WHEN l.period_end IS NULL THEN (getvariable('to_year') - getvariable('from_year') + 1) * 12 - 1
                      ELSE (year(l.period_end) - getvariable('from_year')) * 12 + month(l.period_end) - 1
                           - CASE WHEN l.period_end = last_day(l.period_end) THEN 0 ELSE 1 END END,
                 (getvariable('to_year') - getvariable('from_year') + 1) * 12 - 1) AS mb
    FROM lake l
    JOIN categories c ON c.category IS NOT DISTINCT FROM CASE coalesce(getvariable('breakdown'), 'measure')
               WHEN 'measure' THEN l.measure WHEN 'source' THEN l.source WHEN 'sex' THEN l.sex
               WHEN 'age_band' THEN l.age_band WHEN 'municipality' THEN l.municipality END
    WHERE l.pseudonym IS NOT NULL
      AND l.period_start <= make_date(getvariable('to_year'), 12, 31)
      AND (l.period_end IS NULL OR l.period_end >= make_date(getvariable('from_year'), 1, 1))
), blocks AS (
    -- blocks of ten years (120 month ends: a month end is one bit of a
    -- HUGEINT); a row across blocks gives a row in each
    SELECT pseudonym, slot, blk,
           ((1 << (least(yb, blk * 10 + 9) - blk * 10 + 1)) - (1 << (greatest(ya, blk * 10) - blk * 10)))::INTEGER AS years,
           CASE WHEN greatest(ma, blk * 120) <= least(mb, blk * 120 + 119)
                THEN (1::HUGEINT << (least(mb, blk * 120 + 119) - blk * 120 + 1)) - (1::HUGEINT << (greatest(ma, blk * 120) - blk * 120))
                ELSE 0::HUGEINT END AS months
    FROM (SELECT pseudonym, slot, ya, yb, ma, mb, ya // 10 AS blk FROM rows
          UNION ALL
          SELECT pseudonym, slot, ya, yb, ma, mb, blk
          FROM rows, unnest(range(ya // 10 + 1, yb // 10 + 1)) t(blk)
          WHERE ya // 10 < yb // 10 AND getvariable('to_year') - getvariable('from_year') >= 10)
), persons AS (
    -- a person's years and month ends in a category, once however many rows
    -- cover them
    SELECT slot, blk, bit_or(years) AS years, bit_or(months) AS months
    FROM blocks
    GROUP BY pseudonym, slot, blk
)
-- the persons of a category active in a year, by the 12-bit mask of the
-- year's month ends they were in (0: active in the year at no month end)
SELECT c.category, (getvariable('from_year') + y)::INTEGER AS year,
       ((months >> ((y % 10) * 12)::INTEGER) & 4095)::INTEGER AS month_ends, sum(n)::BIGINT AS persons
FROM (SELECT slot, blk * 10 + unnest(range(0, 10)) AS y, years, months, n
      FROM (SELECT slot, blk, years, months, count(*) AS n FROM persons GROUP BY ALL))
JOIN categories c USING (slot)
WHERE (years >> (y % 10)::INTEGER) & 1 = 1
GROUP BY ALL;
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

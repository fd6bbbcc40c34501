-- name: stock_month_end
-- title: Deltagare i åtgärd vid månadens slut
-- description: For every month end in the span and every measure: distinct
--   persons (linked rows only) whose participation had started on or before
--   the last day of the month and had not ended before it.
--   Broken down by getvariable('breakdown'): measure (the default), source, sex,
--   age_band or municipality (the last three where the policy keeps them).
-- params: from_year, to_year, breakdown
WITH spans AS NOT MATERIALIZED (
    -- the month ends each participation covers, as indexes from the span's first month
    -- (0 = January of from_year): from the month of its start to the month of its end,
    -- less that month when the end is before its last day
    SELECT pseudonym, category,
           greatest((year(period_start) - getvariable('from_year')) * 12 + month(period_start) - 1, 0) AS a,
           least(CASE WHEN period_end IS NULL THEN (getvariable('to_year') - getvariable('from_year') + 1) * 12 - 1
                      ELSE (year(period_end) - getvariable('from_year')) * 12 + month(period_end) - 1
                           - CASE WHEN period_end = last_day(period_end) THEN 0 ELSE 1 END END,
                 (getvariable('to_year') - getvariable('from_year') + 1) * 12 - 1) AS b
    FROM (SELECT pseudonym, period_start, period_end,
                 CASE coalesce(getvariable('breakdown'), 'measure')
                     WHEN 'measure' THEN measure WHEN 'source' THEN source WHEN 'sex' THEN sex
                     WHEN 'age_band' THEN age_band WHEN 'municipality' THEN municipality END AS category
          FROM lake
          WHERE pseudonym IS NOT NULL
            AND period_start <= make_date(getvariable('to_year'), 12, 31)
            AND (period_end IS NULL OR period_end >= make_date(getvariable('from_year'), 1, 31)))
), blocks AS (
    -- blocks of 120 months, so that a month is one bit of a HUGEINT; a
    -- participation across blocks gives a row in each
    SELECT pseudonym, category, blk,
           (1::HUGEINT << (least(b, blk * 120 + 119) - blk * 120 + 1)) - (1::HUGEINT << (greatest(a, blk * 120) - blk * 120)) AS mask
    FROM (SELECT pseudonym, category, a, b, a // 120 AS blk FROM spans WHERE a <= b
          UNION ALL
          SELECT pseudonym, category, a, b, blk
          FROM spans, unnest(range(a // 120 + 1, b // 120 + 1)) t(blk)
          WHERE a <= b AND a // 120 < b // 120
            AND getvariable('to_year') - getvariable('from_year') >= 10)
), persons AS (
    -- a person's month ends in a category, once however many participations cover them
    SELECT category, blk, bit_or(mask) AS mask
    FROM blocks
    GROUP BY pseudonym, category, blk
), years AS (
    -- the persons by the 12-bit mask of each year's month ends they were in
    SELECT category, blk * 10 + y AS y, ((mask >> (y * 12)::INTEGER) & 4095)::INTEGER AS mask, count(*) AS persons
    FROM persons, unnest(range(0, 10)) t(y)
    WHERE (mask >> (y * 12)::INTEGER) & 4095 <> 0
    GROUP BY ALL
)
SELECT last_day(make_date((getvariable('from_year') + y)::INTEGER, (m + 1)::INTEGER, 1)) AS month_end,
       category, sum(persons)::BIGINT AS stock
FROM years, range(0, 12) t(m)
WHERE (mask >> m) & 1 = 1
GROUP BY ALL
ORDER BY ALL;

-- The suite's shared inputs: what several statistics need per person, each
-- defined once, here, as a temporary view over the lake for the span and
-- breakdown the variables give (see package stats). A statistic that reads
-- one names it in its header; run this file before it (gallra does), and
-- the statistic computes the input itself, through the view. To run
-- several statistics over a large lake, run prepare.sql after this file:
-- it turns each view into a table, computed once, that the statistics read
-- instead. CREATE ... IF NOT EXISTS: a table of the same name made by
-- prepare.sql stays.
--
-- stats_firsts: each linked person's first start and the category of that
-- first participation (a tie on the first day goes to the alphabetically
-- first measure, then source); new_entrants and cohorts read it.
CREATE TEMP VIEW IF NOT EXISTS stats_firsts AS
WITH ranks AS (
    -- each measure and source pair's place in alphabetical order, so that a
    -- row's order (start, measure, source) is one number: a struct as
    -- arg_min's key made the grouping twice as slow
    SELECT measure, source, row_number() OVER (ORDER BY measure, source) AS rank
    FROM (SELECT DISTINCT measure, source FROM lake WHERE pseudonym IS NOT NULL)
)
SELECT pseudonym, min(period_start) AS first_start,
       -- arg_min_null, so that a first row whose category is NULL (not kept) is not skipped
       arg_min_null(CASE coalesce(getvariable('breakdown'), 'measure')
                        WHEN 'measure' THEN l.measure WHEN 'source' THEN l.source WHEN 'sex' THEN l.sex
                        WHEN 'age_band' THEN l.age_band WHEN 'municipality' THEN l.municipality END,
                    -- days (under 2^31) above the rank (under 2^32)
                    (l.period_start - DATE '1970-01-01')::BIGINT * 4294967296 + k.rank) AS category
FROM lake l
JOIN ranks k ON k.measure IS NOT DISTINCT FROM l.measure AND k.source IS NOT DISTINCT FROM l.source
WHERE l.pseudonym IS NOT NULL
GROUP BY l.pseudonym;
-- stats_person_years: for every category and year of the span, the linked
-- persons active in the year, by the 12-bit mask of the year's month ends
-- they were in (month_ends, bit 0 = January; 0 = active in the year but at
-- no month end), each person once per category and year however many
-- rows; participants and stock_month_end read it.
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
-- (the category's name joined to the counts, not to the persons)
SELECT c.category, p.year, p.month_ends, p.persons
FROM (SELECT slot, (getvariable('from_year') + y)::INTEGER AS year,
             ((months >> ((y % 10) * 12)::INTEGER) & 4095)::INTEGER AS month_ends, sum(n)::BIGINT AS persons
      FROM (SELECT slot, blk * 10 + unnest(range(0, 10)) AS y, years, months, n
            FROM (SELECT slot, blk, years, months, count(*) AS n FROM persons GROUP BY ALL))
      WHERE (years >> (y % 10)::INTEGER) & 1 = 1
      GROUP BY ALL) p
JOIN categories c USING (slot);

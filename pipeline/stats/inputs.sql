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
-- stats_categories: the breakdown's categories among the linked rows (NULL
-- where a source's policy does not keep the column), each with a number,
-- slot, from 0 in category order; stats_person_years and stats_ends count
-- by slot, and reentry and transitions read the names back from here.
CREATE TEMP VIEW IF NOT EXISTS stats_categories AS
SELECT category, (row_number() OVER (ORDER BY category NULLS LAST))::INTEGER - 1 AS slot
FROM (SELECT DISTINCT CASE coalesce(getvariable('breakdown'), 'measure')
                 WHEN 'measure' THEN measure WHEN 'source' THEN source WHEN 'sex' THEN sex
                 WHEN 'age_band' THEN age_band WHEN 'municipality' THEN municipality END AS category
      FROM lake WHERE pseudonym IS NOT NULL);
-- stats_firsts: the linked persons whose first participation ever started
-- in a year of the span, by that year, the category of that first
-- participation (a tie on the first day goes to the alphabetically first
-- measure, then source, then category, a NULL category last) and whether
-- they were in a participation (any
-- category) on the first, second and third anniversary of its start
-- (active_1y, _2y, _3y; 29 February + 1 year is 28 February); last_first
-- is the latest first start of the persons counted (an anniversary after
-- the as-of date is not known yet). new_entrants and cohorts read it.
CREATE TEMP VIEW IF NOT EXISTS stats_firsts AS
WITH ranks AS (
    -- each measure, source and category's place in that order, so that a
    -- row's order (start, measure, source, category) is one number: a
    -- struct as arg_min's key made the grouping twice as slow
    SELECT measure, source, category, row_number() OVER (ORDER BY measure, source, category NULLS LAST) AS rank
    FROM (SELECT DISTINCT measure, source,
                 CASE coalesce(getvariable('breakdown'), 'measure')
                     WHEN 'measure' THEN measure WHEN 'source' THEN source WHEN 'sex' THEN sex
                     WHEN 'age_band' THEN age_band WHEN 'municipality' THEN municipality END AS category
          FROM lake WHERE pseudonym IS NOT NULL)
), firsts AS (
    SELECT l.pseudonym, min(l.period_start) AS first_start,
           -- arg_min_null, so that a first row whose category is NULL (not kept) is not skipped
           arg_min_null(k.category,
                        -- days (under 2^31) above the rank (under 2^32)
                        (l.period_start - DATE '1970-01-01')::BIGINT * 4294967296 + k.rank) AS category
    -- the category computed before the join (a join on the CASE expression
    -- took twice the time and three times the memory at 100M rows);
    -- measure and source are never NULL
    FROM (SELECT pseudonym, period_start, measure, source,
                 CASE coalesce(getvariable('breakdown'), 'measure')
                     WHEN 'measure' THEN measure WHEN 'source' THEN source WHEN 'sex' THEN sex
                     WHEN 'age_band' THEN age_band WHEN 'municipality' THEN municipality END AS category
          FROM lake WHERE pseudonym IS NOT NULL) l
    JOIN ranks k ON k.measure = l.measure AND k.source = l.source AND k.category IS NOT DISTINCT FROM l.category
    GROUP BY l.pseudonym
), cohort AS (
    SELECT pseudonym, first_start, category,
           (first_start + to_years(1))::DATE AS ann1, (first_start + to_years(2))::DATE AS ann2,
           (first_start + to_years(3))::DATE AS ann3
    FROM firsts
    WHERE year(first_start) BETWEEN getvariable('from_year') AND getvariable('to_year')
), active AS (
    -- the person's rows joined back once, for all three anniversaries
    SELECT c.pseudonym,
           bool_or(l.period_end IS NULL OR l.period_end >= c.ann1) FILTER (WHERE l.period_start <= c.ann1) AS a1,
           bool_or(l.period_end IS NULL OR l.period_end >= c.ann2) FILTER (WHERE l.period_start <= c.ann2) AS a2,
           bool_or(l.period_end IS NULL OR l.period_end >= c.ann3) FILTER (WHERE l.period_start <= c.ann3) AS a3
    FROM cohort c JOIN lake l ON l.pseudonym = c.pseudonym
    WHERE l.period_start <= c.ann3 AND (l.period_end IS NULL OR l.period_end >= c.ann1)
    GROUP BY c.pseudonym
)
SELECT year(c.first_start)::INTEGER AS year, c.category,
       coalesce(a.a1, false) AS active_1y, coalesce(a.a2, false) AS active_2y, coalesce(a.a3, false) AS active_3y,
       count(*) AS persons, max(c.first_start) AS last_first
FROM cohort c LEFT JOIN active a USING (pseudonym)
GROUP BY ALL;
-- stats_person_years: for every category and year of the span, the linked
-- persons active in the year, by the 12-bit mask of the year's month ends
-- they were in (month_ends, bit 0 = January; 0 = active in the year but at
-- no month end), each person once per category and year however many
-- rows; participants and stock_month_end read it.
CREATE TEMP VIEW IF NOT EXISTS stats_person_years AS
WITH rows AS NOT MATERIALIZED (
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
    JOIN stats_categories c ON c.category IS NOT DISTINCT FROM CASE coalesce(getvariable('breakdown'), 'measure')
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
JOIN stats_categories c USING (slot);
-- stats_ends: for every year of the span and category, the linked persons
-- with a participation in the category that ended in the year, each once
-- per year and category however many rows, counted by what followed such
-- an end: reentered, whether one of their participations (any category)
-- started 1 to 365 days after it (reentry); next_slots, the categories of
-- those that started 1 to getvariable('within_days') days after it (default
-- 30), a bit per stats_categories slot (transitions; at most 128 categories,
-- and NULL for a breakdown with more: transitions refuses those).
CREATE TEMP VIEW IF NOT EXISTS stats_ends AS
WITH flagged AS (
    -- each row with, from its person's rows in start order (one window:
    -- frames of start days counted from its own start, the lake's writer
    -- refuses an end before the start), whether one starts within 365
    -- days after its end and the slots of those that start within
    -- within_days days; a row without an end gets its own start instead
    SELECT l.pseudonym, c.slot, l.period_end,
           count(*) OVER (w RANGE BETWEEN (coalesce(l.period_end, l.period_start) - l.period_start + 1)::INTEGER FOLLOWING
                              AND (coalesce(l.period_end, l.period_start) - l.period_start + 365)::INTEGER FOLLOWING) > 0 AS reentered,
           bit_or(CASE WHEN (SELECT max(slot) FROM stats_categories) < 128 THEN 1::UHUGEINT << c.slot::UHUGEINT END)
               OVER (w RANGE BETWEEN (coalesce(l.period_end, l.period_start) - l.period_start + 1)::INTEGER FOLLOWING
                         AND (coalesce(l.period_end, l.period_start) - l.period_start
                              + coalesce(getvariable('within_days'), 30))::INTEGER FOLLOWING) AS next_slots
    FROM lake l
    JOIN stats_categories c ON c.category IS NOT DISTINCT FROM CASE coalesce(getvariable('breakdown'), 'measure')
               WHEN 'measure' THEN l.measure WHEN 'source' THEN l.source WHEN 'sex' THEN l.sex
               WHEN 'age_band' THEN l.age_band WHEN 'municipality' THEN l.municipality END
    WHERE l.pseudonym IS NOT NULL
    WINDOW w AS (PARTITION BY l.pseudonym ORDER BY l.period_start)
)
SELECT year, slot, reentered, next_slots, count(*) AS persons
FROM (
    -- each person once per year and category of an ended row
    SELECT pseudonym, year(period_end)::INTEGER AS year, slot, bool_or(reentered) AS reentered,
           CASE WHEN (SELECT max(slot) FROM stats_categories) < 128 THEN coalesce(bit_or(next_slots), 0) END AS next_slots
    FROM flagged
    WHERE period_end IS NOT NULL
      AND year(period_end) BETWEEN getvariable('from_year') AND getvariable('to_year')
    GROUP BY pseudonym, year, slot)
GROUP BY ALL;

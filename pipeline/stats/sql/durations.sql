-- name: durations
-- title: Åtgärdernas längd i dagar
-- description: For participations that started in the year and have ended:
--   the number of them, and the quartiles and median of their duration in
--   days, counting both the first and the last day (a one-day measure lasts
--   1 day). Ongoing participations are left out: their duration is not known.
--   Broken down by getvariable('breakdown'): measure (the default), source, sex,
--   age_band or municipality (the last three where the policy keeps them).
-- params: from_year, to_year, breakdown
WITH days AS (
    -- how many participations of a year and category lasted each number of days
    SELECT year(period_start)::INTEGER AS year, CASE coalesce(getvariable('breakdown'), 'measure')
               WHEN 'measure' THEN measure WHEN 'source' THEN source WHEN 'sex' THEN sex
               WHEN 'age_band' THEN age_band WHEN 'municipality' THEN municipality END AS category,
           period_end - period_start + 1 AS days, count(*) AS n
    FROM lake
    WHERE period_end IS NOT NULL
      AND period_start BETWEEN make_date(getvariable('from_year'), 1, 1) AND make_date(getvariable('to_year'), 12, 31)
    GROUP BY ALL
), ranked AS (
    -- each duration's rows as positions first..last (from 0) in the sorted durations of its cell
    SELECT year, category, days, sum(n) OVER w - n AS first, sum(n) OVER w - 1 AS last,
           sum(n) OVER (PARTITION BY year, category) AS ended
    FROM days
    WINDOW w AS (PARTITION BY year, category ORDER BY days)
), quartiles AS (
    -- quantile_cont's interpolation: position (ended - 1) * q, between the values at its floor and ceiling
    SELECT year, category, ended, q, (ended - 1) * q AS pos
    FROM (SELECT DISTINCT year, category, ended FROM ranked), (VALUES (0.25::DOUBLE), (0.5::DOUBLE), (0.75::DOUBLE)) t(q)
), values AS (
    SELECT q.year, q.category, q.ended, q.q,
           any_value(r.days) FILTER (WHERE floor(q.pos) BETWEEN r.first AND r.last) AS lo,
           any_value(r.days) FILTER (WHERE ceil(q.pos) BETWEEN r.first AND r.last) AS hi,
           any_value(q.pos) AS pos
    FROM quartiles q JOIN ranked r ON r.year = q.year AND r.category IS NOT DISTINCT FROM q.category
    WHERE floor(q.pos) BETWEEN r.first AND r.last OR ceil(q.pos) BETWEEN r.first AND r.last
    GROUP BY ALL
)
SELECT year, category, ended::BIGINT AS ended,
       any_value(CASE WHEN lo = hi THEN lo::DOUBLE ELSE lo + (pos - floor(pos)) * (hi - lo) END) FILTER (WHERE q = 0.25) AS q1_days,
       any_value(CASE WHEN lo = hi THEN lo::DOUBLE ELSE lo + (pos - floor(pos)) * (hi - lo) END) FILTER (WHERE q = 0.5) AS median_days,
       any_value(CASE WHEN lo = hi THEN lo::DOUBLE ELSE lo + (pos - floor(pos)) * (hi - lo) END) FILTER (WHERE q = 0.75) AS q3_days
FROM values
GROUP BY ALL
ORDER BY ALL;

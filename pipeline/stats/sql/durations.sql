-- name: durations
-- title: Åtgärdernas längd i dagar
-- description: For participations that started in the year and have ended:
--   the number of them, and the quartiles and median of their duration in
--   days, counting both the first and the last day (a one-day measure lasts
--   1 day). Ongoing participations are left out: their duration is not known.
-- params: from_year, to_year
SELECT year(period_start)::INTEGER AS year, measure,
       count(*) AS ended,
       quantile_cont(period_end - period_start + 1, 0.25) AS q1_days,
       quantile_cont(period_end - period_start + 1, 0.5) AS median_days,
       quantile_cont(period_end - period_start + 1, 0.75) AS q3_days
FROM lake
WHERE period_end IS NOT NULL
  AND year(period_start) BETWEEN getvariable('from_year') AND getvariable('to_year')
GROUP BY ALL
ORDER BY year, measure;

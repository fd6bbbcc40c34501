-- name: durations
-- title: Åtgärdernas längd i dagar
-- description: For participations that started in the year and have ended:
--   the number of them, and the quartiles and median of their duration in
--   days, counting both the first and the last day (a one-day measure lasts
--   1 day). Ongoing participations are left out: their duration is not known.
--   Broken down by getvariable('breakdown'): measure (the default), source, sex,
--   age_band or municipality (the last three where the policy keeps them).
-- params: from_year, to_year, breakdown
SELECT year(l.period_start)::INTEGER AS year, CASE coalesce(getvariable('breakdown'), 'measure')
           WHEN 'measure' THEN l.measure WHEN 'source' THEN l.source WHEN 'sex' THEN l.sex
           WHEN 'age_band' THEN l.age_band WHEN 'municipality' THEN l.municipality END AS category,
       count(*) AS ended,
       quantile_cont(l.period_end - l.period_start + 1, 0.25) AS q1_days,
       quantile_cont(l.period_end - l.period_start + 1, 0.5) AS median_days,
       quantile_cont(l.period_end - l.period_start + 1, 0.75) AS q3_days
FROM lake l
WHERE l.period_end IS NOT NULL
  AND year(l.period_start) BETWEEN getvariable('from_year') AND getvariable('to_year')
GROUP BY ALL
ORDER BY ALL;

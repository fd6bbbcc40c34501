-- name: stock_month_end
-- title: Deltagare i åtgärd vid månadens slut
-- description: For every month end in the span and every measure: distinct
--   persons (linked rows only) whose participation had started on or before
--   the last day of the month and had not ended before it.
--   Broken down by getvariable('breakdown'): measure (the default), source, sex,
--   age_band or municipality (the last three where the policy keeps them).
-- params: from_year, to_year, breakdown
WITH month_ends AS (
    SELECT last_day(make_date(y::INTEGER, m::INTEGER, 1)) AS month_end
    FROM range(getvariable('from_year'), getvariable('to_year') + 1) t(y),
         range(1, 13) u(m)
)
SELECT e.month_end, CASE coalesce(getvariable('breakdown'), 'measure')
           WHEN 'measure' THEN l.measure WHEN 'source' THEN l.source WHEN 'sex' THEN l.sex
           WHEN 'age_band' THEN l.age_band WHEN 'municipality' THEN l.municipality END AS category,
       count(DISTINCT l.pseudonym) AS stock
FROM month_ends e
JOIN lake l
  ON l.pseudonym IS NOT NULL
 AND l.period_start <= e.month_end
 AND (l.period_end IS NULL OR l.period_end >= e.month_end)
GROUP BY ALL
ORDER BY ALL;

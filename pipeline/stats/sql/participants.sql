-- name: participants
-- title: Deltagare och deltaganden per åtgärd och år
-- description: For every year in the span and every measure: distinct persons
--   (linked rows only) and participations that were active at some time in the
--   year (started on or before 31 December, not ended before 1 January).
--   Unlinked rows count as participations, never as persons.
--   Broken down by getvariable('breakdown'): measure (the default), source, sex,
--   age_band or municipality (the last three where the policy keeps them).
-- params: from_year, to_year, breakdown
WITH years AS (
    SELECT y::INTEGER AS year FROM range(getvariable('from_year'), getvariable('to_year') + 1) t(y)
)
SELECT y.year, CASE coalesce(getvariable('breakdown'), 'measure')
           WHEN 'measure' THEN l.measure WHEN 'source' THEN l.source WHEN 'sex' THEN l.sex
           WHEN 'age_band' THEN l.age_band WHEN 'municipality' THEN l.municipality END AS category,
       count(DISTINCT l.pseudonym) AS participants,
       count(*) AS participations
FROM years y
JOIN lake l
  ON l.period_start <= make_date(y.year, 12, 31)
 AND (l.period_end IS NULL OR l.period_end >= make_date(y.year, 1, 1))
GROUP BY ALL
ORDER BY ALL;

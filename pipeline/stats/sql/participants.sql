-- name: participants
-- title: Deltagare och deltaganden per åtgärd och år
-- description: For every year in the span and every measure: distinct persons
--   (linked rows only) and participations that were active at some time in the
--   year (started on or before 31 December, not ended before 1 January).
--   Unlinked rows count as participations, never as persons.
-- params: from_year, to_year
WITH years AS (
    SELECT y::INTEGER AS year FROM range(getvariable('from_year'), getvariable('to_year') + 1) t(y)
)
SELECT y.year, l.measure,
       count(DISTINCT l.pseudonym) AS participants,
       count(*) AS participations
FROM years y
JOIN lake l
  ON l.period_start <= make_date(y.year, 12, 31)
 AND (l.period_end IS NULL OR l.period_end >= make_date(y.year, 1, 1))
GROUP BY ALL
ORDER BY y.year, l.measure;

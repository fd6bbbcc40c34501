-- name: transitions
-- title: Övergångar mellan åtgärder
-- description: Persons whose participation in one measure ended in the year and
--   who started a participation in a measure (the same or another) within
--   getvariable('within_days') days after that end (default 30), by the pair
--   of measures. A person counts once per pair and year.
-- params: from_year, to_year, within_days
SELECT year(a.period_end)::INTEGER AS year, a.measure AS from_measure, b.measure AS to_measure,
       count(DISTINCT a.pseudonym) AS persons
FROM lake a
JOIN lake b
  ON b.pseudonym = a.pseudonym
 AND b.period_start > a.period_end
 AND b.period_start <= a.period_end + to_days(coalesce(getvariable('within_days'), 30)::INTEGER)
WHERE a.pseudonym IS NOT NULL AND a.period_end IS NOT NULL
  AND year(a.period_end) BETWEEN getvariable('from_year') AND getvariable('to_year')
GROUP BY ALL
ORDER BY year, from_measure, to_measure;

-- name: transitions
-- title: Övergångar mellan åtgärder
-- description: Persons whose participation ended in the year and who started
--   a participation (the same measure or another, any source) within
--   getvariable('within_days') days after that end (default 30), by the pair
--   from the ended participation's category to the started one's. A person
--   counts once per pair and year.
--   Broken down by getvariable('breakdown'): measure (the default: from one
--   measure to another), source (from one source to another), sex, age_band
--   (at each start) or municipality (the last three where the policy keeps
--   them). For sex both ends are the same person's: the pair only splits the
--   persons by sex.
-- params: from_year, to_year, within_days, breakdown
SELECT year(a.period_end)::INTEGER AS year,
       CASE coalesce(getvariable('breakdown'), 'measure')
           WHEN 'measure' THEN a.measure WHEN 'source' THEN a.source WHEN 'sex' THEN a.sex
           WHEN 'age_band' THEN a.age_band WHEN 'municipality' THEN a.municipality END AS from_category,
       CASE coalesce(getvariable('breakdown'), 'measure')
           WHEN 'measure' THEN b.measure WHEN 'source' THEN b.source WHEN 'sex' THEN b.sex
           WHEN 'age_band' THEN b.age_band WHEN 'municipality' THEN b.municipality END AS to_category,
       count(DISTINCT a.pseudonym) AS persons
FROM lake a
JOIN lake b
  ON b.pseudonym = a.pseudonym
 AND b.period_start > a.period_end
 AND b.period_start <= a.period_end + to_days(coalesce(getvariable('within_days'), 30)::INTEGER)
WHERE a.pseudonym IS NOT NULL AND a.period_end IS NOT NULL
  AND year(a.period_end) BETWEEN getvariable('from_year') AND getvariable('to_year')
GROUP BY ALL
ORDER BY year, from_category, to_category;

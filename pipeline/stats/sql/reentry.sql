-- name: reentry
-- title: Återinträde inom 12 månader
-- description: Of the persons with a participation that ended in the year, how
--   many started a participation (any measure, any source) after that end and
--   within 365 days of it. A person counts once per year and measure of the
--   ended participation.
--   Broken down by getvariable('breakdown'): measure (the default), source, sex,
--   age_band or municipality (the last three where the policy keeps them).
-- params: from_year, to_year, breakdown
WITH ended AS (
    SELECT l.pseudonym, CASE coalesce(getvariable('breakdown'), 'measure')
           WHEN 'measure' THEN l.measure WHEN 'source' THEN l.source WHEN 'sex' THEN l.sex
           WHEN 'age_band' THEN l.age_band WHEN 'municipality' THEN l.municipality END AS category, l.period_end
    FROM lake l
    WHERE l.pseudonym IS NOT NULL AND l.period_end IS NOT NULL
      AND year(l.period_end) BETWEEN getvariable('from_year') AND getvariable('to_year')
), flagged AS (
    SELECT e.pseudonym, e.category, year(e.period_end)::INTEGER AS year,
           EXISTS (SELECT 1 FROM lake n
                   WHERE n.pseudonym = e.pseudonym
                     AND n.period_start > e.period_end
                     AND n.period_start <= e.period_end + INTERVAL 365 DAY) AS reentered
    FROM ended e
)
SELECT year, category,
       count(DISTINCT pseudonym) AS ended_persons,
       count(DISTINCT pseudonym) FILTER (WHERE reentered) AS reentered_persons
FROM flagged
GROUP BY ALL
ORDER BY ALL;

-- name: reentry
-- title: Återinträde inom 12 månader
-- description: Of the persons with a participation that ended in the year, how
--   many started a participation (any measure, any source) after that end and
--   within 365 days of it. A person counts once per year and measure of the
--   ended participation.
-- params: from_year, to_year
WITH ended AS (
    SELECT pseudonym, measure, period_end
    FROM lake
    WHERE pseudonym IS NOT NULL AND period_end IS NOT NULL
      AND year(period_end) BETWEEN getvariable('from_year') AND getvariable('to_year')
), flagged AS (
    SELECT e.pseudonym, e.measure, year(e.period_end)::INTEGER AS year,
           EXISTS (SELECT 1 FROM lake n
                   WHERE n.pseudonym = e.pseudonym
                     AND n.period_start > e.period_end
                     AND n.period_start <= e.period_end + INTERVAL 365 DAY) AS reentered
    FROM ended e
)
SELECT year, measure,
       count(DISTINCT pseudonym) AS ended_persons,
       count(DISTINCT pseudonym) FILTER (WHERE reentered) AS reentered_persons
FROM flagged
GROUP BY ALL
ORDER BY year, measure;

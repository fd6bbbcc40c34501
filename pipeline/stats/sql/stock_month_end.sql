-- name: stock_month_end
-- title: Deltagare i åtgärd vid månadens slut
-- description: For every month end in the span and every measure: distinct
--   persons (linked rows only) whose participation had started on or before
--   the last day of the month and had not ended before it.
--   Broken down by getvariable('breakdown'): measure (the default), source, sex,
--   age_band or municipality (the last three where the policy keeps them).
-- params: from_year, to_year, breakdown

-- Reads the shared input stats_person_years (../inputs.sql).
SELECT last_day(make_date(year, (m + 1)::INTEGER, 1)) AS month_end, category, sum(persons)::BIGINT AS stock
FROM stats_person_years, range(0, 12) t(m)
WHERE (month_ends >> m::INTEGER) & 1 = 1
GROUP BY ALL
ORDER BY ALL;

-- name: new_entrants
-- title: Nya deltagare per år och första åtgärd
-- description: Persons whose first participation ever (in the lake, over all
--   sources and measures, linked rows only) started in the year, by the
--   category of that first participation. A person who starts two
--   participations on their first day counts once, under the alphabetically
--   first measure, then source (as the frozen aggregates count them).
--   Broken down by getvariable('breakdown'): measure (the default), source, sex,
--   age_band (at that first start) or municipality (the last three where the
--   policy keeps them), always of the first participation.
--   The last column, basis, says where the count comes from. 'pseudonymised':
--   counted now from the lake's linked rows. 'frozen': the year is in the view
--   "aggregates" (retention froze it, from the whole pseudonymised lake, on the
--   first run that anonymised or purged a row active in the year), and the
--   counts are its frozen new_entrants cells, total over sources by measure or
--   total over measures by source; later rows do not change them. The frozen
--   cells have no breakdown by sex, age band or municipality: for a frozen
--   year those breakdowns give one row, category TOTAL. A year counted now
--   sees only the rows still linked: a person whose earlier participations
--   are anonymised looks new.
-- params: from_year, to_year, breakdown

-- Reads the shared input stats_firsts (../inputs.sql).
SELECT year, category, sum(persons)::BIGINT AS new_entrants,
       'pseudonymised' AS basis
FROM stats_firsts
WHERE year NOT IN (SELECT year FROM aggregates)
GROUP BY ALL
UNION ALL
SELECT year, CASE coalesce(getvariable('breakdown'), 'measure')
           WHEN 'measure' THEN measure WHEN 'source' THEN source ELSE 'TOTAL' END AS category,
       value AS new_entrants, 'frozen' AS basis
FROM aggregates
WHERE statistic = 'new_entrants' AND value > 0
  AND year BETWEEN getvariable('from_year') AND getvariable('to_year')
  AND CASE coalesce(getvariable('breakdown'), 'measure')
          WHEN 'measure' THEN source = 'TOTAL' AND measure <> 'TOTAL'
          WHEN 'source' THEN measure = 'TOTAL' AND source <> 'TOTAL'
          ELSE source = 'TOTAL' AND measure = 'TOTAL' END
ORDER BY year, category;

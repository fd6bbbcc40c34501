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
--   persons by sex. A breakdown counts at most 128 categories: one with more
--   (municipality, in a lake of more than 127 municipalities) is refused
--   with an error.
-- params: from_year, to_year, within_days, breakdown

-- Reads the shared inputs stats_ends and stats_categories (../inputs.sql).
SELECT e.year, f.category AS from_category, t.category AS to_category, sum(e.persons)::BIGINT AS persons
FROM (SELECT * FROM stats_ends
      WHERE CASE WHEN next_slots IS NULL
                 THEN error('transitions: the breakdown by ' || coalesce(getvariable('breakdown'), 'measure')
                            || ' has more than 128 categories; transitions counts at most 128')
                 ELSE true END) e
JOIN stats_categories f ON f.slot = e.slot
-- the categories started: each whose bit is set
JOIN stats_categories t ON (e.next_slots >> t.slot::UHUGEINT) & 1 = 1
GROUP BY ALL
ORDER BY year, from_category, to_category;

-- The suite's preparation step: each shared input of inputs.sql, which
-- several statistics read, materialised once as a temporary table of the
-- same name (computed through its view, then put in the view's place), so
-- that the statistics that read it do not each hash the lake's rows by
-- person again. In the duckdb CLI: after views.sql, the SET VARIABLE lines
-- the statistics need (see package stats) and `.read inputs.sql`, `.read
-- prepare.sql`, then the statistics. The tables hold the span and
-- breakdown they were made with: to change either, drop them (DROP TABLE
-- stats_categories; DROP TABLE stats_firsts; DROP TABLE
-- stats_person_years; DROP TABLE stats_ends;) and read inputs.sql and this
-- file again.
CREATE OR REPLACE TEMP TABLE stats_categories__prepared AS SELECT * FROM stats_categories;
DROP VIEW stats_categories;
ALTER TABLE stats_categories__prepared RENAME TO stats_categories;
CREATE OR REPLACE TEMP TABLE stats_firsts__prepared AS SELECT * FROM stats_firsts;
DROP VIEW stats_firsts;
ALTER TABLE stats_firsts__prepared RENAME TO stats_firsts;
CREATE OR REPLACE TEMP TABLE stats_person_years__prepared AS SELECT * FROM stats_person_years;
DROP VIEW stats_person_years;
ALTER TABLE stats_person_years__prepared RENAME TO stats_person_years;
CREATE OR REPLACE TEMP TABLE stats_ends__prepared AS SELECT * FROM stats_ends;
DROP VIEW stats_ends;
ALTER TABLE stats_ends__prepared RENAME TO stats_ends;

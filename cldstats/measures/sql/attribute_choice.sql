-- Choosing a person's attributes: docs/methodology.md section 4, "Person attributes at D".
--
--   "(gender, ethnicity, birth month/year), each chosen on its own: among the person's
--    qualifying rows of that best-ranked setting, drop unknown values where a known value exists,
--    keep the rows with the latest Event Start Date, and if more than one distinct value is still
--    left, the attribute is unknown."
--
-- Measure 2 (people_assessed.sql) applies the same rule to the rows of a person's latest
-- assessment in the month ("ties as in section 4").
--
-- chosen_attributes(rows_table): the name of a table with the rows to choose from, one or more
-- per person and period, and columns la_code, period_end, person_id, start_date, gender,
-- gender_known, ethnicity, ethnicity_known, birth_month_start, birth_known. Returns one row per
-- (la_code, period_end, person_id) with the chosen gender, ethnicity and birth_month_start, each
-- NULL when unknown.
CREATE OR REPLACE TEMP MACRO chosen_attributes(rows_table) AS TABLE
WITH known_values AS (
    -- Where a person's known values agree (or none is known) the rule gives that value: only the
    -- attributes whose known values differ need the latest start date.
    SELECT
        la_code,
        period_end,
        person_id,
        min(gender) FILTER (WHERE gender_known) AS gender_low,
        max(gender) FILTER (WHERE gender_known) AS gender_high,
        min(ethnicity) FILTER (WHERE ethnicity_known) AS ethnicity_low,
        max(ethnicity) FILTER (WHERE ethnicity_known) AS ethnicity_high,
        min(birth_month_start) FILTER (WHERE birth_known) AS birth_low,
        max(birth_month_start) FILTER (WHERE birth_known) AS birth_high
    FROM query_table(rows_table)
    GROUP BY la_code, period_end, person_id
),
differing AS (
    -- The candidate values of each attribute whose known values differ, one row per source row.
    SELECT r.la_code, r.period_end, r.person_id, 'gender' AS attribute, CAST(r.gender AS VARCHAR) AS value,
        r.gender_known AS known, r.start_date
    FROM query_table(rows_table) AS r
    JOIN known_values AS k USING (la_code, period_end, person_id)
    WHERE k.gender_low <> k.gender_high
    UNION ALL
    SELECT r.la_code, r.period_end, r.person_id, 'ethnicity', CAST(r.ethnicity AS VARCHAR), r.ethnicity_known,
        r.start_date
    FROM query_table(rows_table) AS r
    JOIN known_values AS k USING (la_code, period_end, person_id)
    WHERE k.ethnicity_low <> k.ethnicity_high
    UNION ALL
    SELECT r.la_code, r.period_end, r.person_id, 'birth_month_start', CAST(r.birth_month_start AS VARCHAR),
        r.birth_known, r.start_date
    FROM query_table(rows_table) AS r
    JOIN known_values AS k USING (la_code, period_end, person_id)
    WHERE k.birth_low <> k.birth_high
),
ranked AS (
    -- Rank 1: the known values, and of those the rows that started last.
    SELECT
        *,
        rank() OVER (PARTITION BY la_code, period_end, person_id, attribute ORDER BY known DESC, start_date DESC)
            AS tier
    FROM differing
),
latest AS (
    -- If more than one distinct value is still left, the attribute is unknown.
    SELECT la_code, period_end, person_id, attribute,
        CASE WHEN count(DISTINCT value) = 1 THEN min(value) END AS value
    FROM ranked
    WHERE tier = 1
    GROUP BY la_code, period_end, person_id, attribute
)
SELECT
    k.la_code,
    k.period_end,
    k.person_id,
    CASE WHEN k.gender_low = k.gender_high OR k.gender_low IS NULL THEN k.gender_low
        ELSE CAST(g.value AS gender_value) END AS gender,
    CASE WHEN k.ethnicity_low = k.ethnicity_high OR k.ethnicity_low IS NULL THEN k.ethnicity_low
        ELSE CAST(e.value AS ethnicity_value) END AS ethnicity,
    CASE WHEN k.birth_low = k.birth_high OR k.birth_low IS NULL THEN k.birth_low
        ELSE CAST(b.value AS DATE) END AS birth_month_start
FROM known_values AS k
LEFT JOIN latest AS g
    ON g.attribute = 'gender' AND g.la_code = k.la_code AND g.period_end = k.period_end AND g.person_id = k.person_id
LEFT JOIN latest AS e
    ON e.attribute = 'ethnicity' AND e.la_code = k.la_code AND e.period_end = k.period_end
    AND e.person_id = k.person_id
LEFT JOIN latest AS b
    ON b.attribute = 'birth_month_start' AND b.la_code = k.la_code AND b.period_end = k.period_end
    AND b.person_id = k.person_id;

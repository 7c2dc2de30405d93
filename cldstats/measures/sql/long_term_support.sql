-- Measure 1, people receiving long-term support at the end of the month: docs/methodology.md
-- section 4.
--
--   "For each LA and month end D in the release, from the LA's selected file: distinct person IDs
--    with at least one row where Client Type = Service user, Event Type = Service, Service Type is
--    one of the four long-term types, Event Start Date <= D, and the death-adjusted end date blank
--    or >= D (so a person who dies on D counts)."
--   "One setting per person: the best-ranked setting among the person's qualifying rows."
--   "Person attributes at D (gender, ethnicity, birth month/year), each chosen on its own"
--    (attribute_choice.sql).
--   "Adults only: after choosing, a person whose age at D is known and under 18 is not counted."
--
-- Reads   measure_rows (derived_fields.sql), available_periods (selection.sql), release_settings,
--         breakdown_values, method_parameters; the macros age_at, chosen_attributes and
--         breakdown_counts.
-- Writes  long_term_support_council: la_code, period (the month end), support_setting,
--         breakdown, breakdown_value, value, for every council with a selected submission and
--         every month end available to it, zeros included.

-- The qualifying rows, each with the number of qualifying rows its person has in the file.
CREATE OR REPLACE TEMP TABLE lts_rows AS
SELECT
    la_code,
    person_id,
    support_setting,
    setting_rank,
    start_date,
    adjusted_end,
    gender,
    gender_known,
    ethnicity,
    ethnicity_known,
    birth_month_start,
    count(*) OVER (PARTITION BY la_code, person_id) AS rows_of_person
FROM measure_rows
WHERE exclusion_reason IS NULL
    AND Client_Type = 'Service user'
    AND Event_Type = 'Service'
    AND setting_rank IS NOT NULL;

-- Each qualifying row at every month end it covers: started on or before D, death-adjusted end
-- blank or on or after D.
CREATE OR REPLACE TEMP VIEW lts_row_month_ends AS
SELECT r.*, m.period_end AS month_end
FROM lts_rows AS r
JOIN available_periods AS m
    ON m.la_code = r.la_code
    AND m.measure = 'long_term_support'
    AND r.start_date <= m.period_end
    AND (r.adjusted_end IS NULL OR r.adjusted_end >= m.period_end);

-- A person with several qualifying rows: at each month end, the rows of the best-ranked setting
-- (a birth month is known where it gives a known age at D).
CREATE OR REPLACE TEMP TABLE lts_several_rows AS
SELECT * FROM lts_row_month_ends WHERE rows_of_person > 1;

CREATE OR REPLACE TEMP TABLE lts_best_setting_rows AS
WITH best AS (
    SELECT la_code, month_end, person_id, min(setting_rank) AS setting_rank
    FROM lts_several_rows
    GROUP BY la_code, month_end, person_id
)
SELECT
    r.la_code,
    r.month_end AS period_end,
    r.person_id,
    r.support_setting,
    r.start_date,
    r.gender,
    r.gender_known,
    r.ethnicity,
    r.ethnicity_known,
    r.birth_month_start,
    age_at(r.birth_month_start, r.month_end) IS NOT NULL AS birth_known
FROM lts_several_rows AS r
SEMI JOIN best USING (la_code, month_end, person_id, setting_rank);

CREATE OR REPLACE TEMP VIEW lts_people AS
WITH several AS (
    SELECT DISTINCT la_code, period_end, person_id, support_setting FROM lts_best_setting_rows
),
people AS (
    -- A person with one qualifying row needs no choosing: that row's setting and values, unknown
    -- where unknown (what the rule gives for one row), at each month end it covers.
    SELECT
        la_code,
        month_end AS period_end,
        support_setting,
        age_at(birth_month_start, month_end) AS age,
        CASE WHEN gender_known THEN gender END AS gender,
        CASE WHEN ethnicity_known THEN ethnicity END AS ethnicity
    FROM lts_row_month_ends
    WHERE rows_of_person = 1
    UNION ALL
    SELECT
        several.la_code,
        several.period_end,
        several.support_setting,
        age_at(chosen.birth_month_start, several.period_end),
        chosen.gender,
        chosen.ethnicity
    FROM several
    JOIN chosen_attributes('lts_best_setting_rows') AS chosen USING (la_code, period_end, person_id)
)
SELECT people.*
FROM people
CROSS JOIN method_parameters AS p
WHERE people.age IS NULL OR people.age >= p.adult_age;

CREATE OR REPLACE TEMP TABLE long_term_support_council AS
SELECT
    m.la_code,
    m.period,
    setting.support_setting,
    b.breakdown,
    b.breakdown_value,
    coalesce(counted.value, 0) AS value
FROM available_periods AS m
CROSS JOIN release_settings AS setting
CROSS JOIN breakdown_values AS b
LEFT JOIN breakdown_counts('lts_people') AS counted
    ON counted.la_code = m.la_code
    AND counted.period_end = m.period_end
    AND counted.support_setting = setting.support_setting
    AND counted.breakdown = b.breakdown
    AND counted.breakdown_value = b.breakdown_value
WHERE m.measure = 'long_term_support';

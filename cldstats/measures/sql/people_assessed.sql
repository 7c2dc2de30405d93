-- Measure 2, people assessed: docs/methodology.md section 5.
--
--   "For each LA and calendar month in the release: distinct person IDs with a row where Client
--    Type = Service user, Event Type = Assessment, Assessment Type as submitted (trimmed, any case,
--    Release 1 or 2 spelling) does not begin Financial Assessment, Event End Date falls in the
--    month, and the person had no long-term support in the previous 12 months: no Service user row
--    of a long-term service type for that person in the same file with Event Start Date before the
--    assessment's start and death-adjusted end date blank or on/after (assessment start - 365
--    days)."
--   "Adults only: rows where the person is under 18 at the assessment end date are dropped first;
--    a person assessed twice in one month counts once, with age and attributes taken from the
--    latest qualifying assessment (ties as in section 4)."
--   "... and a Total that sums the months."
--
-- Reads   measure_rows (derived_fields.sql), available_periods, breakdown_values,
--         method_parameters; the macros age_at, chosen_attributes and breakdown_counts.
-- Writes  people_assessed_council: la_code, period (YYYY-MM, or the total's label),
--         breakdown, breakdown_value, value, for every council with a selected submission, every
--         month available to it and the total, zeros included.

CREATE OR REPLACE TEMP TABLE assessed_rows AS
WITH assessments AS (
    SELECT d.*, m.period_end
    FROM measure_rows AS d
    JOIN available_periods AS m
        ON m.la_code = d.la_code AND d.end_date BETWEEN m.period_start AND m.period_end
    WHERE d.exclusion_reason IS NULL
        AND d.Client_Type = 'Service user'
        AND d.Event_Type = 'Assessment'
        AND NOT d.is_financial_assessment
        AND m.measure = 'people_assessed'
),
adult_assessments AS (
    -- Rows of people under the adult age at the assessment end date are dropped first (an unknown
    -- age is kept).
    SELECT a.*
    FROM assessments AS a
    CROSS JOIN method_parameters AS p
    WHERE age_at(a.birth_month_start, a.end_date) IS NULL OR age_at(a.birth_month_start, a.end_date) >= p.adult_age
),
prior_long_term_support AS (
    SELECT DISTINCT d.la_code, d.person_id, d.start_date, d.adjusted_end
    FROM measure_rows AS d
    WHERE d.exclusion_reason IS NULL AND d.Client_Type = 'Service user' AND d.setting_rank IS NOT NULL
)
SELECT a.*
FROM adult_assessments AS a
CROSS JOIN method_parameters AS p
WHERE NOT EXISTS (
    SELECT 1
    FROM prior_long_term_support AS s
    WHERE s.la_code = a.la_code
        AND s.person_id = a.person_id
        AND s.start_date < a.start_date
        AND (s.adjusted_end IS NULL OR s.adjusted_end >= a.start_date - p.look_back_days)
);

-- A person assessed twice in a month counts once, from the latest assessment (by end date); a
-- birth month is known where it gives a known age at that end date.
CREATE OR REPLACE TEMP TABLE assessed_latest_rows AS
SELECT
    la_code,
    period_end,
    person_id,
    start_date,
    end_date,
    gender,
    gender_known,
    ethnicity,
    ethnicity_known,
    birth_month_start,
    age_at(birth_month_start, end_date) IS NOT NULL AS birth_known
FROM assessed_rows
QUALIFY end_date = max(end_date) OVER (PARTITION BY la_code, period_end, person_id);

CREATE OR REPLACE TEMP VIEW assessed_people AS
SELECT
    chosen.la_code,
    chosen.period_end,
    CAST(NULL AS support_setting_value) AS support_setting,
    age_at(chosen.birth_month_start, latest.end_date) AS age,
    chosen.gender,
    chosen.ethnicity
FROM chosen_attributes('assessed_latest_rows') AS chosen
JOIN (SELECT DISTINCT la_code, period_end, person_id, end_date FROM assessed_latest_rows) AS latest
    USING (la_code, period_end, person_id);

CREATE OR REPLACE TEMP TABLE people_assessed_council AS
WITH monthly AS (
    SELECT m.la_code, m.period, b.breakdown, b.breakdown_value, coalesce(counted.value, 0) AS value
    FROM available_periods AS m
    CROSS JOIN breakdown_values AS b
    CROSS JOIN method_parameters AS p
    LEFT JOIN breakdown_counts('assessed_people') AS counted
        ON counted.la_code = m.la_code
        AND counted.period_end = m.period_end
        -- People assessed have no setting: the all-settings counts.
        AND counted.support_setting = p.all_settings_label
        AND counted.breakdown = b.breakdown
        AND counted.breakdown_value = b.breakdown_value
    WHERE m.measure = 'people_assessed'
)
SELECT la_code, period, breakdown, breakdown_value, value FROM monthly
UNION ALL
-- The total sums the council's available months: a person assessed in two months counts twice.
SELECT la_code, p.total_label, breakdown, breakdown_value, sum(value)
FROM monthly
CROSS JOIN method_parameters AS p
GROUP BY la_code, p.total_label, breakdown, breakdown_value;

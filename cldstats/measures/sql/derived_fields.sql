-- Derived fields: docs/methodology.md section 3, "Reading values and derived fields".
--
--   "A row whose Event Start Date is blank or invalid, whose Event End Date is non-blank and
--    invalid, or whose end is before its start cannot be placed in time: it is excluded from the
--    measures and counted with its reason."
--   "Support setting from Service Type, ranked ... Only these four service types are long-term
--    support."
--   "Date of death: an event whose end date is blank or later than the date of death ends on the
--    date of death."
--
-- Reads   person_rows (one row per record of each selected submission, with its person ID:
--         person_ids.sql), long_term_services, method_parameters.
-- Writes  derived_rows (a view) and measure_rows (the rows either measure can count, a table): the
--         rows with exclusion_reason (NULL for a usable row),
--         support_setting and setting_rank (NULL when not a long-term service type),
--         adjusted_end (the death-adjusted end, NULL when open), birth_month_start,
--         gender/ethnicity (as the ENUM types of their code lists) and whether each is known,
--         and is_financial_assessment;

-- Every row, with its derived fields (a view: a step reading a few of them computes only those).
CREATE OR REPLACE TEMP VIEW derived_rows AS
SELECT
    r.la_code,
    r.row_number,
    r.person_id,
    -- Code values as the ENUM types of their code lists: compared and grouped as small integers.
    CAST(r.Client_Type AS client_type_value) AS Client_Type,
    CAST(r.Event_Type AS event_type_value) AS Event_Type,
    -- Rows that cannot be used, under the first reason that applies (the order is the precedence).
    CASE
        WHEN r.Client_Type = 'Unpaid carer known by association' THEN 'Unpaid carer known by association (no event)'
        WHEN r.person_id IS NULL AND r.person_id_source <> 'ambiguous' THEN 'no person ID'
        WHEN r.person_id_source = 'ambiguous' THEN 'ambiguous person ID'
        WHEN r.Event_Start_Date IS NULL THEN 'Event Start Date blank or invalid'
        WHEN r.Event_End_Date IS NULL AND r.Event_End_Date_status >= p.first_invalid_status
            THEN 'Event End Date invalid'
        WHEN r.Event_End_Date < r.Event_Start_Date THEN 'Event End Date before Event Start Date'
    END AS exclusion_reason,
    service.support_setting,
    service.setting_rank,
    r.Event_Start_Date AS start_date,
    r.Event_End_Date AS end_date,
    -- The death-adjusted end: the date of death where the end is blank or later than it.
    CASE
        WHEN r.Date_of_Death IS NOT NULL AND (r.Event_End_Date IS NULL OR r.Event_End_Date > r.Date_of_Death)
            THEN r.Date_of_Death
        ELSE r.Event_End_Date
    END AS adjusted_end,
    CASE WHEN r.birth_month BETWEEN 1 AND 12 THEN make_date(r.birth_year, r.birth_month, 1) END AS birth_month_start,
    -- For choosing between rows, blank, invalid and the code list's "not known" value are unknown.
    CAST(r.Gender AS gender_value) AS gender,
    coalesce(r.Gender <> p.gender_not_known, FALSE) AS gender_known,
    CAST(r.Ethnicity AS ethnicity_value) AS ethnicity,
    coalesce(r.Ethnicity <> p.ethnicity_not_known, FALSE) AS ethnicity_known,
    -- The submitted Assessment Type, trimmed and in any case, begins "Financial Assessment"
    -- (whether or not the value is in the code list).
    coalesce(starts_with(lower(trim(r.Assessment_Type_submitted)), lower(p.financial_assessment_prefix)), FALSE)
        AS is_financial_assessment
FROM person_rows AS r
CROSS JOIN method_parameters AS p
LEFT JOIN long_term_services AS service ON service.service_type = CAST(r.Service_Type AS service_type_value);

-- The rows either measure can count: usable Service user rows of a long-term service type (measure
-- 1 and measure 2's look-back) or of an assessment (measure 2).
CREATE OR REPLACE TEMP TABLE measure_rows AS
SELECT *
FROM derived_rows
WHERE exclusion_reason IS NULL
    AND Client_Type = 'Service user'
    AND (setting_rank IS NOT NULL OR Event_Type = 'Assessment');

-- Reporting periods, stated and derived: docs/methodology.md section 2, "Reporting period".
--
--   "The derived period of a file is worked out from its events, as DHSC does: the events whose
--    Event End Date falls before the month the file was submitted in are counted per calendar
--    month; a month holding under 2% of those events, or fewer event types than the file's
--    busiest month less one, is dropped; the period runs from the first day of the first month
--    left to the last day of the last. A file with fewer than 100 such events keeps its stated
--    period."
--
-- Computed over the stored records of every submission in the catalogue, whichever period the
-- run uses, so that the QA report shows both for every file.
--
-- Reads   catalogue (file, la_code, submitted_at, period_start, period_end, records_path),
--         catalogue_records (records_path, Event_End_Date, Event_Type of every stored record),
--         method_parameters (reporting_period, derived_min_events, derived_min_percent,
--         derived_type_slack).
-- Writes  reporting_periods: la_code, file, stated_start, stated_end, events, event_types,
--         derived_start, derived_end, derived_rule, used, period_start, period_end (the period the
--         selection uses).

CREATE OR REPLACE TEMP TABLE reporting_periods AS
WITH stored AS (
    -- One row per stored submission (two catalogue rows never share records, but be sure).
    SELECT DISTINCT records_path, submitted_at FROM catalogue WHERE records_path IS NOT NULL
),
months AS (
    SELECT
        r.records_path,
        date_trunc('month', r.Event_End_Date) AS month,
        count(*) AS events,
        count(DISTINCT r.Event_Type) AS event_types
    FROM catalogue_records AS r
    JOIN stored AS s ON s.records_path = r.records_path
    -- Events ending in or after the month of submission are not yet over: not counted.
    WHERE r.Event_End_Date < date_trunc('month', s.submitted_at)
    GROUP BY r.records_path, date_trunc('month', r.Event_End_Date)
),
files AS (
    SELECT records_path, CAST(sum(events) AS BIGINT) AS events, max(event_types) AS event_types
    FROM months
    GROUP BY records_path
),
kept AS (
    SELECT m.records_path, min(m.month) AS first_month, last_day(max(m.month)) AS last_month_end
    FROM months AS m
    JOIN files AS f ON f.records_path = m.records_path
    CROSS JOIN method_parameters AS p
    WHERE 100 * m.events >= p.derived_min_percent * f.events
      AND m.event_types >= f.event_types - p.derived_type_slack
    GROUP BY m.records_path
),
derived AS (
    SELECT
        c.la_code,
        c.file,
        c.period_start AS stated_start,
        c.period_end AS stated_end,
        coalesce(f.events, 0) AS events,
        coalesce(f.event_types, 0) AS event_types,
        coalesce(f.events, 0) < p.derived_min_events AS too_few,
        k.first_month,
        k.last_month_end,
        p.reporting_period AS used
    FROM catalogue AS c
    CROSS JOIN method_parameters AS p
    LEFT JOIN files AS f ON f.records_path = c.records_path
    LEFT JOIN kept AS k ON k.records_path = c.records_path
)
SELECT
    la_code,
    file,
    stated_start,
    stated_end,
    events,
    event_types,
    CASE WHEN too_few THEN stated_start ELSE CAST(first_month AS DATE) END AS derived_start,
    CASE WHEN too_few THEN stated_end ELSE CAST(last_month_end AS DATE) END AS derived_end,
    CASE
        WHEN too_few THEN 'stated: too few events'
        WHEN first_month IS NULL THEN 'none: no month passes'
        ELSE 'from events'
    END AS derived_rule,
    used,
    CASE WHEN used = 'derived' THEN (CASE WHEN too_few THEN stated_start ELSE CAST(first_month AS DATE) END)
         ELSE stated_start END AS period_start,
    CASE WHEN used = 'derived' THEN (CASE WHEN too_few THEN stated_end ELSE CAST(last_month_end AS DATE) END)
         ELSE stated_end END AS period_end
FROM derived;

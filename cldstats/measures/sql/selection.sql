-- Submission selection: docs/methodology.md section 2.
--
--   "Candidate files of an LA: submission date after E and on or before the cut-off date, with
--    Reporting Period End Date >= E, and not rejected by the quality gate."
--   "The selected file is the candidate with the latest submission time. All months of the
--    release come from that one file. A month end before the file's Reporting Period Start Date
--    is unavailable for that LA ([x])."
--
-- Reads   catalogue (one row per submission of the month's window: la_code, file, submitted_at,
--         period_start, period_end, outcome), release_periods (the periods of both measures),
--         method_parameters (month_end, cutoff).
-- Writes  selection: the catalogue with candidate and selected; available_periods: the periods
--         each selected submission covers (la_code, measure, period, period_start, period_end).

CREATE OR REPLACE TEMP TABLE selection AS
WITH candidates AS (
    SELECT
        c.*,
        coalesce(
            CAST(c.submitted_at AS DATE) > p.month_end
            AND CAST(c.submitted_at AS DATE) <= p.cutoff
            AND c.period_end >= p.month_end
            AND NOT starts_with(lower(trim(c.outcome)), 'rejected'),
            FALSE
        ) AS candidate
    FROM catalogue AS c
    CROSS JOIN method_parameters AS p
)
SELECT
    *,
    -- The latest submission time wins; two with the same time: the file name sorting last.
    candidate AND row_number() OVER (
        PARTITION BY la_code, candidate ORDER BY submitted_at DESC, file DESC
    ) = 1 AS selected
FROM candidates;

CREATE OR REPLACE TEMP TABLE available_periods AS
SELECT CAST(s.la_code AS council_code) AS la_code, s.file, r.measure, r.period, r.period_start, r.period_end
FROM selection AS s
JOIN release_periods AS r ON s.period_start IS NULL OR r.period_end >= s.period_start
WHERE s.selected;

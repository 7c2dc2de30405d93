-- Submission selection: docs/methodology.md section 2.
--
--   "Candidate files of an LA: submission date after E and on or before the cut-off
--    (params: selection.as_of; DHSC calls it the as-of date ...), with a reporting period end
--    (below) >= E, not excluded by hand, and not rejected by the quality gate."
--   "The selected file is the candidate with the latest submission time. ... All months of the
--    release come from that one file. A month end (or month) before the start of the file's
--    reporting period is unavailable for that LA ([x]), and so is a month after its end (only a
--    file included by hand can end before E)."
--   "An included file is the council's selected file whatever its submission date (after the
--    cut-off, or before E) and its reporting period, and whatever later files exist."
--
-- The reporting period is the stated or the derived one (params: selection.reporting_period),
-- as reporting_periods.sql wrote it.
--
-- Reads   catalogue (one row per submission of the month's window: la_code, file, submitted_at,
--         period_start, period_end, outcome, hand, hand_reason), reporting_periods, release_periods
--         (the periods of both measures), method_parameters (month_end, as_of).
-- Writes  selection: the catalogue with the period used (used_start, used_end), candidate and
--         selected; available_periods: the periods each selected submission covers (la_code,
--         measure, period, period_start, period_end).

CREATE OR REPLACE TEMP TABLE selection AS
WITH candidates AS (
    SELECT
        c.*,
        r.period_start AS used_start,
        r.period_end AS used_end,
        coalesce(
            NOT starts_with(lower(trim(c.outcome)), 'rejected')
            AND (
                c.hand = 'include'
                OR (CAST(c.submitted_at AS DATE) > p.month_end
                    AND CAST(c.submitted_at AS DATE) <= p.as_of
                    AND r.period_end >= p.month_end
                    AND c.hand IS DISTINCT FROM 'exclude')
            ),
            FALSE
        ) AS candidate
    FROM catalogue AS c
    CROSS JOIN method_parameters AS p
    LEFT JOIN reporting_periods AS r ON r.file = c.file
)
SELECT
    *,
    -- A file included by hand first; then the latest submission time; two with the same time:
    -- the file name sorting last.
    candidate AND row_number() OVER (
        PARTITION BY la_code, candidate ORDER BY hand IS NOT DISTINCT FROM 'include' DESC, submitted_at DESC,
            file DESC
    ) = 1 AS selected
FROM candidates;

CREATE OR REPLACE TEMP TABLE available_periods AS
SELECT CAST(s.la_code AS council_code) AS la_code, s.file, r.measure, r.period, r.period_start, r.period_end
FROM selection AS s
JOIN release_periods AS r
    ON (s.used_start IS NULL OR r.period_end >= s.used_start)
    -- Only a file included by hand can end before the month end (a candidate's period reaches it).
    AND (s.used_end IS NULL OR r.period_start <= s.used_end)
WHERE s.selected;

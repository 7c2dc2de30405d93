-- Age at a date: docs/methodology.md section 3.
--
--   "Age at date D: floor((D - first day of birth month) in days / 365.25)."
--   "... a blank, invalid or future date of birth, or one giving an age over 115 at the month end,
--    is unknown."
--
-- Reads   the DuckDB variables days_per_year and max_age (bound from params method.days_per_year
--         and method.max_age). Writes the macro age_at(birth_month_start, at_date), used by both
--         measures: NULL (unknown) when the birth month is unknown, starts after the date, or
--         gives an age over the maximum.

CREATE OR REPLACE TEMP MACRO age_at(birth_month_start, at_date) AS
    CASE
        WHEN at_date < birth_month_start THEN NULL
        WHEN floor(date_diff('day', birth_month_start, at_date) / getvariable('days_per_year')) > getvariable('max_age')
            THEN NULL
        ELSE CAST(floor(date_diff('day', birth_month_start, at_date) / getvariable('days_per_year')) AS INTEGER)
    END;


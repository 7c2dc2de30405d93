-- Row accounting: docs/methodology.md section 6, "Nothing is silently lost: for every submission,
-- rows read = rows used + rows excluded, with the reason for each exclusion".
--
-- Counted from the rows the measures read (derived_rows), not by subtraction, so that the check
-- rows read (ingest) = rows used + rows excluded (here) can fail.
--
-- Reads   derived_rows, selection. Writes row_accounting: la_code, file, rows_used, rows_excluded; and
--         exclusions: la_code, file, reason, rows (reasons with rows only).

CREATE OR REPLACE TEMP TABLE row_accounting AS
SELECT
    s.la_code,
    s.file,
    count(d.la_code) FILTER (WHERE d.exclusion_reason IS NULL) AS rows_used,
    count(d.la_code) FILTER (WHERE d.exclusion_reason IS NOT NULL) AS rows_excluded
FROM selection AS s
LEFT JOIN derived_rows AS d ON d.la_code = s.la_code
WHERE s.selected
GROUP BY s.la_code, s.file;

CREATE OR REPLACE TEMP TABLE exclusions AS
SELECT s.la_code, s.file, d.exclusion_reason AS reason, count(*) AS rows
FROM derived_rows AS d
JOIN selection AS s ON s.selected AND s.la_code = d.la_code
WHERE d.exclusion_reason IS NOT NULL
GROUP BY s.la_code, s.file, d.exclusion_reason;

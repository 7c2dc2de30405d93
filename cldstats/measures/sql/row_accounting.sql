-- Row accounting, per release: docs/methodology.md section 6, "Nothing is silently lost: for
-- every submission, rows read = rows used + rows excluded, with the reason for each exclusion".
--
-- Both counts are of the stored records the SQL read (row_reasons.sql): rows_used those without an
-- exclusion reason. The pipeline checks rows read (ingest) = rows used + rows excluded for every file
-- before anything is written (cldstats.pipeline.accounting.check_row_accounting).
--
-- Reads   selection, selected_row_reasons (row_reasons.sql, kept with each selected submission).
-- Writes  row_accounting: la_code, file, rows_used, rows_excluded per selected submission; and
--         exclusions: la_code, file, reason, rows (reasons with rows only).

CREATE OR REPLACE TEMP TABLE row_accounting AS
SELECT
    s.la_code,
    s.file,
    coalesce(sum(r.rows) FILTER (WHERE r.reason IS NULL), 0) AS rows_used,
    coalesce(sum(r.rows) FILTER (WHERE r.reason IS NOT NULL), 0) AS rows_excluded
FROM selection AS s
LEFT JOIN selected_row_reasons AS r ON r.la_code = s.la_code
WHERE s.selected
GROUP BY s.la_code, s.file;

CREATE OR REPLACE TEMP TABLE exclusions AS
SELECT s.la_code, s.file, r.reason, sum(r.rows) AS rows
FROM selected_row_reasons AS r
JOIN selection AS s ON s.selected AND s.la_code = r.la_code
WHERE r.reason IS NOT NULL
GROUP BY s.la_code, s.file, r.reason;

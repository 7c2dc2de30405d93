-- Row accounting, per submission: docs/methodology.md section 6, "Nothing is silently lost: for
-- every submission, rows read = rows used + rows excluded, with the reason for each exclusion".
--
-- Counted from the rows the SQL read (derived_rows), not by subtraction, so that the check rows
-- read (ingest) = rows used + rows excluded can fail. Kept beside each stored submission with its
-- measure rows (cldstats.measures.engine.derive_submissions).
--
-- Reads   derived_rows. Writes row_reasons: la_code, reason (NULL for rows used), rows.

CREATE OR REPLACE TEMP TABLE row_reasons AS
SELECT la_code, exclusion_reason AS reason, count(*) AS rows
FROM derived_rows
GROUP BY la_code, exclusion_reason;

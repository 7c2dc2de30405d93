-- Person ID: docs/methodology.md section 3, "Person ID".
--
--   "1. a row with a valid NHS number (10 digits, modulus-11 check digit) takes hash("NHS:" + number);
--    2. a row without one, whose LA Person Unique Identifier appears on rows of the same file with
--       exactly one valid NHS number, takes that NHS number's ID; with two or more, the row is
--       ambiguous and excluded;
--    3. otherwise hash("LA:" + LA code + ":" + LA Person Unique Identifier);
--    4. a row with neither is excluded."
--
-- Ingest computes the two keyed hashes (clear identifiers never leave it), as 64-bit integers
-- (the first 8 bytes of the HMAC; two people of one file share one with a chance of about 1 in
-- 10^9): nhs_number_key, hash("NHS:" + number) of a valid NHS number, and la_person_key,
-- hash("LA:" + LA code + ":" + identifier). This step applies the precedence between them.
-- A submission of the national extract (docs/methodology.md section 1, "The national extract")
-- arrives with nhs_number_key already chosen from its pseudonyms by params
-- extract.person_id_precedence, and an la_person_key only on rows without one: rule 2 never
-- applies to it, rule 3 is its LA ID fallback.
--
-- Reads   submitted_rows (the stored records of each council's selected submission, with la_code).
-- Writes  person_rows: the same rows with person_id (NULL for rules 2-ambiguous and 4) and
--         person_id_source ('NHS number', 'NHS number via LA ID', 'LA ID', 'ambiguous', 'none').

CREATE OR REPLACE TEMP VIEW person_rows AS
WITH nhs_numbers_of_la_person AS (
    -- The distinct valid NHS numbers each LA person ID appears with in its file, for the LA person
    -- IDs that also appear on a row without one (the only rows rule 2 applies to).
    SELECT
        r.la_code,
        r.la_person_key,
        count(DISTINCT r.nhs_number_key) AS nhs_numbers,
        min(r.nhs_number_key) AS nhs_number_key
    FROM submitted_rows AS r
    SEMI JOIN (
        SELECT la_code, la_person_key FROM submitted_rows WHERE nhs_number_key IS NULL AND la_person_key IS NOT NULL
    ) AS without_nhs USING (la_code, la_person_key)
    WHERE r.nhs_number_key IS NOT NULL
    GROUP BY r.la_code, r.la_person_key
),
identified AS (
    SELECT
        r.*,
        CASE
            WHEN r.nhs_number_key IS NOT NULL THEN 'NHS number'
            WHEN linked.nhs_numbers = 1 THEN 'NHS number via LA ID'
            WHEN linked.nhs_numbers >= 2 THEN 'ambiguous'
            WHEN r.la_person_key IS NOT NULL THEN 'LA ID'
            ELSE 'none'
        END AS person_id_source,
        linked.nhs_number_key AS linked_nhs_number_key
    FROM submitted_rows AS r
    LEFT JOIN nhs_numbers_of_la_person AS linked
        ON r.nhs_number_key IS NULL
        AND linked.la_code = r.la_code
        AND linked.la_person_key = r.la_person_key
)
SELECT
    * EXCLUDE (linked_nhs_number_key),
    CASE person_id_source
        WHEN 'NHS number' THEN nhs_number_key
        WHEN 'NHS number via LA ID' THEN linked_nhs_number_key
        WHEN 'LA ID' THEN la_person_key
    END AS person_id
FROM identified;

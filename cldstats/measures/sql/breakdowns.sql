-- Published breakdowns: docs/methodology.md section 3 (age groups and bands, ethnicity groups and
-- subgroups, gender) and section 4, "Breakdowns".
--
--   "Age groups: 18 to 64, 65 and above, Unknown. Age bands: 18 to 24, ... 95 and above, Unknown."
--   "Ethnicity: published as the 6 groups ... and as the 21 subgroups ... Blank or invalid values
--    count as No data: Undeclared or not known."
--   "Gender: Female, Male, Other, Unknown; blank or invalid is Unknown."
--   "Breakdowns, each published one dimension at a time ...: All; Age group; Age band; Gender;
--    Ethnicity group; Ethnicity. Each breakdown's values sum to its All."
--
-- breakdown_counts(people_table): the name of a table or view with one row per person counted
-- and columns la_code, period_end (the period's last day), support_setting, age, gender,
-- ethnicity (NULL when unknown). Returns la_code, period_end, support_setting (each setting, and
-- the all-settings label for everyone), breakdown, breakdown_value, value (people), for the
-- values that have people; the callers add the zeros.
--
-- Reads   ages (each age with its age group and band), genders, ethnicities, method_parameters.
CREATE OR REPLACE TEMP MACRO breakdown_counts(people_table) AS TABLE
WITH counted AS (
    -- People counted once per combination of attributes: the breakdowns are sums of these.
    SELECT la_code, period_end, support_setting, age, gender, ethnicity, count(*) AS people
    FROM query_table(people_table)
    GROUP BY ALL
),
labelled AS (
    -- The same counts by published label (ages become groups and bands), summed again.
    SELECT
        c.la_code,
        c.period_end,
        c.support_setting,
        coalesce(age.age_group, p.unknown_label) AS age_group,
        coalesce(age.age_band, p.unknown_label) AS age_band,
        coalesce(gender.label, p.unknown_label) AS gender,
        ethnicity.ethnicity_group,
        ethnicity.ethnicity_label,
        any_value(p.all_settings_label) AS all_settings_label,
        sum(c.people) AS people
    FROM counted AS c
    CROSS JOIN method_parameters AS p
    LEFT JOIN ages AS age ON age.age = c.age
    LEFT JOIN genders AS gender ON gender.value = c.gender
    LEFT JOIN ethnicities AS ethnicity ON ethnicity.value = coalesce(c.ethnicity, p.ethnicity_not_known)
    GROUP BY ALL
)
SELECT
    la_code,
    period_end,
    CASE WHEN GROUPING(support_setting) = 1 THEN any_value(all_settings_label) ELSE CAST(support_setting AS VARCHAR)
        END AS support_setting,
    CASE
        WHEN GROUPING(age_group) = 0 THEN 'Age group'
        WHEN GROUPING(age_band) = 0 THEN 'Age band'
        WHEN GROUPING(gender) = 0 THEN 'Gender'
        WHEN GROUPING(ethnicity_group) = 0 THEN 'Ethnicity group'
        WHEN GROUPING(ethnicity_label) = 0 THEN 'Ethnicity'
        ELSE 'All'
    END AS breakdown,
    coalesce(age_group, age_band, gender, ethnicity_group, ethnicity_label, 'All') AS breakdown_value,
    sum(people) AS value
FROM labelled
GROUP BY
    la_code, period_end,
    GROUPING SETS ((support_setting), ()),
    GROUPING SETS ((), (age_group), (age_band), (gender), (ethnicity_group), (ethnicity_label));

"""The distributions of the synthetic world, read once from ``cldstats/data/synth_distributions.yaml``.

The YAML file documents what each number means; this module only gives its entries the names the
generator uses. The loaded values are the generator's whole calibration: every rate, duration,
share and mix of the simulation. Durations are in days; rates per person-year unless stated.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

__all__ = ["FAULT_RATES", "distributions"]

#: The spec's prefix of the four long-term support service types (the keys of the settings below).
LTS = "Long Term Support: "


@functools.cache
def distributions() -> dict[str, Any]:
    """The content of ``cldstats/data/synth_distributions.yaml`` (read once per process).

    Returns
    -------
    dict
        The file's mappings, in the file's order (mix weights are normalised in that order).
    """
    text = resources.files("cldstats").joinpath("data", "synth_distributions.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


_D = distributions()
_SUPPORT, _NEW, _DURING, _CARERS = (
    _D["long_term_support"],
    _D["new_clients"],
    _D["during_support_per_year"],
    _D["carers"],
)
_PEOPLE, _EVENTS = _D["people"], _D["events"]

SETTING_SHARE: dict[str, float] = _SUPPORT["setting_share"]
SPELL_MEAN_DAYS: dict[str, float] = _SUPPORT["spell_mean_days"]
DEATH_AT_EXIT: dict[str, float] = _SUPPORT["death_at_exit"]
TRANSITION_AT_EXIT: dict[str, dict[str, float]] = _SUPPORT["transition_at_exit"]
SHARE_18_64: dict[str, float] = _SUPPORT["share_18_64"]
OLD_AGE_LAW: dict[str, list[float]] = _SUPPORT["old_age_law"]
SHARE_TRANSITION_AGE_17: float = _SUPPORT["share_transition_age_17"]
SHARE_CONCURRENT_ROW: float = _SUPPORT["share_concurrent_row"]
SHARE_SPLIT_PACKAGE: float = _SUPPORT["share_split_package"]
NEW_CLIENT_ASSESSED: float = _NEW["assessed"]
NEW_CLIENT_VIA_STMAX: float = _NEW["via_stmax"]
FINANCIAL_ASSESSMENT: float = _NEW["financial_assessment"]
REQUESTS_ONLY_PER_ASSESSED: float = _NEW["requests_only_per_assessed"]
PLANNED_REVIEWS_PER_YEAR: float = _DURING["planned_reviews"]
UNPLANNED_REVIEWS_PER_YEAR: float = _DURING["unplanned_reviews"]
REASSESSMENTS_PER_YEAR: float = _DURING["reassessments"]
FINANCIAL_REVIEWS_PER_YEAR: float = _DURING["financial_reviews"]
CARERS_PER_LTS: float = _CARERS["per_person_in_support"]
CARER_SPELL_MEAN_DAYS: float = _CARERS["spell_mean_days"]
CARERS_BY_ASSOCIATION_PER_LTS: float = _CARERS["by_association_per_person_in_support"]
LAG_MEAN: dict[str, float] = _D["recording_lag_mean_days"]
#: The details of long-term support rows (splits, concurrent rows, delivery, blanks).
SUPPORT_DETAILS: dict[str, Any] = _SUPPORT
#: New clients, the people assessed or advised only, and their short-term support.
NEW_CLIENTS: dict[str, Any] = _NEW
#: Carers: numbers, ages, links, support and its costs, reviews.
CARERS: dict[str, Any] = _CARERS
#: People: ages, GP practice.
PEOPLE: dict[str, Any] = _PEOPLE
#: Events: descriptions and blank support reasons.
EVENTS: dict[str, Any] = _EVENTS
#: Timings in whole days (:func:`cldstats.tools.synth.world.whole_days` draws from the ranges).
DAYS: dict[str, Any] = _D["timings_days"]
#: When files are uploaded: days after the period end and cut-off, office hours, resubmission delays.
SUBMISSION_TIMING: dict[str, Any] = _D["submissions"]
SHARE_MONTHLY_COUNCILS: float = _D["submissions"]["share_monthly_councils"]
SHARE_RESUBMITTED: float = _D["submissions"]["share_resubmitted"]
SHARE_AFTER_DEADLINE: float = _D["submissions"]["share_after_deadline"]
#: Release 2: the switch and early adoption dates, the cohort shares and the Release 2 stand-ins
#: of Release 1-only values (:mod:`cldstats.tools.synth.releases`, :mod:`cldstats.tools.synth.codes`).
RELEASE2: dict[str, Any] = _D["release2"]

#: Data quality faults: per row, per person or per council-quarter (:data:`FAULT_UNITS` in
#: :mod:`cldstats.tools.synth.faults`).
FAULT_RATES: dict[str, float] = _D["fault_rates"]

GENDER_MIX: dict[str, float] = _PEOPLE["gender"]
WHITE_BRITISH_BY_REGION: dict[str, float] = _PEOPLE["white_british_by_region"]
DEFAULT_WHITE_BRITISH: float = _PEOPLE["default_white_british"]
NO_DATA_MIX: dict[str, float] = _PEOPLE["no_data_ethnicity"]
MINORITY_MIX: dict[str, float] = _PEOPLE["minority_ethnicity"]
LONDON_MINORITY_MIX: dict[str, float] = dict(MINORITY_MIX, **_PEOPLE["london_minority_ethnicity"])
PSR_MIX_YOUNG: dict[str, float] = _PEOPLE["primary_support_reason_young"]
PSR_MIX_OLD: dict[str, float] = _PEOPLE["primary_support_reason_old"]
ACCOMMODATION_COMMUNITY: dict[str, float] = _PEOPLE["accommodation_community"]
EMPLOYMENT_YOUNG: dict[str, float] = _PEOPLE["employment_young"]
EMPLOYMENT_OLD: dict[str, float] = _PEOPLE["employment_old"]
FUNDING_MIX: dict[str, float] = _PEOPLE["client_funding_status"]
UNPAID_CARER_MIX: dict[str, float] = _PEOPLE["has_unpaid_carer"]
YES_NO_UNKNOWN_ASD: dict[str, float] = _PEOPLE["autism_spectrum_disorder"]
DEMENTIA_MIX: dict[str, float] = _PEOPLE["dementia"]
VISUAL_MIX: dict[str, float] = _PEOPLE["visual_impairment"]
HEARING_MIX: dict[str, float] = _PEOPLE["hearing_impairment"]
CARER_HOURS: dict[str, float] = _PEOPLE["carer_hours"]

ROUTE_NEW_CLIENT: dict[str, float] = _EVENTS["route_new_client"]
REQUEST_ONLY_OUTCOMES: dict[str, float] = _EVENTS["request_only_outcomes"]
NEW_ASSESSED_OUTCOMES: dict[str, float] = _EVENTS["new_assessed_outcomes"]
SPELL_END_OUTCOMES: dict[str, float] = _EVENTS["spell_end_outcomes"]
REVIEW_OUTCOMES: dict[str, float] = _EVENTS["review_outcomes"]
ASSESSMENT_METHOD: dict[str, float] = _EVENTS["assessment_method"]
UNPLANNED_REVIEW_REASONS: dict[str, float] = _EVENTS["unplanned_review_reasons"]
REVIEW_ACHIEVED: dict[str, float] = _EVENTS["review_outcomes_achieved"]
REVIEW_METHOD: dict[str, float] = _EVENTS["method_of_review"]

#: Community long-term components: ``weight``, ``cost_frequency``, ``unit_cost`` and
#: ``planned_units`` ranges.
COMMUNITY_COMPONENTS: dict[str, dict[str, Any]] = _D["community_components"]
CARE_HOME_COST: dict[str, list[float]] = _D["care_home_weekly_cost"]

"""Simulating the people who are not (yet) in long-term support: new clients, people assessed or advised
only, and carers.

Each ``add_`` step adds people and events to the simulation in the order
:func:`cldstats.tools.synth.simulate.simulate_world` calls them (the order of the draws).
"""

from __future__ import annotations

import numpy as np

from cldstats.tools.synth.codes import (
    code_of,
    component_code,
    draw,
    event_type_code,
    outcome_code,
    service_type_code,
)
from cldstats.tools.synth.dates import NEVER
from cldstats.tools.synth.distributions import (
    ASSESSMENT_METHOD,
    CARER_SPELL_MEAN_DAYS,
    CARERS,
    CARERS_BY_ASSOCIATION_PER_LTS,
    CARERS_PER_LTS,
    DAYS,
    EVENTS,
    FINANCIAL_ASSESSMENT,
    LAG_MEAN,
    LTS,
    NEW_ASSESSED_OUTCOMES,
    NEW_CLIENT_ASSESSED,
    NEW_CLIENT_VIA_STMAX,
    NEW_CLIENTS,
    REQUEST_ONLY_OUTCOMES,
    REQUESTS_ONLY_PER_ASSESSED,
    REVIEW_ACHIEVED,
    REVIEW_OUTCOMES,
    ROUTE_NEW_CLIENT,
)
from cldstats.tools.synth.world import (
    Simulation,
    carer_person_fields,
    events_within,
    new_people,
    persons_dob,
    recording_lag,
    whole_days,
)

__all__ = [
    "add_assessed_without_long_term_support",
    "add_carers",
    "add_carers_by_association",
    "add_financial_assessments",
    "add_new_client_chains",
    "add_requests_ending_in_advice",
]


def add_new_client_chains(sim: Simulation, spells: dict[str, np.ndarray], assessed_per_day: float) -> int:
    """The request -> assessment (-> ST-Max) chains before the first spell of some fresh arrivals;
    returns how many arrivals have one.

    Parameters
    ----------
    sim : Simulation
        The council's simulation.
    spells : dict of numpy.ndarray
        The long-term support spells (``origin`` 1: a fresh arrival).
    assessed_per_day : float
        The council's new-client assessments per day at this scale.
    """
    rng, persons, events, window = sim.rng, sim.persons, sim.events, sim.window
    fresh = np.flatnonzero(spells["origin"] == 1)
    fresh_per_day = len(fresh) / max(window, 1)
    p_chain = (
        min(NEW_CLIENT_ASSESSED, NEW_CLIENTS["chained_share_of_assessments"] * assessed_per_day / fresh_per_day)
        if fresh_per_day > 0
        else 0.0
    )
    chained = fresh[rng.random(len(fresh)) < p_chain]
    k = len(chained)
    via_stmax = rng.random(k) < NEW_CLIENT_VIA_STMAX
    stmax_len = whole_days(rng, DAYS["stmax_length"], k)
    stmax_start = spells["start"][chained] - stmax_len
    a_end = np.where(
        via_stmax,
        stmax_start - whole_days(rng, DAYS["assessment_before_stmax"], k),
        spells["start"][chained] - whole_days(rng, DAYS["assessment_before_support"], k),
    )
    a_start = a_end - np.minimum(
        np.floor(rng.exponential(DAYS["assessment_length_mean"], k)).astype(np.int64), DAYS["assessment_length_max"]
    )
    r_end = a_start - whole_days(rng, DAYS["request_before_assessment"], k)
    route = draw(rng, "Request_Route_of_Access", ROUTE_NEW_CLIENT, k)
    ages_now = (spells["start"][chained] - persons_dob(persons)[spells["person"][chained]]) / 365.25
    route = np.where(ages_now < 18, code_of("Request_Route_of_Access", "Planned Entry (Transition)"), route)
    route = np.where(
        spells["setting"][chained] == service_type_code(LTS + "Prison"),
        code_of("Request_Route_of_Access", "Prison"),
        route,
    )
    who = spells["person"][chained]
    events.add(
        k,
        person=who,
        etype=event_type_code("Request"),
        start=r_end - whole_days(rng, DAYS["request_length"], k),
        end=r_end,
        lag_end=recording_lag(rng, LAG_MEAN["other"], k),
        outcome=outcome_code("Progress to Assessment"),
        route=route,
        psr_blank=(rng.random(k) < EVENTS["share_request_psr_blank"]),
        description=np.where(rng.random(k) < EVENTS["share_described"], 0, -1),
    )
    events.add(
        k,
        person=who,
        etype=event_type_code("Assessment"),
        start=a_start,
        end=a_end,
        lag_end=recording_lag(rng, LAG_MEAN["other"], k),
        outcome=np.where(
            via_stmax,
            outcome_code("Progress to Reablement/ST-Max"),
            outcome_code("Progress to Support Planning / Services"),
        ),
        assess_type=np.where(
            via_stmax,
            code_of("Assessment_Type", "Short Term Assessment"),
            code_of("Assessment_Type", "Long Term Assessment"),
        ),
        eligible=code_of("Eligible_Needs_Identified", "Yes"),
        assess_method=draw(rng, "Method_of_Assessment", ASSESSMENT_METHOD, k),
        description=np.where(rng.random(k) < EVENTS["share_described"], 1, -1),
    )
    _stmax_before_support(sim, spells, chained, who, via_stmax, stmax_start)
    return len(chained)


def _stmax_before_support(sim, spells, chained, who, via_stmax, stmax_start) -> None:
    """The ST-Max (reablement) service of the chains that go through it first."""
    rng, events = sim.rng, sim.events
    s_idx = np.flatnonzero(via_stmax)
    m = len(s_idx)
    events.add(
        m,
        person=who[s_idx],
        etype=event_type_code("Service"),
        start=stmax_start[s_idx],
        end=spells["start"][chained][s_idx] - 1,
        lag_start=recording_lag(rng, LAG_MEAN["service_start"], m),
        lag_end=recording_lag(rng, LAG_MEAN["service_end"], m),
        outcome=outcome_code("Progress to Support Planning / Services"),
        service_type=service_type_code("Short Term Support: ST-Max"),
        component=code_of("Service_Component", "Reablement"),
        delivery=code_of("Delivery_Mechanism", "CASSR Commissioned Support"),
        description=np.where(rng.random(m) < EVENTS["share_described_stmax"], 5, -1),
    )


def add_financial_assessments(sim: Simulation, spells: dict[str, np.ndarray]) -> None:
    """Financial assessments of new long-term clients (no outcome, no method)."""
    rng, events = sim.rng, sim.events
    fresh = np.flatnonzero(spells["origin"] == 1)
    fin = fresh[rng.random(len(fresh)) < FINANCIAL_ASSESSMENT]
    k = len(fin)
    f_start = spells["start"][fin] + whole_days(rng, DAYS["financial_assessment_after_start"], k)
    f_end = f_start + whole_days(rng, DAYS["financial_assessment_length"], k)
    keep = f_end < spells["end"][fin]
    fin, f_start, f_end = fin[keep], f_start[keep], f_end[keep]
    k = len(fin)
    events.add(
        k,
        person=spells["person"][fin],
        etype=event_type_code("Assessment"),
        start=f_start,
        end=f_end,
        lag_end=recording_lag(rng, LAG_MEAN["other"], k),
        assess_type=np.where(
            rng.random(k) < NEW_CLIENTS["share_full_financial_assessment"],
            code_of("Assessment_Type", "Financial Assessment - Full"),
            code_of("Assessment_Type", "Financial Assessment - Light Touch"),
        ),
    )


def add_assessed_without_long_term_support(sim: Simulation, assessed_per_day: float, chained: int) -> None:
    """New clients assessed who do not go on to long-term support (``chained``: the new clients
    whose assessment led to it), and the short-term support some of them receive."""
    rng, persons, events, region = sim.rng, sim.persons, sim.events, sim.region
    T0, T1, window = sim.first_day, sim.horizon, sim.window
    chained_per_day = chained / max(window, 1)
    other_rate = max(assessed_per_day - chained_per_day, NEW_CLIENTS["other_assessed_floor"] * assessed_per_day)
    lead = 60
    k = int(rng.poisson(other_rate * (window + lead)))
    a_end = rng.integers(T0 - lead, T1, k) if k else np.zeros(0, np.int64)
    old = rng.random(k) < NEW_CLIENTS["assessed_share_65_plus"]
    low, shape, scale = NEW_CLIENTS["assessed_old_age_law"]
    ages = np.where(old, low + rng.gamma(shape, scale, k), 18 + rng.random(k) * 47)
    who = new_people(rng, persons, k, ages, a_end, region, "Service User")
    a_start = a_end - np.minimum(
        np.floor(rng.exponential(DAYS["assessment_length_mean"], k)).astype(np.int64), DAYS["assessment_length_max"]
    )
    r_end = a_start - whole_days(rng, DAYS["request_before_assessment"], k)
    a_outcome = draw(rng, "Event_Outcome", NEW_ASSESSED_OUTCOMES, k)
    events.add(
        k,
        person=who,
        etype=event_type_code("Request"),
        start=r_end - whole_days(rng, DAYS["request_length"], k),
        end=r_end,
        lag_end=recording_lag(rng, LAG_MEAN["other"], k),
        outcome=outcome_code("Progress to Assessment"),
        route=draw(rng, "Request_Route_of_Access", ROUTE_NEW_CLIENT, k),
        psr_blank=(rng.random(k) < EVENTS["share_request_psr_blank"]),
    )
    progress = (a_outcome == outcome_code("Progress to Reablement/ST-Max")) | (
        a_outcome == outcome_code("Progress to Support Planning / Services")
    )
    events.add(
        k,
        person=who,
        etype=event_type_code("Assessment"),
        start=a_start,
        end=a_end,
        lag_end=recording_lag(rng, LAG_MEAN["other"], k),
        outcome=a_outcome,
        assess_type=np.where(
            rng.random(k) < NEW_CLIENTS["share_long_term_assessment"],
            code_of("Assessment_Type", "Long Term Assessment"),
            code_of("Assessment_Type", "Short Term Assessment"),
        ),
        eligible=np.where(
            progress | (rng.random(k) < NEW_CLIENTS["share_eligible_without_progress"]),
            code_of("Eligible_Needs_Identified", "Yes"),
            code_of("Eligible_Needs_Identified", "No"),
        ),
        assess_method=draw(rng, "Method_of_Assessment", ASSESSMENT_METHOD, k),
    )
    _short_term_support_after(sim, who, a_end, a_outcome)


def _short_term_support_after(sim: Simulation, who: np.ndarray, a_end: np.ndarray, a_outcome: np.ndarray) -> None:
    """Short-term support (ST-Max or other) after the assessments that progressed to it."""
    rng, events = sim.rng, sim.events
    k = len(who)
    is_stmax = a_outcome == outcome_code("Progress to Reablement/ST-Max")
    is_plan = a_outcome == outcome_code("Progress to Support Planning / Services")
    s_start = a_end + whole_days(rng, DAYS["short_term_after_assessment"], k)
    s_len = np.where(is_stmax, whole_days(rng, DAYS["stmax_length"], k), whole_days(rng, DAYS["short_term_length"], k))
    kind_u = rng.random(k)
    cumulative = NEW_CLIENTS["short_term_component_cumulative"]
    s_type = np.where(
        is_stmax,
        service_type_code("Short Term Support: ST-Max"),
        np.where(
            kind_u < NEW_CLIENTS["share_ongoing_low_level"],
            service_type_code("Short Term Support: Ongoing Low Level"),
            service_type_code("Short Term Support: Other Short Term"),
        ),
    )
    s_comp = np.where(
        is_stmax,
        component_code("Reablement"),
        np.where(
            kind_u < cumulative["Equipment"],
            component_code("Equipment"),
            np.where(
                kind_u < cumulative["Professional Support"],
                component_code("Professional Support"),
                np.where(
                    kind_u < cumulative["Short Term Residential Care"],
                    component_code("Short Term Residential Care"),
                    component_code("Other Short Term Support"),
                ),
            ),
        ),
    )
    st_res = s_comp == component_code("Short Term Residential Care")
    sel = np.flatnonzero(is_stmax | is_plan)
    m = len(sel)
    events.add(
        m,
        person=who[sel],
        etype=event_type_code("Service"),
        start=s_start[sel],
        end=s_start[sel] + s_len[sel],
        lag_start=recording_lag(rng, LAG_MEAN["service_start"], m),
        lag_end=recording_lag(rng, LAG_MEAN["service_end"], m),
        outcome=outcome_code("Service ended as planned"),
        service_type=s_type[sel],
        component=s_comp[sel],
        delivery=code_of("Delivery_Mechanism", "CASSR Commissioned Support"),
        provider=np.where(st_res[sel], rng.integers(0, 40, m), -1),
        cost_freq=np.where(st_res[sel], code_of("Cost_Frequency_Unit_Type", "Weekly"), -1),
        unit_cost=np.where(st_res[sel], np.round(600 + 500 * rng.random(m), 2), np.nan),
        units=np.where(st_res[sel], 1.0, np.nan),
    )


def add_requests_ending_in_advice(sim: Simulation, assessed_per_day: float) -> None:
    """Requests ending in advice or nothing, by people who ask once."""
    rng, persons, events, region = sim.rng, sim.persons, sim.events, sim.region
    T0, T1, window = sim.first_day, sim.horizon, sim.window
    k = int(rng.poisson(REQUESTS_ONLY_PER_ASSESSED * assessed_per_day * (window + 10)))
    r_end = rng.integers(T0 - 10, T1, k) if k else np.zeros(0, np.int64)
    low, shape, scale = NEW_CLIENTS["assessed_old_age_law"]
    old = rng.random(k) < NEW_CLIENTS["advised_share_65_plus"]
    ages = np.where(old, low + rng.gamma(shape, scale, k), 18 + rng.random(k) * 47)
    who = new_people(rng, persons, k, ages, r_end, region, "Service User")
    events.add(
        k,
        person=who,
        etype=event_type_code("Request"),
        start=r_end - whole_days(rng, DAYS["request_length"], k),
        end=r_end,
        lag_end=recording_lag(rng, LAG_MEAN["other"], k),
        outcome=draw(rng, "Event_Outcome", REQUEST_ONLY_OUTCOMES, k),
        route=draw(rng, "Request_Route_of_Access", NEW_CLIENTS["request_only_route"], k),
        psr_blank=(rng.random(k) < EVENTS["share_request_psr_blank"]),
        description=np.where(rng.random(k) < EVENTS["share_described"], 0, -1),
    )


def add_carers(sim: Simulation, spells: dict[str, np.ndarray], stock_total: int) -> None:
    """Carers with their own events: those supported at the start and new ones (with a request and an
    assessment), their carer support and its reviews."""
    rng, persons, region = sim.rng, sim.persons, sim.region
    T0, T1, window = sim.first_day, sim.horizon, sim.window
    lts_people = spells["person"]
    carer_stock = int(round(CARERS_PER_LTS * stock_total))
    n_new = int(rng.poisson(carer_stock / CARER_SPELL_MEAN_DAYS * window))
    k = carer_stock + n_new
    c_start = np.concatenate(
        [
            T0 - np.floor(rng.exponential(CARER_SPELL_MEAN_DAYS, carer_stock)).astype(np.int64) - 1,
            rng.integers(T0, T1, n_new),
        ]
    )
    c_end = c_start + np.floor(rng.exponential(CARER_SPELL_MEAN_DAYS, k)).astype(np.int64) + 1
    c_end = np.where(c_start < T0, np.maximum(c_end, T0), c_end)
    c_end = np.where(c_end >= T1, NEVER, c_end)
    low, shape, scale = CARERS["age_law"]
    who = new_people(rng, persons, k, low + rng.gamma(shape, scale, k), c_start, region, "Carer")
    carer_person_fields(rng, persons, who, lts_people)
    _new_carer_assessments(sim, who, c_start, carer_stock)
    _carer_support(sim, who, c_start, c_end)
    _carer_reviews(sim, who, c_start, c_end)


def _new_carer_assessments(sim: Simulation, who: np.ndarray, c_start: np.ndarray, carer_stock: int) -> None:
    """The request and assessment of each new carer (those after the ``carer_stock`` at the start)."""
    rng, events = sim.rng, sim.events
    k = len(who)
    is_new = np.arange(k) >= carer_stock
    nw = np.flatnonzero(is_new)
    kk = len(nw)
    a_end = c_start[nw] - whole_days(rng, DAYS["carer_assessment_before_support"], kk)
    events.add(
        kk,
        person=who[nw],
        etype=event_type_code("Request"),
        start=a_end - whole_days(rng, DAYS["carer_request_start_before_assessment"], kk),
        end=a_end - whole_days(rng, DAYS["carer_request_end_before_assessment"], kk),
        lag_end=recording_lag(rng, LAG_MEAN["other"], kk),
        outcome=outcome_code("Progress to Assessment"),
        route=code_of("Request_Route_of_Access", "Community / Other route"),
    )
    events.add(
        kk,
        person=who[nw],
        etype=event_type_code("Assessment"),
        start=a_end - whole_days(rng, DAYS["carer_assessment_length"], kk),
        end=a_end,
        lag_end=recording_lag(rng, LAG_MEAN["other"], kk),
        outcome=outcome_code("Progress to Support Planning / Services"),
        assess_type=code_of("Assessment_Type", "Long Term Assessment"),
        eligible=code_of("Eligible_Needs_Identified", "Yes"),
        assess_method=draw(rng, "Method_of_Assessment", ASSESSMENT_METHOD, kk),
    )


def _carer_support(sim: Simulation, who: np.ndarray, c_start: np.ndarray, c_end: np.ndarray) -> None:
    """The carer support service of each carer (direct to the carer, or involving the cared-for)."""
    rng, events = sim.rng, sim.events
    k = len(who)
    u = rng.random(k)
    direct_cumulative = CARERS["direct_component_cumulative"]
    direct = u < CARERS["share_direct"]
    c_type = np.where(
        direct,
        service_type_code("Carer Support: Direct to Carer"),
        service_type_code("Carer Support: Support involving the person cared-for"),
    )
    c_comp = np.where(
        direct,
        np.where(
            u < direct_cumulative["Direct Payment"],
            component_code("Direct Payment"),
            np.where(
                u < direct_cumulative["Carer Universal Services"],
                component_code("Carer Universal Services"),
                component_code("Other Carer Support"),
            ),
        ),
        np.where(
            u < CARERS["involving_component_cumulative"]["Carer Respite"],
            component_code("Carer Respite"),
            component_code("Carer Sitting Service"),
        ),
    )
    (p0, p1), (w0, w1) = CARERS["direct_payment_one_off"], CARERS["weekly_cost"]
    c_dp = c_comp == component_code("Direct Payment")
    events.add(
        k,
        person=who,
        etype=event_type_code("Service"),
        start=c_start,
        end=c_end,
        lag_start=recording_lag(rng, LAG_MEAN["service_start"], k),
        lag_end=recording_lag(rng, LAG_MEAN["service_end"], k),
        outcome=outcome_code("Service ended as planned"),
        service_type=c_type,
        component=c_comp,
        delivery=np.where(
            c_dp,
            code_of("Delivery_Mechanism", "Direct Payment"),
            code_of("Delivery_Mechanism", "CASSR Managed Personal Budget"),
        ),
        cost_freq=np.where(
            c_dp, code_of("Cost_Frequency_Unit_Type", "One-off"), code_of("Cost_Frequency_Unit_Type", "Weekly")
        ),
        unit_cost=np.round(np.where(c_dp, p0 + (p1 - p0) * rng.random(k), w0 + (w1 - w0) * rng.random(k)), 2),
        units=1.0,
        description=np.where(rng.random(k) < EVENTS["share_described"], 6, -1),
    )


def _carer_reviews(sim: Simulation, who: np.ndarray, c_start: np.ndarray, c_end: np.ndarray) -> None:
    """Planned reviews of the carers' support, once a year on average."""
    rng, events, T0, T1 = sim.rng, sim.events, sim.first_day, sim.horizon
    owner, day = events_within(rng, np.maximum(c_start, T0 - 60), np.minimum(c_end, T1), CARERS["reviews_per_year"])
    kk = len(owner)
    events.add(
        kk,
        person=who[owner],
        etype=event_type_code("Review"),
        start=day - whole_days(rng, DAYS["carer_review_length"], kk),
        end=day,
        lag_end=recording_lag(rng, LAG_MEAN["other"], kk),
        outcome=draw(rng, "Event_Outcome", REVIEW_OUTCOMES, kk),
        review_reason=code_of("Review_Reason", "Planned"),
        review_achieved=draw(rng, "Review_Outcomes_Achieved", REVIEW_ACHIEVED, kk),
        review_method=code_of("Method_of_Review", "Carer only"),
    )


def add_carers_by_association(sim: Simulation, spells: dict[str, np.ndarray], stock_total: int) -> None:
    """Carers known by association: one row per file while the cared-for person's spell shows."""
    rng, persons, events, region = sim.rng, sim.persons, sim.events, sim.region
    n_sp = len(spells["start"])
    k = int(round(CARERS_BY_ASSOCIATION_PER_LTS * stock_total))
    linked_spell = rng.integers(0, n_sp, k) if n_sp else np.zeros(0, np.int64)
    low, shape, scale = CARERS["by_association_age_law"]
    who = new_people(
        rng,
        persons,
        k,
        low + rng.gamma(shape, scale, k),
        spells["start"][linked_spell],
        region,
        "Carer known by association",
    )
    carer_person_fields(rng, persons, who, spells["person"][linked_spell], single=True)
    events.add(
        k,
        person=who,
        etype=-1,
        start=spells["start"][linked_spell],
        end=spells["end"][linked_spell],
        lag_start=recording_lag(rng, LAG_MEAN["service_start"], k),
        lag_end=recording_lag(rng, LAG_MEAN["service_end"], k),
    )

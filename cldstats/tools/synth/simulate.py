"""Simulating one council's world: its people in long-term support, their spells and what happens in them.

:func:`simulate_world` tells the story in steps, each drawing from the council's random stream
(``default_rng([seed, council index, 2])``) in a fixed order: the people in long-term support at the
start and those arriving, their moves between settings and how their spells end, the service rows
the spells are recorded as, reviews and reassessments during support; then the new clients, the
people assessed or advised only and the carers (:mod:`cldstats.tools.synth.clients`); finally the
world is assembled. The order of the steps is the order of the draws: changing it changes the bytes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cldstats.tools.synth.clients import (
    add_assessed_without_long_term_support,
    add_carers,
    add_carers_by_association,
    add_financial_assessments,
    add_new_client_chains,
    add_requests_ending_in_advice,
)
from cldstats.tools.synth.codes import (
    code_list,
    code_of,
    draw,
    event_type_code,
    outcome_code,
    service_type_code,
)
from cldstats.tools.synth.dates import NEVER
from cldstats.tools.synth.distributions import (
    ASSESSMENT_METHOD,
    DAYS,
    DEATH_AT_EXIT,
    EVENTS,
    FAULT_RATES,
    FINANCIAL_REVIEWS_PER_YEAR,
    LAG_MEAN,
    LTS,
    PLANNED_REVIEWS_PER_YEAR,
    REASSESSMENTS_PER_YEAR,
    REVIEW_ACHIEVED,
    REVIEW_METHOD,
    REVIEW_OUTCOMES,
    SETTING_SHARE,
    SHARE_CONCURRENT_ROW,
    SHARE_SPLIT_PACKAGE,
    SHARE_TRANSITION_AGE_17,
    SPELL_END_OUTCOMES,
    SPELL_MEAN_DAYS,
    SUPPORT_DETAILS,
    TRANSITION_AT_EXIT,
    UNPLANNED_REVIEW_REASONS,
    UNPLANNED_REVIEWS_PER_YEAR,
)
from cldstats.tools.synth.identities import world_strings
from cldstats.tools.synth.world import (
    ACCOMMODATION_BY_SETTING,
    EVENT_DEFAULTS,
    PERSON_DEFAULTS,
    Columns,
    Simulation,
    World,
    draw_ages,
    events_within,
    new_people,
    recording_lag,
    service_details,
    whole_days,
)

__all__ = ["simulate_world"]


def simulate_world(
    council: pd.Series, council_index: int, seed: int, scale: float, first_day: int, horizon: int, faults: bool
) -> World:
    """Simulate people and events of one council from ``first_day`` to ``horizon`` (days)."""
    sim = Simulation(
        rng=np.random.default_rng([seed, council_index, 2]),
        region=str(council["region"]),
        persons=Columns(PERSON_DEFAULTS),
        events=Columns(EVENT_DEFAULTS),
        first_day=first_day,
        horizon=horizon,
        seed=seed,
        council_index=council_index,
    )
    stock_total = max(1, int(round(scale * float(council["lts_31mar2026"]))))
    spells = _people_in_support_and_arrivals(sim, stock_total)
    spells = _moves_between_settings(sim, spells)
    _how_spells_end(sim, spells)
    _long_term_service_rows(sim, spells)
    _reviews_during_support(sim, spells)
    _reassessments_before_moves(sim, spells)
    assessed_per_day = scale * float(council["assessments_apr25_mar26"]) / 365.25
    chained = add_new_client_chains(sim, spells, assessed_per_day)
    add_financial_assessments(sim, spells)
    add_assessed_without_long_term_support(sim, assessed_per_day, chained)
    add_requests_ending_in_advice(sim, assessed_per_day)
    add_carers(sim, spells, stock_total)
    add_carers_by_association(sim, spells, stock_total)
    return _assemble(sim, council, spells, faults)


def _mean_days_by_code() -> np.ndarray:
    """Mean spell length by Service_Type code index (1 for the types that are not long-term)."""
    mean_lookup = np.ones(len(code_list("Service_Type")))
    for s_name, days in SPELL_MEAN_DAYS.items():
        mean_lookup[service_type_code(s_name)] = days
    return mean_lookup


def _people_in_support_and_arrivals(sim: Simulation, stock_total: int) -> dict[str, np.ndarray]:
    """The first spell of everyone in long-term support: the stock at the start (drawn from the
    stationary law) and the fresh arrivals over the window, each a new person."""
    rng, persons, region = sim.rng, sim.persons, sim.region
    T0, T1, window = sim.first_day, sim.horizon, sim.window
    setting_names = list(SETTING_SHARE)
    shares = np.array([SETTING_SHARE[s] for s in setting_names])
    stock = rng.multinomial(stock_total, shares / shares.sum())
    means = np.array([SPELL_MEAN_DAYS[s] for s in setting_names])
    inflow = stock_total * shares / means  # per day, the stationary entry rate by setting
    moved_in = np.zeros(len(setting_names))
    for i, s in enumerate(setting_names):
        for target, p in TRANSITION_AT_EXIT.get(s, {}).items():
            # a move happens only at an exit that is not a death
            moved_in[setting_names.index(target)] += inflow[i] * (1 - DEATH_AT_EXIT[s]) * p
    fresh_rate = np.maximum(inflow - moved_in, 0)
    sp_setting, sp_start, sp_origin, sp_age = [], [], [], []
    for i, s in enumerate(setting_names):
        n0 = int(stock[i])
        n1 = int(rng.poisson(fresh_rate[i] * window))
        sp_setting.append(np.full(n0 + n1, service_type_code(s)))
        sp_start.append(
            np.concatenate(
                [T0 - np.floor(rng.exponential(means[i], n0)).astype(np.int64) - 1, rng.integers(T0, T1, n1)]
            )
        )
        sp_origin.append(np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)]))
        age = draw_ages(rng, s, n0 + n1)
        if s == LTS + "Community":  # a few young people entering from children's services
            teen = (np.arange(n0 + n1) >= n0) & (rng.random(n0 + n1) < SHARE_TRANSITION_AGE_17)
            age[teen] = 17.0 + rng.random(int(teen.sum())) * 0.9
        sp_age.append(age)
    setting = np.concatenate(sp_setting)
    start = np.concatenate(sp_start)
    origin = np.concatenate(sp_origin)
    age = np.concatenate(sp_age)
    # Each initial or fresh spell is a new person; age is at T0 for the stock, at start for arrivals.
    age_day = np.where(origin == 0, T0, start)
    person = new_people(rng, persons, len(setting), age, age_day, region, "Service User", settings=setting)
    mean_lookup = _mean_days_by_code()
    duration = np.floor(rng.exponential(mean_lookup[setting])).astype(np.int64) + 1
    end = np.where(origin == 0, T0 + duration - 1, start + duration)
    return {"setting": setting, "start": start, "end": end, "person": person, "origin": origin}


def _moves_between_settings(sim: Simulation, spells: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """How each spell ends (``exit_kind``: 0 still open at the horizon, 1 death, 2 moved to another
    setting, 3 other end), and the spells of the moves (community -> residential -> nursing at most)."""
    rng, T1 = sim.rng, sim.horizon
    mean_lookup = _mean_days_by_code()
    all_spells = {k: [v] for k, v in spells.items()}
    death_by_code = np.zeros(len(code_list("Service_Type")))
    for s_name, p in DEATH_AT_EXIT.items():
        death_by_code[service_type_code(s_name)] = p
    exit_kind = []  # per spell: 0 still open at the horizon, 1 death, 2 moved to another setting, 3 other end
    current = spells
    for round_number in range(4):  # community -> residential -> nursing at most
        n = len(current["start"])
        u, v = rng.random(n), rng.random(n)
        kind = np.where(current["end"] >= T1, 0, np.where(u < death_by_code[current["setting"]], 1, 3))
        new_setting = np.full(n, -1)
        for s_name, targets in TRANSITION_AT_EXIT.items():
            cum = 0.0
            for target, p in targets.items():
                hit = (kind == 3) & (current["setting"] == service_type_code(s_name)) & (v >= cum) & (v < cum + p)
                if round_number < 3:
                    new_setting[hit] = service_type_code(target)
                    kind[hit] = 2
                cum += p
        exit_kind.append(kind)
        moved = kind == 2
        if not moved.any():
            break
        nxt_setting = new_setting[moved]
        nxt_start = current["end"][moved] + 1
        current = {
            "setting": nxt_setting,
            "start": nxt_start,
            "end": nxt_start + np.floor(rng.exponential(mean_lookup[nxt_setting])).astype(np.int64),
            "person": current["person"][moved],
            "origin": np.full(int(moved.sum()), 2),
        }
        for k, val in current.items():
            all_spells[k].append(val)
    spells = {k: np.concatenate(v) for k, v in all_spells.items()}
    exit_kind = np.concatenate(exit_kind)
    spells["end"] = np.where(exit_kind == 0, NEVER, spells["end"])
    spells["exit_kind"] = exit_kind
    return spells


def _how_spells_end(sim: Simulation, spells: dict[str, np.ndarray]) -> None:
    """The closing outcome of each spell (``outcome``): death, a move, or an end drawn from the mix."""
    rng = sim.rng
    exit_kind = spells["exit_kind"]
    died = exit_kind == 1
    n_sp = len(spells["start"])
    spell_outcome = np.where(
        died,
        outcome_code("NFA - Deceased"),
        np.where(
            exit_kind == 2,
            outcome_code("Progress to Support Planning / Services"),
            draw(rng, "Event_Outcome", SPELL_END_OUTCOMES, n_sp),
        ),
    )
    spells["outcome"] = spell_outcome


def _long_term_service_rows(sim: Simulation, spells: dict[str, np.ndarray]) -> None:
    """The service rows the spells are recorded as: one row, or two when the package changed, and a
    concurrent second row for some community spells. Draws each spell's death recording lag."""
    rng = sim.rng
    n_sp = len(spells["start"])
    died = spells["exit_kind"] == 1
    details = service_details(rng, spells["setting"], n_sp)
    spells["death_lag"] = recording_lag(rng, LAG_MEAN["death"], n_sp) + 1
    spells["death_blank"] = died & (rng.random(n_sp) < SUPPORT_DETAILS["share_death_end_blank"])
    _whole_and_split_rows(sim, spells, details)
    _concurrent_rows(sim, spells, details)


def _add_service_rows(sim, spells, idx, row_start, row_end, row_outcome, det) -> None:
    """Service rows of the spells ``idx`` from ``row_start`` to ``row_end`` with details ``det``."""
    rng, events = sim.rng, sim.events
    died, death_lag, death_blank = spells["exit_kind"] == 1, spells["death_lag"], spells["death_blank"]
    k = len(idx)
    is_death_end = died[idx] & (row_end == spells["end"][idx])
    lag_end = np.where(is_death_end, death_lag[idx], recording_lag(rng, LAG_MEAN["service_end"], k))
    events.add(
        k,
        person=spells["person"][idx],
        etype=event_type_code("Service"),
        start=row_start,
        end=row_end,
        lag_start=recording_lag(rng, LAG_MEAN["service_start"], k),
        lag_end=lag_end,
        outcome=row_outcome,
        service_type=spells["setting"][idx],
        death_blank_end=(death_blank[idx] & is_death_end),
        description=np.where(rng.random(k) < EVENTS["share_described"], 2, -1),
        **{c: v[idx] for c, v in det.items()},
    )


def _whole_and_split_rows(sim: Simulation, spells: dict[str, np.ndarray], details: dict[str, np.ndarray]) -> None:
    """Each spell as one row, or as two consecutive rows (the package changed, at a new price)."""
    rng, T1 = sim.rng, sim.horizon
    n_sp = len(spells["start"])
    spell_outcome = spells["outcome"]
    split = (rng.random(n_sp) < SHARE_SPLIT_PACKAGE) & (
        np.minimum(spells["end"], T1) - spells["start"] > SUPPORT_DETAILS["split_package_min_days"]
    )
    split_day = (
        spells["start"]
        + SUPPORT_DETAILS["split_package_first_days"]
        + np.floor(
            rng.random(n_sp)
            * np.maximum(np.minimum(spells["end"], T1) - spells["start"] - SUPPORT_DETAILS["split_package_min_days"], 1)
        ).astype(np.int64)
    )
    whole = np.flatnonzero(~split)
    _add_service_rows(sim, spells, whole, spells["start"][whole], spells["end"][whole], spell_outcome[whole], details)
    parts = np.flatnonzero(split)
    _add_service_rows(
        sim,
        spells,
        parts,
        spells["start"][parts],
        split_day[parts] - 1,
        np.full(len(parts), outcome_code("Service ended as planned")),
        details,
    )
    repriced = {k: v.copy() for k, v in details.items()}
    repriced["unit_cost"] = np.round(
        repriced["unit_cost"] * (1.0 + SUPPORT_DETAILS["repriced_increase_max"] * rng.random(n_sp)), 2
    )
    _add_service_rows(sim, spells, parts, split_day[parts], spells["end"][parts], spell_outcome[parts], repriced)


def _concurrent_rows(sim: Simulation, spells: dict[str, np.ndarray], details: dict[str, np.ndarray]) -> None:
    """A second, concurrent row for some community spells: a direct payment beside commissioned
    support, or home support beside a direct payment."""
    rng = sim.rng
    n_sp = len(spells["start"])
    spell_outcome = spells["outcome"]
    concurrent = np.flatnonzero(
        (spells["setting"] == service_type_code(LTS + "Community")) & (rng.random(n_sp) < SHARE_CONCURRENT_ROW)
    )
    extra = service_details(rng, spells["setting"], n_sp)
    dp = code_of("Service_Component", "Direct Payment")
    home = code_of("Service_Component", "Home Support")
    base_dp = details["component"] == dp
    # the second row is a direct payment beside commissioned support, or home support beside a DP
    extra_dp = service_details(np.random.default_rng([sim.seed, sim.council_index, 5]), spells["setting"], n_sp)
    for k in extra:
        extra[k] = np.where(base_dp, extra[k], extra_dp[k])
    extra["component"] = np.where(base_dp, home, dp)
    extra["delivery"] = np.where(
        base_dp,
        code_of("Delivery_Mechanism", "CASSR Commissioned Support"),
        code_of("Delivery_Mechanism", "Direct Payment"),
    )
    extra["cost_freq"] = np.where(
        base_dp, code_of("Cost_Frequency_Unit_Type", "Hourly"), code_of("Cost_Frequency_Unit_Type", "Weekly")
    )
    h0, h1 = SUPPORT_DETAILS["concurrent_home_support_hourly_cost"]
    u0, u1 = SUPPORT_DETAILS["concurrent_home_support_hours"]
    d0, d1 = SUPPORT_DETAILS["concurrent_direct_payment_weekly"]
    extra["unit_cost"] = np.where(
        base_dp, np.round(h0 + (h1 - h0) * rng.random(n_sp), 2), np.round(d0 + (d1 - d0) * rng.random(n_sp), 2)
    )
    extra["units"] = np.where(base_dp, np.round((u0 + (u1 - u0) * rng.random(n_sp)) * 2) / 2, 1.0)
    extra["provider"] = np.where(base_dp, 40 + rng.integers(0, 20, n_sp), -1)
    _add_service_rows(
        sim,
        spells,
        concurrent,
        spells["start"][concurrent],
        spells["end"][concurrent],
        spell_outcome[concurrent],
        extra,
    )


def _reviews_during_support(sim: Simulation, spells: dict[str, np.ndarray]) -> None:
    """Planned and unplanned reviews, reassessments and financial reviews during the spells."""
    rng, events, T0, T1 = sim.rng, sim.events, sim.first_day, sim.horizon
    lo = np.maximum(spells["start"], T0 - 60)
    hi = np.minimum(spells["end"], T1)
    for rate, planned in ((PLANNED_REVIEWS_PER_YEAR, True), (UNPLANNED_REVIEWS_PER_YEAR, False)):
        owner, day = events_within(rng, lo, hi, rate)
        k = len(owner)
        reason = (
            np.full(k, code_of("Review_Reason", "Planned"))
            if planned
            else draw(rng, "Review_Reason", UNPLANNED_REVIEW_REASONS, k)
        )
        achieved = draw(rng, "Review_Outcomes_Achieved", REVIEW_ACHIEVED, k)
        if not planned:
            achieved = np.where(rng.random(k) < SUPPORT_DETAILS["share_unplanned_review_achieved"], achieved, -1)
        events.add(
            k,
            person=spells["person"][owner],
            etype=event_type_code("Review"),
            start=day - whole_days(rng, DAYS["review_length"], k),
            end=day,
            lag_end=recording_lag(rng, LAG_MEAN["other"], k),
            outcome=draw(rng, "Event_Outcome", REVIEW_OUTCOMES, k),
            review_reason=reason,
            review_achieved=achieved,
            review_method=draw(rng, "Method_of_Review", REVIEW_METHOD, k),
            description=np.where(rng.random(k) < EVENTS["share_described"], 3, -1),
        )
    owner, day = events_within(rng, lo, hi, REASSESSMENTS_PER_YEAR)
    k = len(owner)
    events.add(
        k,
        person=spells["person"][owner],
        etype=event_type_code("Assessment"),
        start=day - whole_days(rng, DAYS["reassessment_length"], k),
        end=day,
        lag_end=recording_lag(rng, LAG_MEAN["other"], k),
        outcome=outcome_code("Progress to Support Planning / Services"),
        assess_type=code_of("Assessment_Type", "Long Term Assessment"),
        eligible=code_of("Eligible_Needs_Identified", "Yes"),
        assess_method=draw(rng, "Method_of_Assessment", ASSESSMENT_METHOD, k),
    )
    owner, day = events_within(rng, lo, hi, FINANCIAL_REVIEWS_PER_YEAR)
    k = len(owner)
    events.add(
        k,
        person=spells["person"][owner],
        etype=event_type_code("Assessment"),
        start=day - whole_days(rng, DAYS["reassessment_length"], k),
        end=day,
        lag_end=recording_lag(rng, LAG_MEAN["other"], k),
        assess_type=code_of("Assessment_Type", "Financial Assessment - Review"),
    )


def _reassessments_before_moves(sim: Simulation, spells: dict[str, np.ndarray]) -> None:
    """A reassessment before each move to a care home."""
    rng, events = sim.rng, sim.events
    moved = np.flatnonzero(spells["origin"] == 2)
    k = len(moved)
    a_end = spells["start"][moved] - whole_days(rng, DAYS["move_assessment_before"], k)
    events.add(
        k,
        person=spells["person"][moved],
        etype=event_type_code("Assessment"),
        start=a_end - whole_days(rng, DAYS["move_assessment_length"], k),
        end=a_end,
        lag_end=recording_lag(rng, LAG_MEAN["other"], k),
        outcome=outcome_code("Progress to Support Planning / Services"),
        assess_type=code_of("Assessment_Type", "Long Term Assessment"),
        eligible=code_of("Eligible_Needs_Identified", "Yes"),
        assess_method=draw(rng, "Method_of_Assessment", ASSESSMENT_METHOD, k),
    )


def _assemble(sim: Simulation, council: pd.Series, spells: dict[str, np.ndarray], faults: bool) -> World:
    """The world: people and events as arrays, with the person attributes that depend on events
    (death, the latest setting's accommodation), the person-level faults and the strings."""
    rng, persons, events = sim.rng, sim.persons, sim.events
    died = spells["exit_kind"] == 1
    P = persons.build()
    E = events.build()
    n_people = len(P["dob"])
    dod = np.full(n_people, NEVER, dtype=np.int64)
    dod[spells["person"][died]] = spells["end"][died]
    P["dod"] = dod
    P["dod_lag"] = np.zeros(n_people, np.int64)
    died_people = spells["person"][died]
    P["dod_lag"][died_people] = spells["death_lag"][died]
    # People who move to a care home now live there (latest known address is used on every row).
    person_setting = np.full(n_people, -1, dtype=np.int64)
    person_setting[spells["person"]] = spells["setting"]  # last spell wins (transitions come later)
    acc = P["accommodation"]
    for s, value in ACCOMMODATION_BY_SETTING.items():
        acc[person_setting == service_type_code(s)] = code_of("Accommodation_Status", value)
    # events of a person after their death do not happen
    alive = E["start"] <= P["dod"][E["person"]]
    E = {k: v[alive] for k, v in E.items()}
    # person-level faults (persistent across files)
    if faults:
        u = rng.random((n_people, 3))
        P["nhs_blank"] = (u[:, 0] < FAULT_RATES["nhs_number_blank_person"]).astype(np.int64)
        P["dob_fault"] = np.where(
            u[:, 1] < FAULT_RATES["date_of_birth_future"],
            1,
            np.where(u[:, 2] < FAULT_RATES["date_of_birth_too_old"], 2, 0),
        )
    strings = world_strings(rng, council, sim.region, n_people, len(E["start"]), E)
    return World(str(council["la_code"]), sim.region, P, E, strings, sim.horizon)

"""Building blocks of a council's simulated world: column blocks, people and long-term service details.

People and events are accumulated as blocks of columns (:class:`Columns`) while the world is
simulated (:mod:`cldstats.tools.synth.simulate`), then concatenated into one array per column
(:class:`World`). Attributes are spec code indices (:mod:`cldstats.tools.synth.codes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from cldstats.tools.synth.codes import code_of, draw
from cldstats.tools.synth.dates import NEVER
from cldstats.tools.synth.distributions import (
    ACCOMMODATION_COMMUNITY,
    CARE_HOME_COST,
    CARER_HOURS,
    CARERS,
    COMMUNITY_COMPONENTS,
    DEFAULT_WHITE_BRITISH,
    DEMENTIA_MIX,
    EMPLOYMENT_OLD,
    EMPLOYMENT_YOUNG,
    FUNDING_MIX,
    GENDER_MIX,
    HEARING_MIX,
    LONDON_MINORITY_MIX,
    LTS,
    MINORITY_MIX,
    NO_DATA_MIX,
    OLD_AGE_LAW,
    PEOPLE,
    PSR_MIX_OLD,
    PSR_MIX_YOUNG,
    SHARE_18_64,
    SUPPORT_DETAILS,
    UNPAID_CARER_MIX,
    VISUAL_MIX,
    WHITE_BRITISH_BY_REGION,
    YES_NO_UNKNOWN_ASD,
)

#: The accommodation of everyone whose latest long-term support is in a care home or prison.
ACCOMMODATION_BY_SETTING = {
    LTS + "Residential Care": "Registered care home",
    LTS + "Nursing Care": "Registered nursing home",
    LTS + "Prison": "Prison / Young offenders institution / detention centre",
}


class Columns:
    """Accumulates blocks of columns (arrays or scalars) and concatenates them with defaults."""

    def __init__(self, defaults: dict[str, Any]):
        self.defaults = defaults
        self.blocks: list[tuple[int, dict[str, Any]]] = []

    def add(self, n: int, **cols: Any) -> None:
        unknown = set(cols) - set(self.defaults)
        if unknown:
            raise KeyError(sorted(unknown))
        if n:
            self.blocks.append((n, cols))

    def build(self) -> dict[str, np.ndarray]:
        out = {}
        for name, default in self.defaults.items():
            dtype = np.float64 if isinstance(default, float) else np.int64
            parts = [np.broadcast_to(np.asarray(cols.get(name, default), dtype=dtype), (n,)) for n, cols in self.blocks]
            out[name] = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        return out


#: Event columns and their values when a block does not set them.
EVENT_DEFAULTS: dict[str, Any] = {
    "person": -1,
    "etype": -1,
    "start": -1,
    "end": NEVER,
    "lag_start": 0,
    "lag_end": 0,
    "outcome": -1,
    "route": -1,
    "assess_type": -1,
    "eligible": -1,
    "assess_method": -1,
    "service_type": -1,
    "component": -1,
    "delivery": -1,
    "provider": -1,
    "review_reason": -1,
    "review_achieved": -1,
    "review_method": -1,
    "cost_freq": -1,
    "psr_blank": 0,
    "death_blank_end": 0,
    "description": -1,
    "unit_cost": np.nan,
    "units": np.nan,
}
#: Person columns and their values when a block does not set them.
PERSON_DEFAULTS: dict[str, Any] = {
    "client_type": 0,
    "dob": 0,
    "dod": NEVER,
    "dod_lag": 0,
    "gender": -1,
    "ethnicity": -1,
    "psr": -1,
    "accommodation": -1,
    "employment": -1,
    "unpaid_carer": -1,
    "asd": -1,
    "visual": -1,
    "hearing": -1,
    "dementia": -1,
    "funding": -1,
    "carer_hours": -1,
    "n_adults": -1,
    "linked1": -1,
    "linked2": -1,
    "gp": -1,
    "nhs_blank": 0,
    "dob_fault": 0,
}
EVENT_TYPES = ("Request", "Assessment", "Service", "Review")
#: Free-text event descriptions (an event's ``description`` indexes this tuple).
DESCRIPTIONS = (
    "Initial contact",
    "Needs assessment",
    "Care package",
    "Annual review",
    "Package change",
    "Reablement",
    "Carer support",
    "Hospital discharge",
)


@dataclass
class World:
    """The simulated truth of one council: people, events (true dates, recording lags), strings."""

    la_code: str
    region: str
    persons: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    strings: dict[str, pa.Array]  # per-person / per-event / pool strings
    horizon: int


@dataclass
class Simulation:
    """The state of one council's world while it is simulated: its random stream, the people and
    events added so far, and the simulated window from ``first_day`` to ``horizon`` (days)."""

    rng: np.random.Generator
    region: str
    persons: Columns
    events: Columns
    first_day: int
    horizon: int
    seed: int
    council_index: int

    @property
    def window(self) -> int:
        """Days simulated."""
        return self.horizon - self.first_day


def recording_lag(rng, mean: float, n: int) -> np.ndarray:
    """``n`` recording lags in whole days, exponential with mean ``mean``."""
    return np.floor(rng.exponential(mean, n)).astype(np.int64)


def draw_ages(rng, setting: str, n: int, share_young: float | None = None) -> np.ndarray:
    """Ages in years (float) of people in ``setting``."""
    young = rng.random(n) < (SHARE_18_64[setting] if share_young is None else share_young)
    low, shape, scale = OLD_AGE_LAW[setting]
    old_age = np.minimum(low + rng.gamma(shape, scale, n), PEOPLE["max_age"])
    beta_a, beta_b = PEOPLE["young_age_beta"]
    young_age = 18.0 + rng.beta(beta_a, beta_b, n) * 47.0
    return np.where(young, young_age, old_age)


def new_people(
    rng,
    persons: Columns,
    n: int,
    ages: np.ndarray,
    at_day: np.ndarray | int,
    region: str,
    client_type: str,
    settings: np.ndarray | None = None,
) -> np.ndarray:
    """Add ``n`` people aged ``ages`` (years) at ``at_day``; returns their person indices."""
    start = sum(k for k, _ in persons.blocks)
    ages = np.minimum(ages, 105.0)  # nonsense ages are faults, injected elsewhere
    young = ages < 65
    dob = np.asarray(at_day, dtype=np.int64) - np.floor(ages * 365.25).astype(np.int64)
    eth_mix = dict(NO_DATA_MIX)
    white = WHITE_BRITISH_BY_REGION.get(region, DEFAULT_WHITE_BRITISH)
    minority = LONDON_MINORITY_MIX if region == "London" else MINORITY_MIX
    rest = 1 - white - sum(NO_DATA_MIX.values())
    total = sum(minority.values())
    eth_mix["White - English, Welsh, Scottish, Northern Irish or British"] = white
    eth_mix.update({k: rest * v / total for k, v in minority.items()})
    psr = np.where(
        young,
        draw(rng, "Primary_Support_Reason", PSR_MIX_YOUNG, n),
        draw(rng, "Primary_Support_Reason", PSR_MIX_OLD, n),
    )
    accommodation = draw(rng, "Accommodation_Status", ACCOMMODATION_COMMUNITY, n)
    if settings is not None:
        for setting, value in ACCOMMODATION_BY_SETTING.items():
            accommodation = np.where(
                settings == code_of("Service_Type", setting), code_of("Accommodation_Status", value), accommodation
            )
    is_su = client_type == "Service User"
    if not is_su:
        psr = np.full(n, code_of("Primary_Support_Reason", "Social Support: Support to Carer"))
    persons.add(
        n,
        client_type=code_of("Client_Type", client_type),
        dob=dob,
        gender=draw(rng, "Gender", GENDER_MIX, n),
        ethnicity=draw(rng, "Ethnicity", eth_mix, n),
        psr=psr,
        accommodation=accommodation,
        employment=np.where(
            young,
            draw(rng, "Employment_Status", EMPLOYMENT_YOUNG, n),
            draw(rng, "Employment_Status", EMPLOYMENT_OLD, n),
        ),
        unpaid_carer=draw(rng, "Has_Unpaid_Carer", UNPAID_CARER_MIX, n),
        asd=draw(rng, "Autism_Spectrum_Disorder_ASD", YES_NO_UNKNOWN_ASD, n) if is_su else -1,
        visual=draw(rng, "Visual_Impairment", VISUAL_MIX, n) if is_su else -1,
        hearing=draw(rng, "Hearing_Impairment", HEARING_MIX, n) if is_su else -1,
        dementia=draw(rng, "Dementia", DEMENTIA_MIX, n) if is_su else -1,
        funding=draw(rng, "Client_Funding_Status", FUNDING_MIX, n) if is_su else -1,
        gp=np.where(rng.random(n) < PEOPLE["share_with_gp"], rng.integers(0, 25, n), -1),
    )
    return np.arange(start, start + n)


def service_details(rng, service_type: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Component, delivery mechanism, provider and costs for long-term service rows."""
    component = np.full(n, -1, dtype=np.int64)
    delivery = np.full(n, -1, dtype=np.int64)
    provider = np.full(n, -1, dtype=np.int64)
    cost_freq = np.full(n, -1, dtype=np.int64)
    unit_cost = np.full(n, np.nan)
    units = np.full(n, np.nan)
    community = service_type == code_of("Service_Type", LTS + "Community")
    names = list(COMMUNITY_COMPONENTS)
    weights = np.array([COMMUNITY_COMPONENTS[k]["weight"] for k in names], float)
    pick = rng.choice(len(names), size=n, p=weights / weights.sum())
    u_cost, u_units, u_deliv = rng.random(n), rng.random(n), rng.random(n)
    for i, name in enumerate(names):
        mask = community & (pick == i)
        component_law = COMMUNITY_COMPONENTS[name]
        freq = component_law["cost_frequency"]
        (c0, c1), (q0, q1) = component_law["unit_cost"], component_law["planned_units"]
        component[mask] = code_of("Service_Component", name)
        cost_freq[mask] = code_of("Cost_Frequency_Unit_Type", freq)
        unit_cost[mask] = np.round(c0 + u_cost[mask] * (c1 - c0), 2)
        units[mask] = np.round((q0 + u_units[mask] * (q1 - q0)) * 2) / 2
    is_dp = community & (component == code_of("Service_Component", "Direct Payment"))
    delivery[is_dp] = code_of("Delivery_Mechanism", "Direct Payment")
    other = community & ~is_dp
    delivery[other] = np.where(
        u_deliv[other] < SUPPORT_DETAILS["share_community_commissioned"],
        code_of("Delivery_Mechanism", "CASSR Commissioned Support"),
        code_of("Delivery_Mechanism", "CASSR Managed Personal Budget"),
    )
    home = (
        community
        & (component == code_of("Service_Component", "Home Support"))
        & (u_deliv < SUPPORT_DETAILS["share_home_support_with_provider"])
    )
    provider[home] = 40 + rng.integers(0, 20, int(home.sum()))
    for setting, comp in (
        (LTS + "Residential Care", "Long Term Residential Care"),
        (LTS + "Nursing Care", "Long Term Nursing Care"),
    ):
        mask = service_type == code_of("Service_Type", setting)
        c0, c1 = CARE_HOME_COST[setting]
        component[mask] = code_of("Service_Component", comp)
        cost_freq[mask] = code_of("Cost_Frequency_Unit_Type", "Weekly")
        unit_cost[mask] = np.round(c0 + u_cost[mask] * (c1 - c0), 2)
        units[mask] = 1.0
        provider[mask] = rng.integers(0, 40, int(mask.sum()))
        deliv = mask & (u_deliv < SUPPORT_DETAILS["share_care_home_delivery_recorded"])
        delivery[deliv] = code_of("Delivery_Mechanism", "CASSR Commissioned Support")
    prison = service_type == code_of("Service_Type", LTS + "Prison")
    component[prison] = code_of("Service_Component", "Professional Support")
    delivery[prison] = code_of("Delivery_Mechanism", "CASSR Commissioned Support")
    return {
        "component": component,
        "delivery": delivery,
        "provider": provider,
        "cost_freq": cost_freq,
        "unit_cost": unit_cost,
        "units": units,
    }


def events_within(rng, lo: np.ndarray, hi: np.ndarray, rate_per_year: float) -> tuple[np.ndarray, np.ndarray]:
    """Poisson event days in [lo, hi) per interval: (interval index per event, day)."""
    length = np.maximum(hi - lo, 0)
    counts = rng.poisson(length * rate_per_year / 365.25)
    owner = np.repeat(np.arange(len(lo)), counts)
    day = lo[owner] + np.floor(rng.random(len(owner)) * length[owner]).astype(np.int64)
    return owner, day


def whole_days(rng, bounds: list[int], n: int) -> np.ndarray:
    """``n`` whole numbers of days uniform from ``bounds[0]`` to ``bounds[1]``, both included."""
    low, high = bounds
    return rng.integers(low, high + 1, n)


def persons_dob(persons: Columns) -> np.ndarray:
    """Birth days of the people added so far (used while the world is being built)."""
    return np.concatenate([np.broadcast_to(np.asarray(c["dob"]), (n,)) for n, c in persons.blocks])


def carer_person_fields(rng, persons: Columns, who: np.ndarray, cared_for: np.ndarray, single: bool = False) -> None:
    """Carer fields of the last added block (``who``): hours, adults cared for, linked IDs."""
    k = len(who)
    if not k or not len(cared_for):
        return
    n, cols = persons.blocks[-1]
    has_link = np.ones(k, bool) if single else rng.random(k) < CARERS["share_linked"]
    linked = np.where(has_link, cared_for[rng.integers(0, len(cared_for), k)] if not single else cared_for, -1)
    two = (~np.asarray(single)) & has_link & (rng.random(k) < CARERS["share_caring_for_two"])
    cols["linked1"] = linked
    cols["linked2"] = np.where(two, cared_for[rng.integers(0, len(cared_for), k)], -1)
    cols["n_adults"] = np.where(two, 2, 1)
    cols["carer_hours"] = draw(rng, "Total_Hrs_Caring_per_week", CARER_HOURS, k)
    cols["unpaid_carer"] = code_of("Has_Unpaid_Carer", "Unknown")
    cols["employment"] = np.where(rng.random(k) < CARERS["share_employment_blank"], -1, cols["employment"])

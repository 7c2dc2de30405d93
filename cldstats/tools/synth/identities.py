"""Who the people are on paper: names, NHS and LA person numbers, postcodes, GP practices, providers.

The lists here are structural (not people, not distributions): small built-in name lists, some with
non-ASCII letters that fit Windows-1252, and the postcode areas of each region.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Small built-in name lists (not real people); some non-ASCII letters in Windows-1252.
FIRST_NAMES_FEMALE = (
    "Margaret",
    "Joan",
    "Patricia",
    "Susan",
    "Dorothy",
    "Jean",
    "Irene",
    "Mary",
    "Elizabeth",
    "Sarah",
    "Emily",
    "Grace",
    "Olivia",
    "Amelia",
    "Fatima",
    "Aisha",
    "Priya",
    "Amira",
    "Nkechi",
    "Mei",
    "Chloé",
    "Zoë",
    "Renée",
    "Siân",
    "Ana",
    "Beatriz",
    "Agnès",
    "Hélène",
)
FIRST_NAMES_MALE = (
    "John",
    "David",
    "Peter",
    "Michael",
    "James",
    "Robert",
    "George",
    "William",
    "Thomas",
    "Kevin",
    "Liam",
    "Noah",
    "Mohammed",
    "Ahmed",
    "Rajesh",
    "Arjun",
    "Kwame",
    "Chen",
    "Tomás",
    "José",
    "Andrés",
    "Björn",
    "François",
    "Jürgen",
    "Ñaki",
    "Raphaël",
    "Stefan",
    "Ian",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Wright",
    "Hughes",
    "Green",
    "Hall",
    "Patel",
    "Khan",
    "Ali",
    "Begum",
    "Hussain",
    "Okafor",
    "Mensah",
    "Nowak",
    "Kowalski",
    "O'Brien",
    "Murphy",
    "Muñoz",
    "Brontë",
    "Côté",
    "Müller",
    "Ng",
    "Wong",
    "Santos",
    "Ferreira",
    "Læssøe",
    "Doyle",
    "Clarke",
    "Kelly",
    "Shah",
)
PLACE_WORDS = (
    "Oak",
    "Elm",
    "Willow",
    "Beech",
    "Ash",
    "Cedar",
    "Rowan",
    "Holly",
    "Maple",
    "Birch",
    "Larch",
    "Meadow",
    "River",
    "Park",
    "Hill",
    "Church",
    "Mill",
    "Brook",
    "Grange",
    "Abbey",
)
POSTCODE_AREAS = {
    "North East": ("NE", "SR", "DH", "TS", "DL"),
    "North West": ("M", "L", "PR", "BL", "WN", "CA", "LA", "CH"),
    "Yorkshire and The Humber": ("LS", "BD", "S", "HU", "YO", "HD", "WF", "DN"),
    "East Midlands": ("NG", "DE", "LE", "LN", "NN"),
    "West Midlands": ("B", "CV", "WV", "ST", "WS", "DY"),
    "East of England": ("CB", "NR", "IP", "CO", "CM", "LU", "SG", "PE"),
    "London": ("E", "N", "SE", "SW", "W", "NW", "EN", "IG", "CR", "HA"),
    "South East": ("ME", "CT", "BN", "GU", "RG", "OX", "MK", "SO", "PO", "TN"),
    "South West": ("BS", "BA", "EX", "PL", "TR", "TA", "GL", "BH", "SN"),
}
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters allowed in the inward unit


def _nhs_numbers(rng, n: int) -> np.ndarray:
    """``n`` distinct 10-digit NHS numbers (prefix 400-799) with a valid modulus-11 check digit."""
    base = rng.choice(400_000_000, size=int(n * 1.2) + 10, replace=False) + 400_000_000
    digits = (base[:, None] // (10 ** np.arange(8, -1, -1))) % 10
    total = (digits * np.arange(10, 1, -1)).sum(axis=1)
    check = (11 - total % 11) % 11
    ok = check != 10
    return (base[ok] * 10 + check[ok])[:n]


def world_strings(rng, council: pd.Series, region: str, n_people: int, n_events: int, E) -> dict[str, pa.Array]:
    """Per-person and per-event strings, and the council's pools of GP practices and providers."""
    nhs = _nhs_numbers(rng, n_people)
    la_ids = rng.choice(9_000_000, size=n_people, replace=False) + 1_000_000
    areas = POSTCODE_AREAS.get(region, ("LS",))
    council_areas = [areas[i] for i in rng.choice(len(areas), size=min(2, len(areas)), replace=False)]
    area = pa.array(np.array(council_areas, dtype=object)[rng.integers(0, len(council_areas), n_people)], pa.string())
    letters = np.array(list(POSTCODE_UNIT_LETTERS), dtype=object)
    district = pa.array(rng.integers(1, 30, n_people)).cast(pa.string())
    sector = pa.array(rng.integers(0, 10, n_people)).cast(pa.string())
    unit = pc.binary_join_element_wise(
        pa.array(letters[rng.integers(0, 20, n_people)], pa.string()),
        pa.array(letters[rng.integers(0, 20, n_people)], pa.string()),
        "",
    )
    outward = pc.binary_join_element_wise(area, district, "")
    inward = pc.binary_join_element_wise(sector, unit, "")
    postcode = pc.binary_join_element_wise(outward, inward, " ")
    gp_letter = "ABCDEFGHJKLMNPY"[int(rng.integers(0, 15))]
    gp_codes = [f"{gp_letter}{c:05d}" for c in rng.choice(90_000, size=25, replace=False) + 10_000]
    words = rng.permutation(len(PLACE_WORDS))
    gp_names = [
        f"{PLACE_WORDS[words[i % len(words)]]} {('Surgery', 'Medical Centre', 'Health Centre', 'Practice')[i % 4]}"
        for i in range(25)
    ]
    cqc_ids = [f"1-{c}" for c in rng.choice(9_000_000_000, size=60, replace=False) + 100_000_000]
    provider_names = [
        f"{PLACE_WORDS[words[i % len(words)]]} {('House', 'Lodge', 'Court', 'Manor')[i % 4]}" for i in range(40)
    ] + [f"{PLACE_WORDS[words[i % len(words)]]} Homecare Ltd" for i in range(20)]
    ref = rng.choice(90_000_000, size=n_events, replace=False) + 10_000_000
    return {
        "nhs": pa.array(nhs).cast(pa.string()),
        "la_id": pc.binary_join_element_wise("P", pa.array(la_ids).cast(pa.string()), ""),
        "postcode": postcode,
        "gp_code": pa.array(gp_codes, pa.string()),
        "gp_name": pa.array(gp_names, pa.string()),
        "cqc_id": pa.array(cqc_ids, pa.string()),
        "cqc_name": pa.array(provider_names, pa.string()),
        "event_ref": pc.binary_join_element_wise("EV", pa.array(ref).cast(pa.string()), ""),
        "unit_cost": pc.cast(pa.array(E["unit_cost"], from_pandas=True), pa.string()),
        "units": pc.cast(pa.array(E["units"], from_pandas=True), pa.string()),
        "first_female": pa.array(FIRST_NAMES_FEMALE, pa.string()),
        "first_male": pa.array(FIRST_NAMES_MALE, pa.string()),
        "first_index": pa.array(rng.integers(0, len(FIRST_NAMES_FEMALE), n_people)),
        "last_index": pa.array(rng.integers(0, len(LAST_NAMES), n_people)),
    }

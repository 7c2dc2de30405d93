"""The council crosswalk: legacy CASSR codes and CLD council-name spellings to GSS codes.

NHS England's national CLD table names a council by a legacy three-digit ``LA_Code`` (the CASSR
code family) and a centrally attached ``LA_Name``, not by the ONS GSS code cldstats publishes by.
``cldstats/data/council_crosswalk.csv`` maps both to GSS for every council in
:func:`cldstats.reference.lists.councils`: one row per spelling (the ONS name, plus the CLD
spellings seen in DHSC's code), each with the legacy code where a public source gives it, its
``confidence`` (``confirmed``: in DHSC's CLD code; ``published``: in NHS Digital's published
ASC-FR data beside the GSS code; ``none``: no public code, matched by name only) and ``source``.
"""

from __future__ import annotations

import functools
from importlib import resources

import pandas as pd

from cldstats.reference import lists

#: Columns of the shipped crosswalk file, in order.
CROSSWALK_COLUMNS = ("la_code_legacy", "la_name_cld", "gss_code", "confidence", "source")
#: The confidence words a crosswalk row may carry.
CONFIDENCES = ("confirmed", "published", "none")


def _name_key(names: pd.Series) -> pd.Series:
    # DHSC's SQL Server compares names case-insensitively; spacing is not meaningful either.
    return names.astype("string").str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)


def _code_key(codes: pd.Series) -> pd.Series:
    # A CSV export may carry '714' as the integer 714 or as '714.0' after a float round trip.
    text = codes.astype("string").str.strip()
    return text.str.replace(r"\.0+$", "", regex=True)


@functools.cache
def crosswalk() -> pd.DataFrame:
    """The shipped crosswalk, checked.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CROSSWALK_COLUMNS`, all strings (``la_code_legacy`` ``""`` where no code is
        known), one row per (council, spelling).

    Raises
    ------
    ValueError
        If a council of :func:`~cldstats.reference.lists.councils` is missing, a GSS code is not a
        council, a spelling or a legacy code names two councils, one council carries two legacy
        codes, or a confidence word is unknown.
    """
    path = resources.files("cldstats").joinpath("data").joinpath("council_crosswalk.csv")
    with path.open(encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
    if tuple(frame.columns) != CROSSWALK_COLUMNS:
        raise ValueError(f"council_crosswalk.csv columns must be {', '.join(CROSSWALK_COLUMNS)}")
    councils = set(lists.council_codes())
    gss = set(frame["gss_code"])
    if gss != councils:
        raise ValueError(f"council_crosswalk.csv must cover exactly the {len(councils)} councils "
                         f"(missing {sorted(councils - gss)[:3]}, unknown {sorted(gss - councils)[:3]})")
    names = frame.assign(key=_name_key(frame["la_name_cld"])).drop_duplicates(["key", "gss_code"])
    if names["key"].duplicated().any():
        raise ValueError("council_crosswalk.csv: a council name spelling maps to two councils")
    coded = frame.loc[frame["la_code_legacy"].ne(""), ["la_code_legacy", "gss_code"]].drop_duplicates()
    if coded["la_code_legacy"].duplicated().any() or coded["gss_code"].duplicated().any():
        raise ValueError("council_crosswalk.csv: a legacy code must name one council and a council carry one code")
    if not frame["la_code_legacy"].str.fullmatch(r"(\d{3})?").all():
        raise ValueError("council_crosswalk.csv: legacy codes are three digits or blank")
    if not frame["confidence"].isin(CONFIDENCES).all():
        raise ValueError(f"council_crosswalk.csv: confidence must be one of {', '.join(CONFIDENCES)}")
    return frame


def legacy_la_codes() -> dict[str, str]:
    """The legacy (CASSR) code of every council.

    Returns
    -------
    dict of str to str
        GSS code -> legacy three-digit code, ``""`` where no public source gives one; every council
        of :func:`~cldstats.reference.lists.councils` is a key.
    """
    frame = crosswalk()
    by_council = frame.groupby("gss_code")["la_code_legacy"].max()
    return {code: by_council[code] for code in lists.council_codes()}


def gss_for(la_code: pd.Series, la_name: pd.Series) -> pd.Series:
    """The GSS code of each (legacy ``LA_Code``, ``LA_Name``) pair, vectorised.

    The legacy code decides where it is known to the crosswalk; otherwise the name does (matched
    ignoring case and spacing). A pair whose code and name both match but name different councils
    is not matched.

    Parameters
    ----------
    la_code, la_name : pandas.Series
        Aligned series; missing values allowed.

    Returns
    -------
    pandas.Series
        String series on ``la_code``'s index: the GSS code, or ``<NA>`` where the pair is unmatched.
    """
    frame = crosswalk()
    codes = frame.loc[frame["la_code_legacy"].ne("")].drop_duplicates("la_code_legacy")
    by_code = pd.Series(codes["gss_code"].to_numpy(), index=codes["la_code_legacy"].to_numpy())
    names = frame.assign(key=_name_key(frame["la_name_cld"])).drop_duplicates("key")
    by_name = pd.Series(names["gss_code"].to_numpy(), index=names["key"].to_numpy())
    from_code = _code_key(la_code.reset_index(drop=True)).map(by_code).astype("string")
    from_name = _name_key(la_name.reset_index(drop=True)).map(by_name).astype("string")
    result = from_code.fillna(from_name)
    conflict = from_code.notna() & from_name.notna() & from_code.ne(from_name)
    result = result.mask(conflict.fillna(False).astype(bool))
    result.index = la_code.index
    return result


#: Start of the ``source`` of a crosswalk row that gives a CLD spelling of a council's name.
CLD_SPELLING_SOURCE = "CLD spelling"


def cld_names() -> dict[str, str]:
    """The name the national table gives each council: its CLD spelling where DHSC's code shows one,
    else its ONS name (the synthetic national extract writes these).

    Returns
    -------
    dict of str to str
        GSS code -> name, every council of :func:`~cldstats.reference.lists.councils`.
    """
    frame = crosswalk()
    spelled = frame[frame["source"].str.startswith(CLD_SPELLING_SOURCE)].drop_duplicates("gss_code")
    names = dict(zip(lists.councils()["la_code"], lists.councils()["la_name"], strict=True))
    names.update(dict(zip(spelled["gss_code"], spelled["la_name_cld"], strict=True)))
    return {code: names[code] for code in lists.council_codes()}

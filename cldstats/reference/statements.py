"""Every reader-facing statement of the method, built from the resolved params and reference data.

The HTML pages, the workbooks' cover and notes, the chart footnotes and alt text all take their
words about the method from here: rounding, suppression, the symbols and their meanings, the
definitions of the two measures, coverage, the look-back, the adult age and the start of the
collection. No prose elsewhere restates a parameter, so a run with ``disclosure.rounding_base: 10``
says "nearest 10" everywhere it rounds to 10. docs/methodology.md is the binding definition these
sentences summarise.

:class:`MethodFacts` gathers the facts once (from params, or from a release's ``manifest.json``);
the functions below turn them into sentences. :data:`SYMBOLS` is the one table of the symbols a
release uses and what each means.

Examples
--------
>>> facts = MethodFacts(rounding_base=10, suppress_max=9)
>>> rounding_sentence(facts)
'Counts are rounded to the nearest 10 (halves up) and counts of 1 to 9 are suppressed and shown as [c].'
>>> SYMBOLS["[c]"].meaning(facts)
'confidential: a count of 1 to 9 before rounding, suppressed to protect individuals'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from cldstats.reference import lists

__all__ = [
    "AS_OF_NAME",
    "CELL_SYMBOLS",
    "CONFIDENTIAL",
    "NOT_APPLICABLE",
    "NOT_AVAILABLE",
    "PROVISIONAL",
    "REVISED",
    "SYMBOLS",
    "MethodFacts",
    "SelectionFacts",
    "Symbol",
    "adass_sentence",
    "adults_phrase",
    "areas_sentence",
    "cell_symbols_phrase",
    "councils_of_total",
    "count_units",
    "coverage_sentence",
    "definition",
    "independent_rounding_sentence",
    "look_back_phrase",
    "mapped_values_sentence",
    "no_year_earlier_sentence",
    "rate_counts_sentence",
    "rate_rounding_sentence",
    "rates_sentence",
    "reporting_period_phrase",
    "rounding_sentence",
    "rounding_short",
    "selection_sentence",
    "symbol_list",
]


@dataclass(frozen=True)
class MethodFacts:
    """The facts a release's statements are made of.

    Attributes
    ----------
    rounding_base, suppress_max : int
        Disclosure control (params ``disclosure``).
    adult_age, look_back_days : int
        The method's constants (params ``method``).
    councils_total : int
        Councils with adult social services responsibilities (reference data; 0 means "count them").
    financial_assessment_prefix : str
        Assessments whose type begins with this are not counted (params ``method``).
    collection_start : str
        ``"YYYY-MM-DD"``: the first day of the collection (params ``collection_start``).
    adass_assign : tuple of (str, str)
        ``params: areas.adass_assign`` as sorted (GSS code, ADASS region) pairs, blank ones left out.
    """

    rounding_base: int = 5
    suppress_max: int = 4
    adult_age: int = 18
    look_back_days: int = 365
    councils_total: int = 0
    financial_assessment_prefix: str = "Financial Assessment"
    collection_start: str = "2023-04-01"
    adass_assign: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.councils_total:
            object.__setattr__(self, "councils_total", len(lists.councils()))

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> MethodFacts:
        """The facts of a run from its resolved params (``load_params`` or a manifest's ``params``)."""
        disclosure = params["disclosure"]
        method = params["method"]
        return cls(
            rounding_base=int(disclosure["rounding_base"]),
            suppress_max=int(disclosure["suppress_max"]),
            adult_age=int(method["adult_age"]),
            look_back_days=int(method["look_back_days"]),
            councils_total=len(lists.councils()),
            financial_assessment_prefix=str(method["financial_assessment_prefix"]),
            collection_start=str(params["collection_start"]),
            # .get: a manifest of a release made before ADASS regions has no "areas" params. A blank
            # assignment is the default, so it is left out (the defaults' facts equal MethodFacts()).
            adass_assign=tuple(sorted((str(k), str(v).strip()) for k, v in
                                      params.get("areas", {}).get("adass_assign", {}).items() if str(v).strip())),
        )

    @property
    def suppressed_range(self) -> str:
        """The counts suppressed, ``"1 to <suppress_max>"`` (``"1"`` when only ones are).

        >>> MethodFacts(rounding_base=10, suppress_max=9).suppressed_range, MethodFacts(1, 1).suppressed_range
        ('1 to 9', '1')
        """
        return "1" if self.suppress_max == 1 else f"1 to {self.suppress_max}"

    @property
    def look_back_phrase(self) -> str:
        """``"12 months"`` for 365 days, else the days."""
        return look_back_phrase(self.look_back_days)

    @property
    def collection_start_month(self) -> str:
        """The month the collection starts, e.g. ``"April 2023"`` for ``collection_start: "2023-04-01"``."""
        return f"{dt.date.fromisoformat(self.collection_start[:10]):%B %Y}"


def look_back_phrase(days: int) -> str:
    """The look-back in words: ``"12 months"`` for 365 days (a year, as the method says), else the days.

    Examples
    --------
    >>> look_back_phrase(365), look_back_phrase(90), look_back_phrase(1)
    ('12 months', '90 days', '1 day')
    """
    if days == 365:
        return "12 months"
    return f"{days} day{'s' if days != 1 else ''}"


# ---------------------------------------------------------------------------------------------
# Symbols (Government Analysis Function): the one table of them
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Symbol:
    """A symbol and its meaning (the meaning may depend on the facts, e.g. the suppressed range).

    Attributes
    ----------
    symbol : str
        As published, e.g. ``"[c]"``.
    short : str
        One or two words, for a cover's list of symbols.
    in_cell : bool
        The symbol stands in a cell instead of a number (``[c]``, ``[x]``, ``[z]``); the others
        mark a number (``[p]`` in a header, ``[r]`` in a flag or column).
    """

    symbol: str
    short: str
    in_cell: bool
    _meaning: Callable[[MethodFacts], str]

    def meaning(self, facts: MethodFacts) -> str:
        """The full meaning for these facts, starting with :attr:`short`."""
        return self._meaning(facts)


CONFIDENTIAL, NOT_AVAILABLE, NOT_APPLICABLE, PROVISIONAL, REVISED = "[c]", "[x]", "[z]", "[p]", "[r]"

#: Every symbol a release uses, in the order the notes list them.
SYMBOLS: dict[str, Symbol] = {
    s.symbol: s
    for s in (
        Symbol(CONFIDENTIAL, "confidential", True,
               lambda f: f"confidential: a count of {f.suppressed_range} before rounding, suppressed to protect "
                         "individuals"),
        Symbol(NOT_AVAILABLE, "not available", True,
               lambda f: "not available: the council had no usable submission, or the period is before its data"),
        Symbol(NOT_APPLICABLE, "not applicable", True,
               lambda f: "not applicable: no population for this breakdown value"),
        Symbol(PROVISIONAL, "provisional", False, lambda f: "provisional: every figure of this release"),
        Symbol(REVISED, "revised", False,
               lambda f: "revised: differs from the most recent earlier release that contains the figure"),
    )
}

#: The symbols a published cell may hold instead of a number.
CELL_SYMBOLS: tuple[str, ...] = tuple(s.symbol for s in SYMBOLS.values() if s.in_cell)


def _or_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def cell_symbols_phrase() -> str:
    """``"[c], [x] or [z]"``: the symbols a cell may hold instead of a number."""
    return _or_list(CELL_SYMBOLS)


def symbol_list(facts: MethodFacts | None = None, *, full: bool = False) -> str:
    """``"[c] confidential, [x] not available, ..."`` (``full``: with each symbol's meaning)."""
    facts = facts or MethodFacts()
    if full:
        return "; ".join(f"{s.symbol} {s.meaning(facts)}" for s in SYMBOLS.values()) + "."
    return ", ".join(f"{s.symbol} {s.short}" for s in SYMBOLS.values()) + "."


# ---------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------
def rounding_short(facts: MethodFacts) -> str:
    """``"rounded to the nearest <base>"``: for footnotes and commentary.

    >>> rounding_short(MethodFacts(rounding_base=10, suppress_max=9))
    'rounded to the nearest 10'
    """
    return f"rounded to the nearest {facts.rounding_base}"


def rounding_sentence(facts: MethodFacts) -> str:
    """The disclosure control rule, in one sentence."""
    return (f"Counts are {rounding_short(facts)} (halves up) and counts of {facts.suppressed_range} are "
            f"suppressed and shown as {CONFIDENTIAL}.")


def independent_rounding_sentence() -> str:
    """Why parts may not add up: each cell is rounded on its own."""
    return "Each cell is rounded on its own, so parts may not sum to totals."


def rate_rounding_sentence() -> str:
    """How a published rate is rounded."""
    return "Rates are computed from unrounded counts and rounded to a whole number."


def count_units(facts: MethodFacts) -> str:
    """``"Number of people, rounded to the nearest <base>"``: the units line of a count table."""
    return f"Number of people, {rounding_short(facts)}"


def adults_phrase(facts: MethodFacts) -> str:
    """``"adults (<adult age> and over)"``."""
    return f"adults ({facts.adult_age} and over)"


def definition(facts: MethodFacts, measure: str) -> str:
    """The definition of ``measure`` (``long_term_support`` or ``assessments``) in plain words."""
    if measure == "long_term_support":
        return (
            f"People receiving long-term support: {adults_phrase(facts)} with at least one long-term service "
            "(Client Type Service user, Event Type Service) that had started on or before the month end and had not "
            "ended before it (a person who died on the month end is counted). Each person is counted once per council, "
            "in their best-ranked support setting ("
            + ", ".join(s.lower() for s in lists.SETTING_RANK) + ")."
        )
    if measure == "assessments":
        return (
            f"People assessed: {adults_phrase(facts)} with an assessment (not a financial assessment) that ended in "
            f"the month and no long-term support in the {facts.look_back_phrase} before it. A person assessed more "
            "than once in a month is counted once; the total counts each month's people and so may count a person "
            "more than once."
        )
    raise ValueError(f"unknown measure {measure!r}")


def areas_sentence(facts: MethodFacts) -> str:
    """What the areas are and how they add up."""
    regions = len(lists.regions()) - 1
    adass = len(lists.adass_regions())
    return (f"Areas are councils with adult social services responsibilities, the {regions} regions, the {adass} "
            "ADASS regions and England. Region, ADASS region and England figures are sums of council figures, so a "
            "person supported by two councils is counted in both, as in the Short and Long Term (SALT) return. "
            f"People under {facts.adult_age} are excluded.")


def adass_sentence(facts: MethodFacts) -> str:
    """ADASS regions: what their codes are, and every council whose membership is not confirmed.

    Built from the shipped membership table and ``facts.adass_assign``, so it names exactly the
    councils a run put in an ADASS region on inference or by assignment.
    """
    membership = lists.adass_membership(dict(facts.adass_assign))
    codes = lists.adass_regions()["area_code"]
    confirmed = int(membership["membership"].eq("confirmed").sum())

    def listed(rows) -> str:
        by_region = rows.groupby("adass_region", sort=False)
        order = [r for r in lists.adass_region_names() if r in by_region.groups]
        return "; ".join(f"{region}: " + ", ".join(f"{r.la_name} ({r.la_code})" for r in by_region.get_group(region)
                                                  .itertuples()) for region in order)

    inferred = membership[membership["membership"].eq("inferred")]
    assigned = membership[membership["membership"].eq("assigned")]
    how = {"params": "as the params of this run set", "ONS region": "the ADASS region of its ONS region, by default"}
    assigned_text = "; ".join(f"{r.la_name} ({r.la_code}) to {r.adass_region} ({how[r.assigned_by]})"
                              for r in assigned.itertuples())
    text = (f"ADASS regions are the regions of the Association of Directors of Adult Social Services, which differ "
            f"from the ONS regions. They have no ONS (GSS) code: their area codes ({codes.iloc[0]} to "
            f"{codes.iloc[-1]}) are assigned by this publication and are not ONS codes. They have no published "
            f"population, so their rates are {NOT_APPLICABLE}. Membership of {confirmed} councils is confirmed "
            "by the Care Quality Commission's ADASS-region field.")
    if len(inferred):
        text += f" Membership of {len(inferred)} councils is inferred: {listed(inferred)}."
    if len(assigned):
        text += f" The sources conflict for {len(assigned)} councils, assigned as follows: {assigned_text}."
    return text


def councils_of_total(facts: MethodFacts, councils_selected: int) -> str:
    """``"<selected> of <councils in England> councils"``.

    >>> councils_of_total(MethodFacts(councils_total=150), 149)
    '149 of 150 councils'
    """
    return f"{councils_selected} of {facts.councils_total} councils"


def coverage_sentence(facts: MethodFacts, councils_selected: int) -> str:
    """How many councils had a submission selected, of all councils, and the share.

    >>> coverage_sentence(MethodFacts(councils_total=150), 120)
    '120 of 150 councils (80.0%) had a submission selected for this release.'
    """
    share = councils_selected / facts.councils_total if facts.councils_total else 0.0
    return f"{councils_of_total(facts, councils_selected)} ({share:.1%}) had a submission selected for this release."


def no_year_earlier_sentence(facts: MethodFacts) -> str:
    """Why a release in the collection's first year has no change on the year."""
    return (f"No figure for a year earlier is published yet (the collection starts in "
            f"{facts.collection_start_month}), so there is no change on the year.")


def rates_sentence(facts: MethodFacts) -> str:
    """How rates are computed and which populations they divide by."""
    groups = lists.AGE_GROUPS
    age = lists.POPULATION_SOURCES["age_group"]
    ethnicity = lists.POPULATION_SOURCES["ethnicity"]
    last_band = lists.RATE_AGE_BANDS[-1].label
    return (
        "Rates are per 100,000 people in the population of the breakdown value, computed from unrounded counts and "
        f"rounded to a whole number: All over adults {facts.adult_age} and over, "
        + " and ".join(g.label for g in groups) + f" and each age band (the last {last_band}) over those ages, "
        f"Female and Male over those genders ({age}); each ethnicity group and subgroup over that ethnic group "
        f"({ethnicity}). Ethnicity rates use a different population ({ethnicity}) from age and gender rates and are "
        "not comparable with them. The populations are those DHSC publishes with its rate tables. Region and "
        "England populations sum the councils with data; councils have no ethnicity subgroup population, so a "
        f"subgroup rate is published for a region or England only when all its councils have data "
        f"({NOT_AVAILABLE} otherwise). Unknown, Other and No data values and ADASS regions have no population "
        f"({NOT_APPLICABLE})."
    )


def rate_counts_sentence(measure: str) -> str:
    """Which count a measure's rates divide: each month end's (long-term support) or the total
    over the release's months (people assessed)."""
    if measure == "long_term_support":
        return ("Long-term support rates divide the number of people receiving long-term support at each month end "
                "(the latest month end in the last period column).")
    if measure == "assessments":
        return ("Assessment rates divide the total number of people assessed over the release's 12 months (the Total "
                "column), not a single month.")
    raise ValueError(f"unknown measure {measure!r}")


# ---------------------------------------------------------------------------------------------
# Submission selection: the as-of date, the reporting period, files excluded or included by hand
# ---------------------------------------------------------------------------------------------
#: DHSC's name for the cut-off (params ``selection.as_of``): its code selects submissions "as of" a
#: fixed date.
AS_OF_NAME = "as-of date"


@dataclass(frozen=True)
class SelectionFacts:
    """How a release chose each council's submission (params ``selection``; docs/methodology.md
    section 2), as the notes sheet, the QA report and the manifest state it.

    Attributes
    ----------
    as_of : str
        ``"YYYY-MM-DD"``: the cut-off, DHSC's as-of date (``selection.as_of``).
    reporting_period : str
        ``"stated"`` or ``"derived"`` (``selection.reporting_period``).
    excluded, included : tuple of (str, str)
        ``(file, reason)`` of each file excluded or included by hand.
    """

    as_of: str
    reporting_period: str = "stated"
    excluded: tuple[tuple[str, str], ...] = ()
    included: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SelectionFacts:
        """From the manifest's ``selection`` record (``cldstats.pipeline.manifest.selection_record``)."""
        return cls(
            as_of=str(record["as_of"]),
            reporting_period=str(record["reporting_period"]),
            excluded=tuple((str(e["file"]), str(e["reason"])) for e in record.get("excluded") or ()),
            included=tuple((str(e["file"]), str(e["reason"])) for e in record.get("included") or ()),
        )


def _long_date(day: str) -> str:
    date = dt.date.fromisoformat(day)
    return f"{date.day} {date:%B %Y}"


def reporting_period_phrase(reporting_period: str) -> str:
    """What a file's reporting period is taken to be, for ``stated`` or ``derived``."""
    if reporting_period == "derived":
        return ("derived from its data as DHSC derives it (the months its events end in, leaving out months with "
                "under 2% of its events or with few event types; a file with under 100 events keeps its stated "
                "period)")
    return "the period stated in the file (its Reporting Period Start and End Date)"


def selection_sentence(facts: SelectionFacts) -> str:
    """The notes sheet's sentence on how each council's submission was chosen.

    >>> selection_sentence(SelectionFacts("2026-05-05"))  # doctest: +ELLIPSIS
    "Each council's latest submission made on or before 5 May 2026 (the cut-off, DHSC's as-of date) ... by hand."
    """
    text = (f"Each council's latest submission made on or before {_long_date(facts.as_of)} (the cut-off, DHSC's "
            f"{AS_OF_NAME}) whose reporting period covers the last month end was used; all months come from that "
            f"one file. A file's reporting period is {reporting_period_phrase(facts.reporting_period)}.")
    for what, files in (("excluded from", facts.excluded), ("included in", facts.included)):
        if files:
            text += (f" Files {what} the selection by hand: "
                     + "; ".join(f"{file} ({reason})" for file, reason in files) + ".")
    if not facts.excluded and not facts.included:
        text += " No file was excluded or included by hand."
    return text


def mapped_values_sentence(values: int, fields: int, folder: str) -> str:
    """How many submitted values the hand-maintained mapping tables mapped to valid values
    (params ``selection.mappings``); ``""`` when none was (the notes then say nothing of it).

    >>> mapped_values_sentence(3, 2, "mappings").split(";")[0]
    '3 submitted values in 2 fields were mapped by hand to valid values (mappings/)'
    >>> mapped_values_sentence(1, 1, "/srv/cld/mappings").split(";")[0]
    '1 submitted value in 1 field was mapped by hand to a valid value (mappings/)'
    >>> mapped_values_sentence(0, 0, "mappings")
    ''
    """
    if not values:
        return ""
    noun, verb, target = ("submitted value", "was", "a valid value") if values == 1 else (
        "submitted values", "were", "valid values")
    field_noun = "field" if fields == 1 else "fields"
    # The folder by its name only: a published workbook names no path of the machine that made it.
    name = PurePath(folder.rstrip("/\\") or "mappings").name
    return (f"{values} {noun} in {fields} {field_noun} {verb} mapped by hand to {target} "
            f"({name}/); every other value outside the code lists is invalid (blank for the measures).")

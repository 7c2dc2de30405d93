"""The two measures, unrounded (METHODOLOGY.md sections 4 and 5; architecture Contract 4).

* :func:`long_term_support` -- people receiving long-term support at each month end of a release,
  per council, support setting and breakdown.
* :func:`people_assessed` -- people assessed per calendar month who had no long-term support in the
  previous 12 months, per council and breakdown, with a ``Total`` over the months.
* :func:`area_table` -- council tables widened to every council (``[x]`` as missing), the 9 regions
  and England, with ``councils_included``; :func:`rates_unrounded` adds populations and rates.
* :func:`exclusion_counts` -- rows excluded per file and reason.

How it is computed (national scale: ~5M rows, ~680k people at a month end)
------------------------------------------------------------------------------
Each selected file is reduced once to whole-column integer arrays (person number within the file,
day numbers, setting rank, attribute codes; ``SelectedFile._rows``), shared by both measures;
categorical columns are compared once per category, never row by row as text. For measure 1 the
qualifying rows of all files are sorted once by (file, person, rank); a month ends x rows boolean
matrix (numpy broadcasting on day numbers) says which month ends each row covers, and its non-zero
cells, taken month end first, are the (month end, row) pairs already grouped by person-month. A
person with one qualifying row in the file (70% of rows) is counted directly at each month end it
covers; for the others the best rank is each run's first row and each attribute is chosen with
``ufunc.reduceat`` over the runs of more than one row (no per-person Python). Measure 2 joins
assessments to prior long-term support rows on (file, person) with sorted keys. Counts come from
one ``bincount`` over (file, month end, setting, age band, gender, ethnicity), and every published
breakdown is a sum over that cube's axes, so breakdowns add up to ``All`` by construction.

Decisions where METHODOLOGY.md is silent (documented here, tested in ``tests/test_measures.py``)
-----------------------------------------------------------------------------------------------
* A row's own ``Date_of_Death`` adjusts its end date (the field is recorded per row).
* Attribute choice for measure 1 (section 4): "known" for birth month/year means giving a known
  age (0 to 115) at the month end. After choosing, age is taken from the chosen birth month/year.
* Measure 2: "latest qualifying assessment" is the latest ``Event End Date`` in the month; rows
  sharing it are tied and resolved as in section 4 (drop unknown where a known exists, keep the
  latest ``Event Start Date``, several distinct values left -> unknown). A blank
  ``Assessment_Type`` does not begin ``Financial Assessment`` and so qualifies. The prior-support
  check uses usable (not excluded) ``Service User`` rows with a long-term ``Service_Type``,
  whatever their ``Event_Type``.
* A month (measure 2) or month end (measure 1) whose month end is before the file's
  ``Reporting Period Start Date`` is unavailable for that council. The council's ``Total`` sums its
  available months; a person assessed in two months counts in both (the Total sums the months).
* Period labels: ``reference_date`` is an ISO ``YYYY-MM-DD`` string, ``reference_month`` a
  ``YYYY-MM`` string or ``Total``.
* Sort order of every table: period (chronological, ``Total`` last), area level (England, Region,
  Local Authority), area code, support setting (``All``, Community, Residential care, Nursing care,
  Prison), breakdown (``reference.BREAKDOWNS`` order), breakdown value (published order: age
  groups/bands ascending then ``Unknown``; genders ``Female, Male, Other, Unknown``; ethnicity in
  spec order).
* ``councils_included``: ``"<n> of <N>"`` -- councils with data for that period out of 153
  (England), out of the region's councils (Region), ``1 of 1`` / ``0 of 1`` for a council.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from cldstats import derive, reference
from cldstats.spec import load_spec

__all__ = [
    "BREAKDOWN_VALUES",
    "RECORD_COLUMNS",
    "STATUS_COLUMNS",
    "TOTAL",
    "SelectedFile",
    "area_table",
    "breakdown_template",
    "exclusion_counts",
    "long_term_support",
    "people_assessed",
    "rates_unrounded",
]

TOTAL = "Total"

#: The Contract 1 ``records`` columns the measures (and ``derive.exclusion_reasons``) read: all a
#: :class:`SelectedFile` needs. Validation workers hand back only these (``keep_submissions``).
RECORD_COLUMNS = (
    "person_id",
    "person_id_source",
    "birth_year",
    "birth_month",
    "Client_Type",
    "Event_Type",
    "Service_Type",
    "Assessment_Type",
    "Gender",
    "Ethnicity",
    "Event_Start_Date",
    "Event_End_Date",
    "Date_of_Death",
    "Reporting_Period_Start_Date",
)
#: The Contract 1 ``status`` columns the measures read (an invalid end date told from a blank one).
STATUS_COLUMNS = ("Event_End_Date",)

# ---------------------------------------------------------------------------------------------
# Published categories and the cube axes they are sums over
# ---------------------------------------------------------------------------------------------
_GENDERS = reference.genders()  # Female, Male, Other, Unknown
_ETHNICITY_VALUES = list(load_spec().by_name["Ethnicity"].code_list)  # 21, spec order
_ETHNICITY_UNKNOWN_CODE = _ETHNICITY_VALUES.index(reference.ETHNICITY_NO_DATA_UNKNOWN)
_ETHNICITY_GROUPS = reference.ethnicity_groups()
_ETHNICITY_SUBGROUPS = reference.ethnicity_subgroup_labels()
_BANDS = reference.age_band_labels(reference.AGE_BANDS)  # 7 bands + Unknown
_GROUPS = reference.age_band_labels(reference.AGE_GROUPS)  # 2 groups + Unknown
_RANKED_SETTINGS = list(reference.SETTING_RANK)  # Nursing, Residential, Community, Prison

#: Breakdown -> its published values, in table order.
BREAKDOWN_VALUES: dict[str, list[str]] = {
    "All": ["All"],
    "Age group": _GROUPS,
    "Age band": _BANDS,
    "Gender": _GENDERS,
    "Ethnicity group": _ETHNICITY_GROUPS,
    "Ethnicity": _ETHNICITY_SUBGROUPS,
}

# Age band (index into _BANDS) -> age group index: bands 0-2 are 18 to 64, 3-6 are 65+, 7 Unknown.
_BAND_TO_GROUP = np.array(
    [0 if reference.AGE_BANDS[i].low < 65 else 1 for i in range(len(reference.AGE_BANDS))] + [2]
)
_ETHNICITY_TO_GROUP = np.array([_ETHNICITY_GROUPS.index(reference.ethnicity_group(v)) for v in _ETHNICITY_VALUES])
_BAND_LOWS = np.array([b.low for b in reference.AGE_BANDS])

_MIN_DAY = np.iinfo(np.int64).min
_DAYS_365 = 365


@dataclass(frozen=True)
class SelectedFile:
    """One council's selected submission, as the measures need it.

    Attributes
    ----------
    la_code : str
        GSS code of the council.
    file : str
        File name (for the exclusion counts).
    records : pandas.DataFrame
        Contract 1 records.
    status : pandas.DataFrame, optional
        Contract 1 per-cell status; lets an invalid ``Event_End_Date`` be told from a blank one.
    period_start : datetime.date, optional
        The file's ``Reporting Period Start Date``; when None, the earliest
        ``Reporting_Period_Start_Date`` in ``records`` (no restriction if that is blank too).
    """

    la_code: str
    file: str
    records: pd.DataFrame
    status: pd.DataFrame | None = None
    period_start: dt.date | None = None

    def start_day(self) -> int:
        """Day number of the reporting period start (very early when unknown)."""
        start = self.period_start
        if start is None and "Reporting_Period_Start_Date" in self.records:
            start = self.records["Reporting_Period_Start_Date"].min()
        if start is None or pd.isna(start):
            return _MIN_DAY
        return int(derive.day_numbers(pd.Timestamp(start)))

    @property
    def rows_used(self) -> int:
        """Rows the measures read (no exclusion reason), counted from the mask both measures use."""
        return int(np.count_nonzero(self._rows.usable))

    @functools.cached_property
    def _rows(self) -> _FileRows:
        # Computed on first use and kept with the file: both measures read the same arrays.
        return _file_rows(self)


@dataclass(frozen=True)
class _FileRows:
    """Per-row arrays of one selected file that both measures read (whole columns, row order).

    ``usable``: no exclusion reason; ``service_user``, ``service``, ``assessment``, ``financial``:
    ``Client_Type``, ``Event_Type`` and ``Assessment_Type`` tests; ``rank``: setting rank (0 not
    long-term); ``person``: person number within the file; ``gender``, ``ethnicity``: codes, -1
    unknown; ``first_day``: first day of the birth month (``OPEN_END`` unknown); ``start``,
    ``end``: event start and end day (``_MIN_DAY`` when missing); ``adjusted_end``: death-adjusted
    end day (``OPEN_END`` when open).
    """

    usable: np.ndarray
    service_user: np.ndarray
    service: np.ndarray
    assessment: np.ndarray
    financial: np.ndarray
    rank: np.ndarray
    person: np.ndarray
    gender: np.ndarray
    ethnicity: np.ndarray
    first_day: np.ndarray
    start: np.ndarray
    end: np.ndarray
    adjusted_end: np.ndarray


def _file_rows(selected: SelectedFile) -> _FileRows:
    """The :class:`_FileRows` of a file: each column turned into numbers once, by whole columns."""
    records = selected.records
    gender = _codes(records["Gender"], _GENDERS)
    gender[gender == _GENDERS.index(reference.UNKNOWN)] = -1
    ethnicity = _codes(records["Ethnicity"], _ETHNICITY_VALUES)
    ethnicity[ethnicity == _ETHNICITY_UNKNOWN_CODE] = -1
    return _FileRows(
        usable=_usable(selected),
        service_user=_equals(records["Client_Type"], "Service User"),
        service=_equals(records["Event_Type"], "Service"),
        assessment=_equals(records["Event_Type"], "Assessment"),
        financial=_starts_with(records["Assessment_Type"], "Financial Assessment"),
        rank=derive.setting_rank(records["Service_Type"]),
        person=_person_codes(records),
        gender=gender,
        ethnicity=ethnicity,
        first_day=_birth_first_days(_birth_month_index(records["birth_year"], records["birth_month"])),
        start=_days(records["Event_Start_Date"], _MIN_DAY),
        end=_days(records["Event_End_Date"], _MIN_DAY),
        adjusted_end=_days(derive.death_adjusted_end(records["Event_End_Date"], records["Date_of_Death"]),
                           derive.OPEN_END),
    )


def _birth_month_index(birth_year: pd.Series, birth_month: pd.Series) -> np.ndarray:
    """:func:`cldstats.derive.birth_month_index` on plain arrays (no nullable-integer arithmetic)."""
    year = birth_year.to_numpy(dtype=np.float64, na_value=np.nan)
    month = birth_month.to_numpy(dtype=np.float64, na_value=np.nan)
    known = ~np.isnan(year) & (month >= 1) & (month <= 12)  # NaN compares False
    index = np.where(known, (year - 1970) * 12 + (month - 1), derive.UNKNOWN_BIRTH)
    return index.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Row-level preparation
# ---------------------------------------------------------------------------------------------
def _equals(column: pd.Series, value: str) -> np.ndarray:
    """Vectorised ``column == value`` with missing as False (categorical or string columns)."""
    return np.asarray((column == value).fillna(False) if column.dtype != "category" else column == value, dtype=bool)


def _starts_with(column: pd.Series, prefix: str) -> np.ndarray:
    """``column`` starts with ``prefix`` (missing -> False), computed on categories when possible."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        hit = np.asarray([str(c).startswith(prefix) for c in column.cat.categories], dtype=bool)
        codes = column.cat.codes.to_numpy()
        return np.where(codes >= 0, hit[np.maximum(codes, 0)] if len(hit) else False, False)
    return column.astype("string").str.startswith(prefix).fillna(False).to_numpy(dtype=bool)


def _codes(column: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Position of each value in ``categories`` (``int8``), -1 when missing or not among them.

    Recoded through the column's own categories: ``astype(CategoricalDtype(...))`` is a no-op when
    the two unordered dtypes hold the same set in another order (they compare equal), which would
    silently keep the old codes.
    """
    if not isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype("category")
    position = pd.Index(list(categories)).get_indexer(column.cat.categories.astype(object))
    position = np.append(position, -1).astype(np.int8)  # code -1 (missing) indexes the last entry
    return position[column.cat.codes.to_numpy()]


def _days(column: pd.Series, missing: int) -> np.ndarray:
    return derive.day_numbers(column.astype("datetime64[s]"), missing=missing)


def _person_codes(records: pd.DataFrame) -> np.ndarray:
    """Per row, a number for its person ID that is unique within the file (-1 when missing).

    Every grouping key of the measures starts with the file, so a person needs a number only
    within its file: factorising each file's Arrow-backed strings is a hash pass in C, where
    turning millions of IDs into Python strings to factorise them across files cost seconds.
    """
    codes, _ = pd.factorize(records["person_id"], use_na_sentinel=True)
    return codes.astype(np.int64, copy=False)


def _birth_first_days(birth: np.ndarray) -> np.ndarray:
    """Day number of the first day of each birth month; UNKNOWN_BIRTH stays a sentinel."""
    safe = np.where(birth == derive.UNKNOWN_BIRTH, 0, birth)
    first = safe.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return np.where(birth == derive.UNKNOWN_BIRTH, derive.OPEN_END, first)


def _ages(first_days: np.ndarray, at_days: np.ndarray) -> np.ndarray:
    """Age in years at ``at_days`` from the first day of the birth month; -1 when unknown."""
    elapsed = at_days - first_days
    age = np.floor_divide(4 * np.where(elapsed < 0, 0, elapsed), 1461)
    unknown = (first_days == derive.OPEN_END) | (elapsed < 0) | (age > derive.MAX_AGE)
    return np.where(unknown, -1, age)


#: Largest number of days from the first day of the birth month that still gives a known age
#: (``floor(4 * days / 1461) <= MAX_AGE``): "age known" is then one range test per value.
_MAX_KNOWN_ELAPSED = ((derive.MAX_AGE + 1) * 1461 - 1) // 4


def _age_known(first_days: np.ndarray, at_days: np.ndarray) -> np.ndarray:
    """``_ages(first_days, at_days) >= 0`` without the division (millions of person-months).

    An unknown birth (``OPEN_END``) gives a hugely negative elapsed time, so it fails the test too.
    """
    elapsed = at_days - first_days
    return (elapsed >= 0) & (elapsed <= _MAX_KNOWN_ELAPSED)


def _band_of_age() -> np.ndarray:
    """Look-up table: age + 1 (ages -1 to MAX_AGE) -> index into the 8 age bands."""
    ages = np.arange(-1, derive.MAX_AGE + 1)
    band = np.searchsorted(_BAND_LOWS, ages, side="right") - 1
    return np.where(ages < reference.AGE_BANDS[0].low, len(_BAND_LOWS), band)


_BAND_OF_AGE = _band_of_age()


def _band_index(age: np.ndarray) -> np.ndarray:
    """Index into the 8 age bands; ``Unknown`` (7) for an unknown age (-1).

    A table look-up: ages from :func:`_ages` are -1 or 0 to ``MAX_AGE``.
    """
    return _BAND_OF_AGE[age + 1]


def _usable(selected: SelectedFile) -> np.ndarray:
    return derive.exclusion_reasons(selected.records, selected.status).isna().to_numpy()


# ---------------------------------------------------------------------------------------------
# Choosing one value per group (sorted, contiguous groups)
# ---------------------------------------------------------------------------------------------
def _choose(starts: np.ndarray, group_of_row: np.ndarray, known: np.ndarray, start_day: np.ndarray,
            value: np.ndarray, unknown_value: int) -> np.ndarray:
    """One attribute value per group (METHODOLOGY section 4).

    Among a group's rows: drop unknown values where a known one exists; keep the rows with the
    latest start day; if those hold one distinct value it is the answer, else ``unknown_value``.
    Rows must be sorted so that each group is contiguous; ``starts`` are the groups' first rows.

    A group of one row needs no choosing (its value if known, else unknown): at national scale
    about 90% of person-month groups are single rows, so only the others go through the
    ``reduceat`` passes of :func:`_choose_among`.
    """
    if len(starts) == 0:
        return np.zeros(0, dtype=np.result_type(value, np.int64))
    sizes = np.diff(starts, append=len(group_of_row))
    single = sizes == 1
    chosen = np.where(known[starts], value[starts], unknown_value)
    if not single.all():
        several = ~single[group_of_row]
        sub_starts, sub_group = _group_starts(group_of_row[several])
        chosen[~single] = _choose_among(sub_starts, sub_group, known[several], start_day[several], value[several],
                                        unknown_value)
    return chosen


def _choose_among(starts: np.ndarray, group_of_row: np.ndarray, known: np.ndarray, start_day: np.ndarray,
                  value: np.ndarray, unknown_value: int) -> np.ndarray:
    """:func:`_choose` by ``reduceat`` over every group (groups of any size)."""
    any_known = np.maximum.reduceat(known.astype(np.int8), starts).astype(bool)
    eligible = known == any_known[group_of_row]
    latest = np.maximum.reduceat(np.where(eligible, start_day, _MIN_DAY), starts)
    top = eligible & (start_day == latest[group_of_row])
    big, small = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    low = np.minimum.reduceat(np.where(top, value, big), starts)
    high = np.maximum.reduceat(np.where(top, value, small), starts)
    return np.where(any_known & (low == high), low, unknown_value)


def _group_starts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First row of each run of equal ``keys`` (sorted) and each row's run number."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new = np.empty(len(keys), dtype=bool)
    new[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    return np.flatnonzero(new), np.cumsum(new) - 1


# ---------------------------------------------------------------------------------------------
# Cube -> long council table
# ---------------------------------------------------------------------------------------------
def _breakdown_axis(cube: np.ndarray) -> np.ndarray:
    """Cube ``[..., band(8), gender(4), ethnicity(21)]`` -> ``[..., 43]`` published values in
    BREAKDOWN_VALUES order (All, age groups, age bands, genders, ethnicity groups, subgroups)."""
    bands = cube.sum(axis=(-1, -2))
    groups = np.stack([bands[..., _BAND_TO_GROUP == g].sum(axis=-1) for g in range(len(_GROUPS))], axis=-1)
    genders = cube.sum(axis=(-3, -1))
    ethnicity = cube.sum(axis=(-3, -2))
    groups_eth = np.stack(
        [ethnicity[..., _ETHNICITY_TO_GROUP == g].sum(axis=-1) for g in range(len(_ETHNICITY_GROUPS))], axis=-1
    )
    total = bands.sum(axis=-1, keepdims=True)
    return np.concatenate([total, groups, bands, genders, groups_eth, ethnicity], axis=-1)


def breakdown_template() -> pd.DataFrame:
    """The 43 (breakdown, breakdown_value) pairs in published order."""
    pairs = [(b, v) for b, values in BREAKDOWN_VALUES.items() for v in values]
    return pd.DataFrame(pairs, columns=["breakdown", "breakdown_value"])


def _cube_index(*index_and_size: tuple[np.ndarray, int]) -> tuple[np.ndarray, tuple[int, ...]]:
    flat = np.zeros(len(index_and_size[0][0]), dtype=np.int64)
    shape = []
    for index, size in index_and_size:
        flat = flat * size + index
        shape.append(size)
    return flat, tuple(shape)


# ---------------------------------------------------------------------------------------------
# Measure 1
# ---------------------------------------------------------------------------------------------
def long_term_support(files: Sequence[SelectedFile], month_ends: Sequence[dt.date]) -> pd.DataFrame:
    """People receiving long-term support at each month end, per council (METHODOLOGY section 4).

    Parameters
    ----------
    files : sequence of SelectedFile
        The selected file of each council with one (at most one per council).
    month_ends : sequence of datetime.date
        The release's month ends (``params.release_month_ends``).

    Returns
    -------
    pandas.DataFrame
        ``reference_date`` (ISO string), ``la_code``, ``support_setting``, ``breakdown``,
        ``breakdown_value``, ``value`` (int64): every council in ``files``, every month end at or
        after its file's reporting period start, every setting (``All`` + 4) and the 43 breakdown
        values, zeros included, sorted (date, council, setting, breakdown, value).
    """
    _check_one_file_per_council(files)
    ends = np.array([int(derive.day_numbers(pd.Timestamp(d))) for d in month_ends], dtype=np.int64)
    n_files, n_ends = len(files), len(ends)

    file_idx, person, start, end, rank, gender, ethnicity, birth = ([] for _ in range(8))
    available = np.zeros((n_files, n_ends), dtype=bool)
    for i, selected in enumerate(files):
        available[i] = ends >= selected.start_day()
        arrays = selected._rows
        rows = np.flatnonzero(arrays.usable & arrays.service_user & (arrays.rank > 0) & arrays.service)
        file_idx.append(np.full(len(rows), i, dtype=np.int64))
        person.append(arrays.person[rows])
        start.append(arrays.start[rows])
        end.append(arrays.adjusted_end[rows])
        rank.append(arrays.rank[rows].astype(np.int64))
        gender.append(arrays.gender[rows])
        ethnicity.append(arrays.ethnicity[rows])
        birth.append(arrays.first_day[rows])

    cube_shape = (n_files, n_ends, len(_RANKED_SETTINGS), len(_BANDS), len(_GENDERS), len(_ETHNICITY_VALUES))
    counts = np.zeros(int(np.prod(cube_shape)), dtype=np.int64)
    if n_files and sum(len(p) for p in person):
        file_idx, start, end, rank = (np.concatenate(a) for a in (file_idx, start, end, rank))
        gender, ethnicity = (np.concatenate(a) for a in (gender, ethnicity))
        # Birth as the day number of the first day of the birth month (OPEN_END when unknown):
        # the same value decides "known at D", equality and the age.
        first_day = np.concatenate(birth)
        person_code = np.concatenate(person)  # numbered within each file (see _person_codes)
        n_people = max(int(person_code.max(initial=-1)) + 1, 1)

        # Rows sorted once by (file, person, rank): about 1M rows at national scale, where sorting
        # the (row, month end) pairs below meant sorting about 9M. Stable, so ties keep file order.
        order = np.argsort((file_idx * n_people + person_code) * 8 + rank, kind="stable")
        rows = _LtsRows(*(a[order] for a in (file_idx, person_code, start, end, rank, gender, ethnicity, first_day)))
        del order
        # 70% of rows (national scale) are a person's only qualifying row in the file: each month
        # end they cover is a one-row person-month, counted directly; the rest are chosen between.
        run_key = rows.file * n_people + rows.person
        new_run = np.ones(len(run_key), dtype=bool)
        np.not_equal(run_key[1:], run_key[:-1], out=new_run[1:])
        run_size = np.diff(np.flatnonzero(np.append(new_run, True)))
        alone = np.repeat(run_size == 1, run_size)
        del run_key, new_run, run_size
        flat = np.concatenate([
            _lts_alone(rows.subset(np.flatnonzero(alone)), ends, available, n_files),
            _lts_chosen(rows.subset(np.flatnonzero(~alone)), ends, available, n_files, n_people),
        ])
        counts = np.bincount(flat, minlength=counts.size)
    cube = counts.reshape(cube_shape)

    # Settings axis in published order: All, then Community, Residential care, Nursing care, Prison.
    by_setting = [cube.sum(axis=2)] + [cube[:, :, _RANKED_SETTINGS.index(s)] for s in reference.SETTINGS[1:]]
    table = _breakdown_axis(np.stack(by_setting, axis=2))  # [file, end, setting, 43]
    labels = [d.isoformat() for d in month_ends]
    return _long_frame(table, files, labels, available, "reference_date", list(reference.SETTINGS))


@dataclass(frozen=True)
class _LtsRows:
    """Measure-1 rows of every selected file as parallel arrays (one entry per qualifying row):
    file index, person number (within the file), start and death-adjusted end day, setting rank,
    gender and ethnicity codes (-1 unknown), first day of the birth month (``OPEN_END`` unknown)."""

    file: np.ndarray
    person: np.ndarray
    start: np.ndarray
    end: np.ndarray
    rank: np.ndarray
    gender: np.ndarray
    ethnicity: np.ndarray
    first_day: np.ndarray

    def subset(self, positions: np.ndarray) -> _LtsRows:
        return _LtsRows(*(getattr(self, f.name)[positions] for f in fields(self)))


def _covered(rows: _LtsRows, ends: np.ndarray, available: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(month end index, row) of every month end each row covers: start <= D <= adjusted end, and D
    available in its file. Month ends on the first axis: pairs come out ordered by month end, then
    row (so rows sorted by file and person give contiguous person-months)."""
    covers = (rows.start[None, :] <= ends[:, None]) & (rows.end[None, :] >= ends[:, None]) & available[rows.file].T
    return np.nonzero(covers)


def _lts_cube_index(file: np.ndarray, end_idx: np.ndarray, rank: np.ndarray, age: np.ndarray, gender: np.ndarray,
                    ethnicity: np.ndarray, n_files: int, n_ends: int) -> np.ndarray:
    """Flat index into the measure-1 cube of each adult person-month (children dropped)."""
    adult = (age < 0) | (age >= 18)
    flat, _ = _cube_index(
        (file[adult], n_files),
        (end_idx[adult], n_ends),
        (rank[adult] - 1, len(_RANKED_SETTINGS)),
        (_band_index(age[adult]), len(_BANDS)),
        (np.where(gender[adult] < 0, _GENDERS.index(reference.UNKNOWN), gender[adult]), len(_GENDERS)),
        (np.where(ethnicity[adult] < 0, _ETHNICITY_UNKNOWN_CODE, ethnicity[adult]), len(_ETHNICITY_VALUES)),
    )
    return flat


def _lts_alone(rows: _LtsRows, ends: np.ndarray, available: np.ndarray, n_files: int) -> np.ndarray:
    """Cube indices of the person-months of people with one qualifying row in their file.

    A person-month of one row needs no choosing: the row's setting; its gender and ethnicity,
    unknown if unknown; its birth month if that gives a known age at D (:func:`_ages` is -1
    otherwise) -- what :func:`_lts_chosen` gives for a one-row group, with far fewer passes.
    """
    end_idx, row = _covered(rows, ends, available)
    age = _ages(rows.first_day[row], ends[end_idx])
    return _lts_cube_index(rows.file[row], end_idx, rows.rank[row], age, rows.gender[row], rows.ethnicity[row],
                           n_files, len(ends))


def _lts_chosen(rows: _LtsRows, ends: np.ndarray, available: np.ndarray, n_files: int,
                n_people: int) -> np.ndarray:
    """Cube indices of every person-month of ``rows`` (sorted by file, person, rank): the best
    setting, then each attribute chosen among that setting's rows (METHODOLOGY section 4)."""
    end_idx, row = _covered(rows, ends, available)
    group_key = (end_idx * n_files + rows.file[row]) * n_people + rows.person[row]

    # Best rank: the first row of each person-month run; keep only rows of that setting.
    starts, group_of_row = _group_starts(group_key)
    row_rank = rows.rank[row]
    best_rank = row_rank[starts]
    keep = row_rank == best_rank[group_of_row]
    if not keep.all():
        row, end_idx, group_key = row[keep], end_idx[keep], group_key[keep]
        starts, group_of_row = _group_starts(group_key)
    del group_key, row_rank, keep

    row_start = rows.start[row]
    row_gender, row_ethnicity = rows.gender[row].astype(np.int64), rows.ethnicity[row].astype(np.int64)
    chosen_gender = _choose(starts, group_of_row, row_gender >= 0, row_start, row_gender, -1)
    chosen_ethnicity = _choose(starts, group_of_row, row_ethnicity >= 0, row_start, row_ethnicity, -1)
    row_first_day = rows.first_day[row]
    birth_known = _age_known(row_first_day, ends[end_idx])
    chosen_first_day = _choose(starts, group_of_row, birth_known, row_start, row_first_day, derive.OPEN_END)

    group_end = end_idx[starts]
    age = _ages(chosen_first_day, ends[group_end])
    return _lts_cube_index(rows.file[row[starts]], group_end, best_rank, age, chosen_gender, chosen_ethnicity,
                           n_files, len(ends))


def _long_frame(table: np.ndarray, files: Sequence[SelectedFile], period_labels: list[str],
                available: np.ndarray, period_column: str, settings: list[str] | None) -> pd.DataFrame:
    """``table[file, period, (setting,) value]`` -> long council frame, available cells only."""
    template = breakdown_template()
    n_values = len(template)
    n_settings = 1 if settings is None else len(settings)
    table = table.reshape(len(files), len(period_labels), n_settings, n_values)
    file_i, period_i = np.nonzero(available)
    cells = table[file_i, period_i].reshape(-1)
    per_cell = n_settings * n_values
    frame = pd.DataFrame({
        period_column: np.repeat(np.asarray(period_labels, dtype=object)[period_i], per_cell),
        "la_code": np.repeat(np.asarray([f.la_code for f in files], dtype=object)[file_i], per_cell),
    })
    if settings is not None:
        frame["support_setting"] = np.tile(np.repeat(np.asarray(settings, dtype=object), n_values), len(file_i))
    frame["breakdown"] = np.tile(template["breakdown"].to_numpy(dtype=object), len(file_i) * n_settings)
    frame["breakdown_value"] = np.tile(template["breakdown_value"].to_numpy(dtype=object), len(file_i) * n_settings)
    frame["value"] = cells.astype(np.int64)
    return _sort(frame)


def _check_one_file_per_council(files: Sequence[SelectedFile]) -> None:
    codes = [f.la_code for f in files]
    if len(set(codes)) != len(codes):
        raise ValueError("more than one selected file for a council")


# ---------------------------------------------------------------------------------------------
# Measure 2
# ---------------------------------------------------------------------------------------------
def people_assessed(files: Sequence[SelectedFile], month_ends: Sequence[dt.date]) -> pd.DataFrame:
    """People assessed per calendar month with no long-term support in the previous 12 months
    (METHODOLOGY section 5), per council.

    Parameters
    ----------
    files : sequence of SelectedFile
        The selected file of each council with one.
    month_ends : sequence of datetime.date
        The release's month ends; each stands for its calendar month.

    Returns
    -------
    pandas.DataFrame
        ``reference_month`` (``YYYY-MM`` or ``Total``), ``la_code``, ``breakdown``,
        ``breakdown_value``, ``value`` (int64): every council in ``files``, each available month
        and ``Total`` (the sum of its available months), the 43 breakdown values, zeros included.
    """
    _check_one_file_per_council(files)
    ends = np.array([int(derive.day_numbers(pd.Timestamp(d))) for d in month_ends], dtype=np.int64)
    month_starts = np.array(
        [int(derive.day_numbers(pd.Timestamp(d.replace(day=1)))) for d in month_ends], dtype=np.int64
    )
    n_files, n_months = len(files), len(ends)
    cube_shape = (n_files, n_months, len(_BANDS), len(_GENDERS), len(_ETHNICITY_VALUES))
    counts = np.zeros(int(np.prod(cube_shape)), dtype=np.int64)
    available = np.zeros((n_files, n_months), dtype=bool)

    parts, lts_parts = [], []
    for i, selected in enumerate(files):
        available[i] = ends >= selected.start_day()
        assessments, lts = _assessments_of_file(i, selected, ends, month_starts, available[i])
        parts.append(assessments)
        lts_parts.append(lts)
    assessed = {k: np.concatenate([p[k] for p in parts]) for k in _ASSESSMENT_COLUMNS} if parts else {}

    if parts and len(assessed["person"]):
        person_code = assessed["person"]  # numbered within each file (see _person_codes)
        n_people = max(int(person_code.max()) + 1, 1)
        lts = {k: np.concatenate([p[k] for p in lts_parts]) for k in ("file_idx", "person", "start", "end")}
        n_people = max(n_people, int(lts["person"].max(initial=-1)) + 1)
        keep = ~_had_long_term_support(assessed, lts, n_people)
        assessed = {k: v[keep] for k, v in assessed.items()}
    if parts and len(assessed["person"]):
        file_idx, month_idx, person_code = assessed["file_idx"], assessed["month_idx"], assessed["person"]
        end_day = assessed["end"]
        group_key = (file_idx * n_months + month_idx) * n_people + person_code
        order = np.lexsort((-end_day, group_key))
        sorted_cols = {c: assessed[c][order] for c in ("start", "end", "gender", "ethnicity", "first_day")}
        group_key = group_key[order]
        starts, group_of_row = _group_starts(group_key)
        # The latest assessment in the month: rows sharing the group's latest end date (first row).
        latest_end = sorted_cols["end"][starts]
        top = sorted_cols["end"] == latest_end[group_of_row]
        rows = np.flatnonzero(top)
        cols = {k: v[rows] for k, v in sorted_cols.items()}
        starts, group_of_row = _group_starts(group_key[rows])

        chosen_gender = _choose(starts, group_of_row, cols["gender"] >= 0, cols["start"],
                                cols["gender"].astype(np.int64), -1)
        chosen_ethnicity = _choose(starts, group_of_row, cols["ethnicity"] >= 0, cols["start"],
                                   cols["ethnicity"].astype(np.int64), -1)
        birth_known = _age_known(cols["first_day"], cols["end"])
        chosen_first_day = _choose(starts, group_of_row, birth_known, cols["start"], cols["first_day"],
                                   derive.OPEN_END)
        age = _ages(chosen_first_day, latest_end)
        first_rows = order[rows[starts]]
        flat, _ = _cube_index(
            (file_idx[first_rows], n_files),
            (month_idx[first_rows], n_months),
            (_band_index(age), len(_BANDS)),
            (np.where(chosen_gender < 0, _GENDERS.index(reference.UNKNOWN), chosen_gender), len(_GENDERS)),
            (np.where(chosen_ethnicity < 0, _ETHNICITY_UNKNOWN_CODE, chosen_ethnicity), len(_ETHNICITY_VALUES)),
        )
        counts = np.bincount(flat, minlength=counts.size)
    table = _breakdown_axis(counts.reshape(cube_shape))  # [file, month, 43]
    # Total: the sum of each council's available months.
    total = (table * available[:, :, None]).sum(axis=1, keepdims=True)
    table = np.concatenate([table, total], axis=1)
    available = np.concatenate([available, available.any(axis=1, keepdims=True)], axis=1)
    labels = [d.strftime("%Y-%m") for d in month_ends] + [TOTAL]
    return _long_frame(table, files, labels, available, "reference_month", None)


#: The arrays :func:`_assessments_of_file` gives per qualifying assessment row.
_ASSESSMENT_COLUMNS = ("file_idx", "month_idx", "person", "start", "end", "gender", "ethnicity", "first_day")


def _assessments_of_file(file_index: int, selected: SelectedFile, ends: np.ndarray, month_starts: np.ndarray,
                         available: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Candidate assessment rows of one file (adults, in an available release month), one entry
    each: ``file_idx, month_idx, person, start, end, gender, ethnicity, first_day``; and the
    file's long-term support rows for the prior-support check: ``file_idx, person, start, end``
    (death-adjusted end)."""
    arrays = selected._rows
    candidate = (
        arrays.usable & arrays.service_user & arrays.assessment & ~arrays.financial & (arrays.end != _MIN_DAY)
    )
    rows = np.flatnonzero(candidate)
    end = arrays.end[rows]
    # Calendar month of the end date among the release months (month_starts ascending).
    month_idx = np.searchsorted(month_starts, end, side="right") - 1
    in_release = (month_idx >= 0) & (end <= ends[np.maximum(month_idx, 0)])
    in_release &= available[np.maximum(month_idx, 0)]
    rows, end, month_idx = rows[in_release], end[in_release], month_idx[in_release]
    # Adults only, first: drop rows under 18 at the assessment end date (unknown age is kept).
    age = _ages(arrays.first_day[rows], end)
    adult = (age < 0) | (age >= 18)
    rows, end, month_idx = rows[adult], end[adult], month_idx[adult]
    assessments = {
        "file_idx": np.full(len(rows), file_index, dtype=np.int64),
        "month_idx": month_idx.astype(np.int64),
        "person": arrays.person[rows],
        "start": arrays.start[rows],
        "end": end,
        "gender": arrays.gender[rows],
        "ethnicity": arrays.ethnicity[rows],
        "first_day": arrays.first_day[rows],
    }
    # Prior support: usable Service User rows of a long-term service type, whatever the event type.
    lts_rows = np.flatnonzero(arrays.usable & arrays.service_user & (arrays.rank > 0))
    lts = {
        "file_idx": np.full(len(lts_rows), file_index, dtype=np.int64),
        "person": arrays.person[lts_rows],
        "start": arrays.start[lts_rows],
        "end": arrays.adjusted_end[lts_rows],
    }
    return assessments, lts


def _had_long_term_support(assessed: dict[str, np.ndarray], lts: dict[str, np.ndarray], n_people: int) -> np.ndarray:
    """Per assessment: whether its person had long-term support in the previous 12 months.

    That is a row of ``lts`` for the same person in the same file starting before the assessment's
    start, with a death-adjusted end blank or on/after (assessment start - 365 days). A join on
    (file, person) done once for all files with sorted keys and ``searchsorted``: the pairs of an
    assessment with its person's support rows, tested at once.
    """
    a_key = assessed["file_idx"] * n_people + assessed["person"]
    l_key = lts["file_idx"] * n_people + lts["person"]
    order = np.argsort(l_key, kind="stable")
    l_key, l_start, l_end = l_key[order], lts["start"][order], lts["end"][order]
    low = np.searchsorted(l_key, a_key, side="left")
    size = np.searchsorted(l_key, a_key, side="right") - low
    a_of_pair = np.repeat(np.arange(len(a_key)), size)
    offsets = np.cumsum(size) - size
    l_of_pair = np.arange(int(size.sum())) - np.repeat(offsets, size) + np.repeat(low, size)
    a_start = assessed["start"][a_of_pair]
    prior = (l_start[l_of_pair] < a_start) & (l_end[l_of_pair] >= a_start - _DAYS_365)
    had = np.zeros(len(a_key), dtype=bool)
    had[a_of_pair[prior]] = True
    return had


# ---------------------------------------------------------------------------------------------
# Exclusions
# ---------------------------------------------------------------------------------------------
def exclusion_counts(files: Iterable[SelectedFile]) -> pd.DataFrame:
    """Rows excluded from the measures, per file and reason (reasons with rows only).

    Returns
    -------
    pandas.DataFrame
        ``la_code, file, reason, rows``; sorted by council, file and reason precedence.
    """
    frames = []
    for selected in files:
        reasons = derive.exclusion_reasons(selected.records, selected.status)
        counted = reasons.value_counts(sort=False)
        counted = counted[counted > 0]
        frames.append(pd.DataFrame({
            "la_code": selected.la_code, "file": selected.file,
            "reason": counted.index.astype(str), "rows": counted.to_numpy(dtype=np.int64),
        }))
    columns = ["la_code", "file", "reason", "rows"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object if c != "rows" else np.int64) for c in columns})
    return pd.concat(frames, ignore_index=True)[columns]


# ---------------------------------------------------------------------------------------------
# Areas, populations and rates
# ---------------------------------------------------------------------------------------------
_AREA_LEVEL_ORDER = {level: i for i, level in enumerate(reference.AREA_LEVELS)}


def _period_column(frame: pd.DataFrame) -> str:
    return "reference_date" if "reference_date" in frame.columns else "reference_month"


def _sort(frame: pd.DataFrame) -> pd.DataFrame:
    """Deterministic published order (module docstring)."""
    period = _period_column(frame)
    keys: dict[str, pd.Series] = {
        "_period": frame[period].astype(str).where(frame[period].ne(TOTAL), "9999"),
    }
    if "area_level" in frame:
        keys["_level"] = frame["area_level"].map(_AREA_LEVEL_ORDER)
        keys["_area"] = frame["area_code"]
    else:
        keys["_area"] = frame["la_code"]
    if "support_setting" in frame:
        keys["_setting"] = frame["support_setting"].map({s: i for i, s in enumerate(reference.SETTINGS)})
    template = breakdown_template()
    order = pd.Series(range(len(template)), index=pd.MultiIndex.from_frame(template))
    keys["_value"] = pd.Series(
        order.reindex(pd.MultiIndex.from_frame(frame[["breakdown", "breakdown_value"]])).to_numpy(), index=frame.index
    )
    ordered = pd.DataFrame(keys).sort_values(list(keys), kind="mergesort").index
    return frame.loc[ordered].reset_index(drop=True)


def area_table(council_table: pd.DataFrame, periods: Sequence[str]) -> pd.DataFrame:
    """Every council (missing value where it has no data), region and England, unrounded.

    Parameters
    ----------
    council_table : pandas.DataFrame
        Output of :func:`long_term_support` or :func:`people_assessed`.
    periods : sequence of str
        Every period of the release as labelled in ``council_table`` (ISO month ends, or
        ``YYYY-MM`` months plus ``Total``), so that a period no council has is still shown.

    Returns
    -------
    pandas.DataFrame
        Period column, ``area_level, area_code, area_name``, (``support_setting``), ``breakdown,
        breakdown_value, value`` (``Int64``; missing = no data, published as ``[x]``),
        ``councils_included`` (``"<n> of <N>"``), sorted in published order. Regions and England
        are sums over their councils with data in that period; with none, missing.
    """
    period = _period_column(council_table)
    cells = ["support_setting"] if "support_setting" in council_table else []
    cells += ["breakdown", "breakdown_value"]
    councils = reference.councils()[["la_code", "la_name", "region_code"]]
    template = breakdown_template()
    if cells[0] == "support_setting":
        template = pd.DataFrame({"support_setting": list(reference.SETTINGS)}).merge(template, how="cross")
    grid = (
        pd.DataFrame({period: list(periods)})
        .merge(councils[["la_code"]], how="cross")
        .merge(template, how="cross")
    )
    grid = grid.merge(council_table[[period, "la_code", *cells, "value"]], on=[period, "la_code", *cells], how="left")
    grid["value"] = grid["value"].astype("Int64")
    has_data = (
        council_table[[period, "la_code"]].drop_duplicates().assign(has_data=1)
    )
    grid = grid.merge(has_data, on=[period, "la_code"], how="left")
    grid["has_data"] = grid["has_data"].fillna(0).astype(np.int64)
    grid = grid.merge(councils, on="la_code", how="left")

    council_rows = grid.assign(
        area_level="Local Authority", area_code=grid["la_code"], area_name=grid["la_name"], of=1
    )
    region_sizes = councils.groupby("region_code").size()
    region_names = reference.regions().set_index("area_code")["area_name"]

    def summed(by: list[str]) -> pd.DataFrame:
        grouped = grid.groupby(by, sort=False, observed=True)
        return pd.DataFrame({
            "value": grouped["value"].sum(min_count=1),  # no council with data -> missing ([x])
            "has_data": grouped["has_data"].sum(),
        }).reset_index()

    keys = [period, *cells]
    regions = summed([period, "region_code", *cells]).rename(columns={"region_code": "area_code"})
    regions["area_level"] = "Region"
    regions["area_name"] = regions["area_code"].map(region_names)
    regions["of"] = regions["area_code"].map(region_sizes)
    england = summed(keys)
    england["area_level"] = "England"
    england["area_code"] = reference.ENGLAND_CODE
    england["area_name"] = reference.ENGLAND_NAME
    england["of"] = len(councils)

    columns = [period, "area_level", "area_code", "area_name", *cells, "value", "has_data", "of"]
    frame = pd.concat([england[columns], regions[columns], council_rows[columns]], ignore_index=True)
    frame["value"] = frame["value"].astype("Int64")
    frame["councils_included"] = frame["has_data"].astype(str) + " of " + frame["of"].astype(str)
    return _sort(frame.drop(columns=["has_data", "of"]))


def _council_population(breakdown: pd.Series, value: pd.Series, la_code: pd.Series) -> pd.Series:
    """Council population for each row: 18+ for ``All``, 65+ and 18-64 for the age groups, else NA."""
    pops = reference.councils().set_index("la_code")
    adults = la_code.map(pops["adults_18plus"])
    older = la_code.map(pops["adults_65plus"])
    population = pd.Series(pd.NA, index=value.index, dtype="Int64")
    # The denominator depends on the (breakdown, value) pair only: looked up once per distinct
    # pair (43) and spread to the rows (400,000 council rows at national scale).
    pairs = pd.DataFrame({"breakdown": breakdown.to_numpy(), "value": value.to_numpy()})
    distinct = pairs.drop_duplicates(ignore_index=True)
    position = pd.MultiIndex.from_frame(distinct).get_indexer(pd.MultiIndex.from_frame(pairs))
    denominator = pd.Series(
        reference.rate_denominator(distinct["breakdown"], distinct["value"]).to_numpy(dtype=object)[position],
        index=value.index,
    )
    for kind, values in (("adults", adults), ("older", older), ("working_age", adults - older)):
        rows = (denominator == kind).to_numpy()
        population[rows] = values[rows]
    return population


def rates_unrounded(area: pd.DataFrame) -> pd.DataFrame:
    """Populations and rates per 100,000 for a long-term support :func:`area_table`.

    Returns
    -------
    pandas.DataFrame
        ``reference_date, area_level, area_code, area_name, support_setting, breakdown,
        breakdown_value, value, population, rate, councils_included``: ``population`` (``Int64``)
        is the sum over the area's councils with data in that period, missing where the breakdown
        value has no population (published ``[z]``) or the area has no data (``[x]``); ``rate``
        (``Float64``) = value / population * 100,000, unrounded.
    """
    period = _period_column(area)
    councils = reference.councils()
    council_rows = area[area["area_level"].eq("Local Authority")]
    population = _council_population(
        council_rows["breakdown"], council_rows["breakdown_value"], council_rows["area_code"]
    )
    population = population.mask(council_rows["value"].isna())
    by_council = council_rows[[period, "area_code", "support_setting", "breakdown", "breakdown_value"]].assign(
        population=population
    )
    region_of = councils.set_index("la_code")["region_code"]
    keys = [period, "support_setting", "breakdown", "breakdown_value"]
    regional = (
        by_council.assign(area_code=by_council["area_code"].map(region_of))
        .groupby([*keys, "area_code"], sort=False)["population"].sum(min_count=1).reset_index()
    )
    national = by_council.groupby(keys, sort=False)["population"].sum(min_count=1).reset_index()
    national["area_code"] = reference.ENGLAND_CODE
    populations = pd.concat([national, regional, by_council], ignore_index=True)
    merged = area.merge(populations, on=[*keys, "area_code"], how="left")
    merged["population"] = merged["population"].astype("Int64")
    merged["rate"] = (merged["value"].astype("Float64") * 100_000 / merged["population"].astype("Float64"))
    columns = [period, "area_level", "area_code", "area_name", "support_setting", "breakdown", "breakdown_value",
               "value", "population", "rate", "councils_included"]
    return _sort(merged[columns])

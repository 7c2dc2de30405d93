"""Tests of the synthetic CLD generator (cldstats.tools.synth).

One small dataset is generated once per session (10 councils spread over regions and sizes, scale
0.05, the default span April 2023 to March 2026, which crosses the switch to Release 2 in October
2025) and read back with independent pandas code: layout, encoding, the code values of each
release, the release of each file against synthetic.json, the fault log, consistency of people
across files, calibration against the published national picture (at 31 March 2026 and over April
2025 to March 2026), and determinism. The full 153-council plan is checked without writing rows.

What a file of each release may hold is read here from the package's copies of the two
specifications (``cldstats/data/release1_spec.yaml``, ``release2_spec.yaml``) where they give a
whole list, else from ``code_vocabulary.yaml`` read as plain YAML: never through the generator.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from cldstats.core.errors import CldstatsError
from cldstats.ingest import read_submission
from cldstats.ingest.pseudonymise import load_key
from cldstats.measures.engine import RECORD_COLUMNS
from cldstats.reference import calendar
from cldstats.reference.lists import councils
from cldstats.reference.params import load_params
from cldstats.reference.spec import load_spec
from cldstats.tools import synth
from cldstats.tools.synth import dates, distributions
from tests.helpers.paths import REPO

DATA = REPO / "cldstats" / "data"
SCALE = 0.05
N_COUNCILS = 10
NAME_RE = re.compile(r"^(E\d{8})_(\d{8}T\d{6})\.csv(\.gz)?$")
DATE_RE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
POSTCODE_RE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2}$")
#: The four long-term support service types as each release spells them: (setting, rank).
LTS_TYPES = {
    1: {
        "Long Term Support: Nursing Care": ("Nursing care", 1),
        "Long Term Support: Residential Care": ("Residential care", 2),
        "Long Term Support: Community": ("Community", 3),
        "Long Term Support: Prison": ("Prison", 4),
    },
    2: {
        "Long term support: Nursing care": ("Nursing care", 1),
        "Long term support: Residential care": ("Residential care", 2),
        "Long term support: Community": ("Community", 3),
        "Long term support: Prison": ("Prison", 4),
    },
}
SERVICE_USER = {1: "Service User", 2: "Service user"}
#: The header labels of the two columns Release 2 removed.
REMOVED_LABELS = ("GP Practice Name", "Provider CQC Location Name")
SWITCH = "2025-10-01"
EARLY_ADOPTION = "2024-04-01"


# ---------------------------------------------------------------------------------------------
# Independent readers and checks (no synth internals)
# ---------------------------------------------------------------------------------------------
@functools.cache
def _data_yaml(name: str):
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def _fold(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip().casefold()


@functools.cache
def allowed(release: int, field_name: str) -> frozenset[str]:
    """The values a file of ``release`` may hold in a code field: the specification's list where it
    gives a whole one, else the field's spellings of that release in code_vocabulary.yaml."""
    for raw in _data_yaml(f"release{release}_spec.yaml")["fields"]:
        if raw["name"] != field_name:
            continue
        values = raw.get("permitted_values")
        if not isinstance(values, list) and isinstance(raw.get("permitted_values_confirmed"), list):
            values = raw["permitted_values_confirmed"] + list(raw.get("permitted_values_probable_additional", []))
        if isinstance(values, list) and "permitted_values_unrecovered" not in raw:
            return frozenset(values)
    out = set()
    for value in _data_yaml("code_vocabulary.yaml")["fields"][field_name]["values"]:
        if release in value["releases"]:
            out.add(value["value"])
        if release == 1:
            out.update(value.get("release1", []))
    return frozenset(out)


@functools.cache
def canonical_values() -> dict[str, dict[str, str]]:
    """Per code field: every spelling of either release and its variants, folded -> canonical value."""
    out = {}
    for name, raw in _data_yaml("code_vocabulary.yaml")["fields"].items():
        out[name] = {
            _fold(spelling): value["value"]
            for value in raw["values"]
            for spelling in (value["value"], *value.get("release1", []), *value.get("variants", []))
        }
    return out


def canonical(frame: pd.DataFrame, field_name: str) -> pd.Series:
    """A code column as canonical values, whichever release spelt it (unknown values unchanged)."""
    lookup = canonical_values()[field_name]
    values = frame[load_spec().by_name[field_name].label]
    return values.map(lambda v: lookup.get(_fold(v), v))


def read_file(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="cp1252")


def nhs_valid(values: pd.Series) -> pd.Series:
    """Ten digits whose modulus 11 check digit is right (all values at once)."""
    ten = values.str.fullmatch(r"\d{10}").fillna(False).to_numpy(dtype=bool)
    digits = np.frombuffer("".join(values[ten]).encode("ascii"), dtype=np.uint8).reshape(-1, 10).astype(int) - 48
    check = (11 - (digits[:, :9] @ np.arange(10, 1, -1)) % 11) % 11
    ok = np.zeros(len(values), dtype=bool)
    ok[ten] = (check != 10) & (check == digits[:, 9])
    return pd.Series(ok, index=values.index)


@functools.cache
def date_valid(value: str) -> bool:
    if not DATE_RE.match(value):
        return False
    try:
        dt.datetime.strptime(value, "%d/%m/%Y")
    except ValueError:
        return False
    return True


def by_unique(values: pd.Series, valid) -> pd.Series:
    """``valid`` of each value, called once per distinct value (a file repeats its dates)."""
    return values.isin({v for v in pd.unique(values) if valid(v)})


def invalid_cells(frame: pd.DataFrame, release: int) -> set[tuple[int, str]]:
    """(row_number, field) of every value that is not exactly valid, by the spec's rules; a code
    must be spelt as ``release`` spells it."""
    spec = load_spec()
    bad: set[tuple[int, str]] = set()
    by_label = spec.by_label
    for label in frame.columns:
        f = by_label[label]
        values = frame[label]
        present = values != ""
        if f.kind == "code":
            ok = values.isin(allowed(release, f.name))
        elif f.kind == "date":
            ok = by_unique(values, date_valid)
        elif f.kind == "nhs_number":
            ok = nhs_valid(values)
        elif f.kind == "postcode":
            ok = values.str.match(POSTCODE_RE)
        elif f.kind == "ods_code":
            ok = values.str.fullmatch(r"[A-Z]\d{5}")
        elif f.kind == "cqc_id":
            ok = values.str.fullmatch(r"1-\d+")
        elif f.kind == "number":
            ok = pd.to_numeric(values, errors="coerce").notna()
        elif f.kind == "integer":
            ok = values.str.fullmatch(r"\d+")
        else:
            ok = pd.Series(True, index=values.index)
        for i in np.flatnonzero((present & ~ok).to_numpy()):
            bad.add((int(i) + 2, f.name))
    return bad


def blank_mandatory_cells(frame: pd.DataFrame) -> set[tuple[int, str]]:
    """Mandatory-always person fields left blank."""
    out = set()
    for name in (
        "NHS_Number",
        "LA_Person_Unique_Identifier",
        "Gender",
        "Ethnicity",
        "Date_of_Birth",
        "Client_Type",
        "Postcode",
        "Accommodation_Status",
        "Has_Unpaid_Carer",
    ):
        label = load_spec().by_name[name].label
        if label not in frame.columns:  # the broken-header file
            continue
        for i in np.flatnonzero((frame[label] == "").to_numpy()):
            out.add((int(i) + 2, name))
    return out


def to_date(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, format="%d/%m/%Y", errors="coerce")


def year_end(meta: dict) -> pd.Timestamp:
    """The last 31 March the data covers: the calibration measures the year to it."""
    end = pd.Period(meta["end"], freq="M")
    return pd.Timestamp(end.year if end.month >= 3 else end.year - 1, 3, 31)


def latest_q4_files(sub_dir: Path, meta: dict) -> dict[str, tuple[Path, int]]:
    """Per council, the latest usable file (and its release) for the period ending at
    :func:`year_end`, submitted by 31 May after it."""
    end = year_end(meta)
    plan = pd.DataFrame(meta["submissions"])
    plan = plan[
        (plan["period_end"] == end.date().isoformat())
        & (plan["submitted_at"] <= f"{end.year}-05-31T23:59:59")
        & (plan["kind"] != "broken_header")
    ]
    chosen = plan.sort_values("submitted_at").groupby("la_code").tail(1)
    return {row.la_code: (sub_dir / row.file, int(row.release)) for row in chosen.itertuples()}


def measures(frame: pd.DataFrame, release: int, end: pd.Timestamp) -> tuple[pd.DataFrame, pd.Series]:
    """LTS people by setting at each month end of the year to ``end``, and people assessed per month
    (docs/methodology.md sections 4, 5), reading the values as ``release`` spells them."""
    lts_types = LTS_TYPES[release]
    f = frame[frame["Client Type"] == SERVICE_USER[release]].copy()
    f["start"] = to_date(f["Event Start Date"])
    f["end"] = to_date(f["Event End Date"])
    dod = to_date(f["Date of Death"])
    f["end"] = f["end"].where(f["end"].isna() | dod.isna() | (f["end"] <= dod), dod)
    f["end"] = f["end"].where(f["end"].notna() | dod.isna(), dod)
    lts = f[(f["Event Type"] == "Service") & f["Service Type"].isin(lts_types)].copy()
    lts["rank"] = lts["Service Type"].map(lambda v: lts_types[v][1])
    rows = []
    for month_end in pd.date_range(end - pd.DateOffset(months=11), end, freq="ME"):
        live = lts[(lts["start"] <= month_end) & (lts["end"].isna() | (lts["end"] >= month_end))]
        best = live.groupby("LA Person Unique Identifier")["rank"].min()
        counts = best.value_counts()
        rows.append({"month_end": month_end, **{name: int(counts.get(rank, 0)) for name, rank in lts_types.values()}})
    stock = pd.DataFrame(rows).set_index("month_end")
    a = f[(f["Event Type"] == "Assessment") & ~f["Assessment Type"].str.startswith("Financial Assessment")]
    a = a[a["end"].notna()]
    merged = a[["LA Person Unique Identifier", "start", "end"]].merge(
        lts[["LA Person Unique Identifier", "start", "end"]],
        on="LA Person Unique Identifier",
        how="left",
        suffixes=("", "_lts"),
    )
    prior = (
        merged["start_lts"].notna()
        & (merged["start_lts"] < merged["start"])
        & (merged["end_lts"].isna() | (merged["end_lts"] >= merged["start"] - pd.Timedelta(days=365)))
    )
    excluded = set(
        merged.loc[prior, ["LA Person Unique Identifier", "start", "end"]].itertuples(index=False, name=None)
    )
    keep = [
        t not in excluded for t in a[["LA Person Unique Identifier", "start", "end"]].itertuples(index=False, name=None)
    ]
    a = a[np.array(keep, dtype=bool)]
    assessed = a.groupby(a["end"].dt.to_period("M"))["LA Person Unique Identifier"].nunique()
    return stock, assessed


def expected_release(entry: dict, release2: dict) -> tuple[int, bool | None]:
    """The release a file must follow by its submission day and its council's cohort, and whether it
    keeps the removed columns (None: either header, a late council's file after the switch)."""
    day, la = entry["submitted_at"][:10], entry["la_code"]
    if la in release2["late_release1"]:
        return 1, (True if day < SWITCH else None)
    adopts = EARLY_ADOPTION if la in release2["early_adopters"] else SWITCH
    if day < adopts:
        return 1, True
    return 2, la in release2["keeping_removed_columns"]


def sha_all(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "submissions").iterdir())}


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "data"
    meta = synth.generate(out, scale=SCALE, councils=N_COUNCILS, workers=2)
    faults = pd.read_csv(out / "faults.csv.gz", dtype={"file": str, "field": str, "kind": str}, keep_default_na=False)
    entries = {entry["file"]: entry for entry in meta["submissions"]}
    return SimpleNamespace(out=out, meta=meta, faults=faults, entries=entries)


@pytest.fixture(scope="session")
def clean_dataset(tmp_path_factory):
    """No faults, compressed, from January 2025: Release 1 files, early adopters' Release 2 files
    before the switch (E06000053 and E08000016 adopt early) and Release 2 files after it."""
    out = tmp_path_factory.mktemp("synth_clean") / "data"
    meta = synth.generate(
        out,
        scale=0.03,
        councils=["E06000053", "E09000001", "E08000016", "E06000022"],
        faults=False,
        workers=1,
        compress=True,
        start="2025-01",
        end="2026-03",
    )
    return SimpleNamespace(out=out, meta=meta, entries={entry["file"]: entry for entry in meta["submissions"]})


# ---------------------------------------------------------------------------------------------
# Layout and encoding
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_file_names_header_and_encoding(dataset):
    spec = load_spec()
    files = sorted((dataset.out / "submissions").iterdir())
    assert len(files) == dataset.meta["files"] > 0
    non_ascii_seen = False
    for path in files:
        match = NAME_RE.match(path.name)
        assert match, path.name
        dt.datetime.strptime(match.group(2), "%Y%m%dT%H%M%S")
        data = path.read_bytes()
        text = data.decode("cp1252")
        header = text.split("\n", 1)[0].split(",")
        entry = dataset.entries[path.name]
        labels = [label for label in spec.labels if entry["keeps_removed_columns"] or label not in REMOVED_LABELS]
        if "broken_header" in entry["faults"]:
            assert len(header) == len(labels) - 1 and set(header) < set(labels)
        else:
            assert header == labels
        if any(ord(c) > 127 for c in text):
            non_ascii_seen = True
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        frame = read_file(path)
        assert (frame["LA Code"] == match.group(1)).all()
    assert non_ascii_seen


@pytest.mark.slow
def test_dates_and_periods(dataset):
    for entry in dataset.meta["submissions"][::4]:
        frame = read_file(dataset.out / "submissions" / entry["file"])
        start = dt.date.fromisoformat(entry["period_start"]).strftime("%d/%m/%Y")
        end = dt.date.fromisoformat(entry["period_end"]).strftime("%d/%m/%Y")
        assert (frame["Reporting Period Start Date"] == start).all()
        assert (frame["Reporting Period End Date"] == end).all()
        if entry["period_end"] <= "2024-03-31":  # 2023/24: the year to date
            assert entry["period_start"] == "2023-04-01"
        else:  # from 2024/25: rolling 12 months
            following = dt.date.fromisoformat(entry["period_end"]) + dt.timedelta(days=1)
            assert entry["period_start"] == following.replace(year=following.year - 1).isoformat()


@pytest.mark.slow
def test_values_valid_unless_recorded_fault(dataset):
    """Every value is valid, every code spelt as the file's release spells it, but the faults listed."""
    faults = dataset.faults
    for path in sorted((dataset.out / "submissions").iterdir()):
        frame = read_file(path)
        recorded = faults[faults["file"] == path.name]
        cells = set(zip(recorded["row_number"].replace("", "0").astype(int), recorded["field"], strict=True))
        bad = invalid_cells(frame, dataset.entries[path.name]["release"]) | blank_mandatory_cells(frame)
        assert bad <= cells, (path.name, sorted(bad - cells)[:10])


@pytest.mark.slow
def test_no_faults_means_every_value_valid(clean_dataset):
    assert clean_dataset.meta["faults"] == []
    assert clean_dataset.meta["faults_enabled"] is False
    releases = set()
    for path in sorted((clean_dataset.out / "submissions").iterdir()):
        assert path.name.endswith(".csv.gz")
        frame = read_file(path)
        release = clean_dataset.entries[path.name]["release"]
        releases.add(release)
        assert not invalid_cells(frame, release), path.name
        assert not blank_mandatory_cells(frame), path.name
        assert not frame.duplicated().any()
        start, end = to_date(frame["Event Start Date"]), to_date(frame["Event End Date"])
        assert not (end < start).any()
        dob = to_date(frame["Date of Birth"])
        period_end = to_date(frame["Reporting Period End Date"])
        age = (period_end - dob).dt.days / 365.25
        assert age.between(15, 115).all()
    assert releases == {1, 2}


@pytest.mark.slow
def test_applicability(dataset):
    """Fields are filled only on the rows they apply to (background_validation a3)."""
    frame = pd.concat([read_file(p) for p in sorted((dataset.out / "submissions").iterdir())[-6:]])
    frame["Event Type"] = frame["Event Type"].str.strip().str.capitalize()
    frame = frame[frame["Event Type"].isin(["Request", "Assessment", "Service", "Review", ""])]
    etype, client = frame["Event Type"], canonical(frame, "Client_Type")
    assert (frame.loc[etype != "Request", "Request: Route of Access"] == "").all()
    assert (frame.loc[etype != "Assessment", "Assessment Type"] == "").all()
    assert (frame.loc[etype != "Service", ["Service Type", "Service Component", "Unit Cost"]] == "").all().all()
    assert (frame.loc[etype != "Review", ["Review Reason", "Method of Review"]] == "").all().all()
    ckba = client == "Unpaid carer known by association"
    assert ckba.any()
    assert (frame.loc[ckba, ["Event Type", "Event Start Date", "Event Reference"]] == "").all().all()
    assert (frame.loc[ckba, "Adult 1 Linked Person_ID"] != "").all()
    su = client == "Service user"
    carers = client.isin(["Unpaid carer", "Unpaid carer known by association"])
    assert (frame.loc[carers, ["Dementia", "Client Funding Status"]] == "").all().all()
    svc_review = su & etype.isin(["Service", "Review"])
    assert (frame.loc[svc_review, "Client Funding Status"] != "").mean() > 0.99
    care_homes = ["Long term support: Residential care", "Long term support: Nursing care"]
    home = canonical(frame, "Service_Type").isin(care_homes)
    assert home.any() and frame.loc[home, "Provider CQC Location ID"].str.match(r"^1-\d+$").all()
    financial = frame["Assessment Type"].str.startswith("Financial Assessment")
    assert financial.any() and (frame.loc[financial, "Event Outcome"] == "").all()
    assert (frame.loc[etype.isin(["Request", "Assessment", "Review"]), "Event End Date"] != "").mean() > 0.99


# ---------------------------------------------------------------------------------------------
# Release 1 and Release 2 files
# ---------------------------------------------------------------------------------------------
def test_the_constants_here_are_the_specifications():
    for release in (1, 2):
        assert set(LTS_TYPES[release]) <= allowed(release, "Service_Type")
        assert SERVICE_USER[release] in allowed(release, "Client_Type")
        assert not set(LTS_TYPES[release]) & allowed(3 - release, "Service_Type")
        assert SERVICE_USER[release] not in allowed(3 - release, "Client_Type")
    removed = {entry["name"] for entry in _data_yaml("r1_to_r2_mapping.yaml")["removed_fields"]}
    assert {load_spec().by_name[name].label for name in removed} == set(REMOVED_LABELS)
    assert _data_yaml("synth_distributions.yaml")["release2"]["switch_date"] == SWITCH


@pytest.mark.slow
def test_each_file_writes_the_release_synthetic_json_gives_it(dataset):
    """The header has the removed columns exactly when synthetic.json says so, and the codes are
    those of the file's release: values only the other release spells appear only as recorded
    faults, and each file holds values only its own release spells."""
    code_labels = {f.label: f.name for f in load_spec().of_kind("code")}
    rows = dataset.faults.assign(row=dataset.faults["row_number"].replace("", "0").astype(int))
    faulty = rows.groupby("file")["row"].agg(list).to_dict()
    seen = set()
    for path in sorted((dataset.out / "submissions").iterdir()):
        entry = dataset.entries[path.name]
        release = entry["release"]
        frame = read_file(path)
        assert set(REMOVED_LABELS) <= set(frame.columns) if entry["keeps_removed_columns"] else not (
            set(REMOVED_LABELS) & set(frame.columns)
        ), path.name
        clean = frame[~np.isin(np.arange(2, len(frame) + 2), faulty.get(path.name, []))]
        own = other = 0
        for label in set(code_labels) & set(frame.columns):
            mine, theirs = allowed(release, code_labels[label]), allowed(3 - release, code_labels[label])
            own += int(clean[label].isin(mine - theirs).sum())
            other += int(clean[label].isin(theirs - mine).sum())
        assert other == 0, (path.name, release, other)
        assert own > 0 or clean.empty, (path.name, release)
        seen.add((release, entry["keeps_removed_columns"]))
    assert seen == {(1, True), (1, False), (2, True), (2, False)}


def test_files_follow_the_switch_and_the_cohorts(dataset):
    release2 = dataset.meta["release2"]
    assert release2["switch_date"] == SWITCH and release2["early_adoption_date"] == EARLY_ADOPTION
    cohorts = [set(release2[k]) for k in ("early_adopters", "late_release1", "keeping_removed_columns")]
    assert all(cohort <= set(dataset.meta["councils"]) for cohort in cohorts)
    assert not cohorts[0] & cohorts[1] and not cohorts[1] & cohorts[2]
    for entry in dataset.meta["submissions"]:
        release, keeps = expected_release(entry, release2)
        assert entry["release"] == release, entry
        assert keeps is None or entry["keeps_removed_columns"] == keeps, entry
    plan = pd.DataFrame(dataset.meta["submissions"])
    before = plan["submitted_at"] < SWITCH
    # An early adopter sends Release 2 before the switch; a late council Release 1 after it.
    assert set(plan.loc[before & (plan["release"] == 2), "la_code"]) == cohorts[0] != set()
    assert set(plan.loc[~before & (plan["release"] == 1), "la_code"]) == cohorts[1] != set()
    assert (plan.loc[before & ~plan["la_code"].isin(cohorts[0]), "release"] == 1).all()
    assert ((plan["release"] == 2) & plan["keeps_removed_columns"]).any()
    assert (plan.loc[~before & (plan["release"] == 2), "la_code"].nunique()) == len(dataset.meta["councils"]) - len(
        cohorts[1]
    )


def test_release_cohorts_of_all_councils():
    """About 10% early adopters, 8% late Release 1 councils, 15% of the others keeping the removed
    columns; a late council's files after the switch come with either header."""
    plan = synth.plan_submissions()
    before = plan["submitted_at"] < SWITCH
    early = set(plan.loc[before & (plan["release"] == 2), "la_code"])
    late = set(plan.loc[~before & (plan["release"] == 1), "la_code"])
    keeping = set(plan.loc[(plan["release"] == 2) & plan["keeps_removed_columns"], "la_code"])
    assert (len(early), len(late), len(keeping)) == (15, 12, 21)
    assert not early & late and not late & keeping
    assert plan.loc[before & (plan["release"] == 2), "submitted_at"].min() >= EARLY_ADOPTION
    late_after = plan[plan["la_code"].isin(late) & ~before]
    assert set(late_after["keeps_removed_columns"]) == {True, False}
    assert plan.loc[(plan["release"] == 1) & before, "keeps_removed_columns"].all()


def test_release_does_not_change_what_the_measures_read(tmp_path, monkeypatch):
    """The same council written once all Release 1 and once all Release 2 (forcing every file's
    release) reads to the same canonical values, but for the Release 1-only values of the fields
    the measures never read, which Release 2 files write as their stand-ins."""
    from cldstats.tools.synth import plan as synth_plan

    key, prefix = load_key(None, synthetic=True), load_params()["method"]["financial_assessment_prefix"]
    read = {}
    for release, keeps in ((1, True), (2, False)):
        monkeypatch.setattr(synth_plan, "file_release", lambda *args, r=release, k=keeps: (r, k))
        out = tmp_path / f"release{release}"
        synth.generate(out, scale=SCALE, councils=["E06000001"], start="2025-01", end="2025-03", workers=1)
        read[release] = {
            p.name: read_submission(p, key, financial_assessment_prefix=prefix)
            for p in sorted((out / "submissions").iterdir())
        }
    assert read[1].keys() == read[2].keys() and read[1]
    stand_ins = _data_yaml("synth_distributions.yaml")["release2"]["stand_ins"]
    sql = " ".join(p.read_text(encoding="utf-8") for p in (REPO / "cldstats" / "measures" / "sql").glob("*.sql"))
    for field_name in stand_ins:  # stand-ins only where the measures never look
        assert field_name not in sql and field_name not in RECORD_COLUMNS
    # What the measures read of the submitted assessment type: whether it begins with the prefix.
    submitted = "Assessment_Type_submitted"
    measured = [c for c in RECORD_COLUMNS if c not in ("la_code", submitted, "Event_End_Date_status")]
    replaced = 0
    for name, first in read[1].items():
        one, two = first.records, read[2][name].records
        assert set(measured) <= set(one.columns)
        pd.testing.assert_series_equal(first.status["Event_End_Date"], read[2][name].status["Event_End_Date"])
        pd.testing.assert_frame_equal(one[measured], two[measured])
        financial = [r[submitted].str.strip().str.lower().str.startswith(prefix.lower()) for r in (one, two)]
        pd.testing.assert_series_equal(*financial)
        same = [c for c in one.columns if c not in (*stand_ins, "Provider_CQC_Location_Name", submitted)]
        pd.testing.assert_frame_equal(one[same], two[same], check_categorical=False)
        assert two["Provider_CQC_Location_Name"].isna().all()
        for field_name, pairs in stand_ins.items():
            was = one[field_name].astype("string")
            expected = was.map(lambda v, pairs=pairs: pairs.get(v, v) if isinstance(v, str) else v)
            assert (two[field_name].astype("string").fillna("") == expected.fillna("")).all(), (name, field_name)
            replaced += int(was.isin(list(pairs)).sum())
    assert replaced > 0


# ---------------------------------------------------------------------------------------------
# Faults and synthetic.json
# ---------------------------------------------------------------------------------------------
def test_synthetic_json_and_fault_list(dataset):
    meta = json.loads((dataset.out / "synthetic.json").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True
    assert meta["seed"] == 2023 and meta["scale"] == SCALE and meta["start"] == "2023-04" and meta["end"] == "2026-03"
    assert len(meta["councils"]) == N_COUNCILS
    assert meta["release2"] == dataset.meta["release2"]
    assert {e["release"] for e in meta["submissions"]} == {1, 2}
    assert {e["keeps_removed_columns"] for e in meta["submissions"]} == {True, False}
    kinds = {f["kind"]: f for f in meta["faults"]}
    for kind in (
        "nhs_number_blank_person",
        "nhs_number_blank_row",
        "nhs_number_invalid_check_digit",
        "code_case_or_space",
        "code_invalid",
        "mandatory_blank",
        "end_before_start",
        "date_iso",
        "date_excel_serial",
        "duplicate_row",
        "broken_header",
        "late_submission",
        "missing_submission",
    ):
        assert kind in kinds
    for kind in ("nhs_number_blank_row", "code_case_or_space", "date_iso", "date_excel_serial", "duplicate_row"):
        assert kinds[kind]["count"] > 0, kind
    broken = kinds["broken_header"]["files"]
    assert len(broken) == 1
    la = broken[0].split("_")[0]
    plan = pd.DataFrame(meta["submissions"])
    later = plan[(plan["la_code"] == la) & (plan["period_end"] == "2026-03-31") & (plan["file"] > broken[0])]
    assert len(later) >= 1, "the broken-header file must be corrected by a later file"
    counted = dataset.faults.groupby("kind").size()
    for kind, entry in kinds.items():
        assert entry["count"] == int(counted.get(kind, 0))
    bad_share = len(dataset.faults) / (meta["rows"] * 50)
    assert bad_share < 0.01


def test_duplicates_and_iso_dates_are_where_recorded(dataset):
    faults = dataset.faults
    dup = faults[faults["kind"] == "duplicate_row"].iloc[0]
    frame = read_file(dataset.out / "submissions" / dup["file"])
    row = int(dup["row_number"]) - 2
    assert frame.iloc[row]["Event Reference"] == frame.iloc[row - 1]["Event Reference"]
    iso = faults[faults["kind"] == "date_iso"].iloc[0]
    frame = read_file(dataset.out / "submissions" / iso["file"])
    value = frame.iloc[int(iso["row_number"]) - 2][load_spec().by_name[iso["field"]].label]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
    serial = faults[faults["kind"] == "date_excel_serial"].iloc[0]
    frame = read_file(dataset.out / "submissions" / serial["file"])
    value = frame.iloc[int(serial["row_number"]) - 2][load_spec().by_name[serial["field"]].label]
    assert re.fullmatch(r"\d{4,5}", value)


# ---------------------------------------------------------------------------------------------
# People and events across files
# ---------------------------------------------------------------------------------------------
def test_people_consistent_across_files(dataset):
    """One council's people and events across its files, Release 1 and Release 2 files alike."""
    faults = dataset.faults
    la = dataset.meta["councils"][0]
    frames = []
    for path in sorted((dataset.out / "submissions").glob(f"{la}_*")):
        if path.name in set(faults.loc[faults["kind"] == "broken_header", "file"]):
            continue
        frame = read_file(path)
        frame["file"] = path.name
        frame["row_number"] = np.arange(len(frame)) + 2
        frames.append(frame)
    allrows = pd.concat(frames, ignore_index=True)
    assert {dataset.entries[name]["release"] for name in allrows["file"]} == {1, 2}
    faulty = set(zip(faults["file"], faults["row_number"].replace("", "0").astype(int), strict=True))
    clean = allrows[[(f, r) not in faulty for f, r in zip(allrows["file"], allrows["row_number"], strict=True)]].copy()
    for name in ("Gender", "Client_Type", "Ethnicity"):
        clean[name] = canonical(clean, name)
    per_person = clean.groupby("LA Person Unique Identifier")[["Date of Birth", "Gender", "Ethnicity", "NHS Number"]]
    assert (per_person.nunique() <= 1).all().all()
    # the same event keeps its reference; services open in one file are closed in a later one
    services = clean[clean["Event Type"] == "Service"]
    by_ref = services.groupby("Event Reference")["Event End Date"].agg(lambda s: (s == "").any() and (s != "").any())
    assert by_ref.sum() > 10
    assert (clean["Client_Type"] == "Unpaid carer known by association").any()
    assert (clean["Client_Type"] == "Unpaid carer").any()
    assert (clean["Date of Death"] != "").any()
    assert ((clean["Date of Death"] != "") & (clean["Event End Date"] == "") & (clean["Event Type"] == "Service")).any()
    ages = (to_date(clean["Reporting Period End Date"]) - to_date(clean["Date of Birth"])).dt.days / 365.25
    assert (clean["Client_Type"] == "Service user").any()
    assert ages.max() < 116


def test_resubmission_knows_more(dataset):
    plan = pd.DataFrame(dataset.meta["submissions"])
    resub = plan[plan["kind"] == "resubmission"]
    assert len(resub) > 0
    entry = resub.iloc[0]
    first = plan[
        (plan["la_code"] == entry["la_code"])
        & (plan["period_end"] == entry["period_end"])
        & (plan["kind"] != "resubmission")
    ].iloc[0]
    a = read_file(dataset.out / "submissions" / first["file"])
    b = read_file(dataset.out / "submissions" / entry["file"])
    assert set(a["Event Reference"]) - {""} <= set(b["Event Reference"]) | set(a["Event Reference"])
    assert len(b) >= len(a) * 0.98


# ---------------------------------------------------------------------------------------------
# Calibration (own counting code, scale 0.05)
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_calibration(dataset):
    """At 31 March 2026 and over April 2025 to March 2026 (the published figures the generator is
    calibrated to), from each council's latest usable file for the year, whichever its release."""
    ref = councils().set_index("la_code")
    end = year_end(dataset.meta)
    assert end == pd.Timestamp("2026-03-31")
    chosen = latest_q4_files(dataset.out / "submissions", dataset.meta)
    assert len(chosen) >= N_COUNCILS - 1
    assert {release for _, release in chosen.values()} == {1, 2}  # a late council sends Release 1
    stock = None
    assessed = None
    for path, release in chosen.values():
        s, a = measures(read_file(path), release, end)
        stock = s if stock is None else stock.add(s, fill_value=0)
        assessed = a if assessed is None else assessed.add(a, fill_value=0)
    total = stock.sum(axis=1)
    assert total.index[-1] == end and len(total) == 12
    expected = SCALE * ref.loc[list(chosen), "lts_31mar2026"].sum()
    assert abs(total.iloc[-1] / expected - 1) < 0.10, (total.iloc[-1], expected)
    shares = stock.iloc[-1] / total.iloc[-1]
    assert abs(shares["Community"] - 0.71) < 0.04
    assert abs(shares["Residential care"] - 0.21) < 0.04
    assert abs(shares["Nursing care"] - 0.08) < 0.03
    assert (total.pct_change().dropna().abs() < 0.05).all(), total
    expected_assessed = SCALE * ref.loc[list(chosen), "assessments_apr25_mar26"].sum() / 12
    # April 2025 to February 2026: March's assessments are not all recorded by the file's upload.
    monthly = assessed[(assessed.index >= pd.Period("2025-04")) & (assessed.index <= pd.Period("2026-02"))]
    assert len(monthly) == 11
    assert abs(monthly.mean() / expected_assessed - 1) < 0.20, (monthly.mean(), expected_assessed)


# ---------------------------------------------------------------------------------------------
# Determinism, subsets, plans and errors
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_deterministic_and_subset_reproduces(dataset, tmp_path):
    subset = dataset.meta["councils"][1:3]
    again = synth.generate(tmp_path / "again", scale=SCALE, councils=subset, workers=1)
    assert again["councils"] == subset
    assert again["release2"]["late_release1"] == sorted(set(subset) & set(dataset.meta["release2"]["late_release1"]))
    full = sha_all(dataset.out)
    part = sha_all(tmp_path / "again")
    broken = {f for e in dataset.meta["faults"] if e["kind"] == "broken_header" for f in e["files"]}
    common = {k: v for k, v in part.items() if k not in broken and k in full}
    assert len(common) >= len(part) - 1
    assert common and all(full[k] == v for k, v in common.items())
    twice = synth.generate(tmp_path / "twice", scale=SCALE, councils=subset, workers=2)
    assert sha_all(tmp_path / "twice") == part
    assert (tmp_path / "twice" / "faults.csv.gz").read_bytes() == (tmp_path / "again" / "faults.csv.gz").read_bytes()
    assert twice["rows"] == again["rows"]


def test_full_plan_covers_all_councils():
    plan = synth.plan_submissions()
    assert plan["la_code"].nunique() == 153
    quarters = plan[plan["kind"] == "quarterly"]
    assert set(quarters["period_end"]) == {
        calendar.month_end(f"{year}-{month:02d}").isoformat()
        for year in (2023, 2024, 2025, 2026)
        for month in (3, 6, 9, 12)
        if "2023-06" <= f"{year}-{month:02d}" <= "2026-03"
    }
    usable = plan[
        (plan["period_end"] == "2026-03-31")
        & (plan["submitted_at"] > "2026-04-01")
        & (plan["submitted_at"] <= "2026-05-31T23:59:59")
        & (plan["kind"] != "broken_header")
    ]
    assert usable["la_code"].nunique() >= 148
    assert (plan["kind"] == "broken_header").sum() == 1
    assert plan["faults"].str.contains("late_submission").any()
    monthly = plan[plan["kind"] == "monthly"]["la_code"].nunique()
    assert 10 <= monthly <= 40
    on_time = plan[plan["kind"] == "quarterly"]
    lag = pd.to_datetime(on_time["submitted_at"]) - pd.to_datetime(on_time["period_end"])
    assert (lag <= pd.Timedelta(days=32)).mean() > 0.8
    assert plan["file"].is_unique
    # The old span is still a prefix of the plan: the same files, with the same names.
    old = synth.plan_submissions(start="2023-04", end="2024-03")
    assert set(old.loc[old["kind"] != "broken_header", "file"]) <= set(plan["file"])


def test_bad_arguments():
    with pytest.raises(CldstatsError):
        synth.plan_submissions(start="2023-13")
    with pytest.raises(CldstatsError):
        synth.plan_submissions(start="2024-03", end="2023-04")
    with pytest.raises(CldstatsError):
        synth.plan_submissions(councils=["E99999999"])
    with pytest.raises(CldstatsError):
        synth.plan_submissions(start="2022-04")


@pytest.mark.slow
def test_run_cli_prints_summary(tmp_path, capsys):
    args = SimpleNamespace(
        out=tmp_path / "cli",
        scale=0.02,
        seed=7,
        start="2023-04",
        end="2023-06",
        councils=["E06000053", "E09000001"],
        compress=False,
        no_faults=True,
    )
    assert synth.run_cli(args) == 0
    printed = capsys.readouterr().out
    assert "files" in printed and "rows" in printed and "long-term support" in printed
    assert re.search(r"\d+ files \(\d+ Release 1, \d+ Release 2\)", printed), printed
    meta = json.loads((tmp_path / "cli" / "synthetic.json").read_text(encoding="utf-8"))
    assert meta["councils"] == ["E06000053", "E09000001"] and meta["seed"] == 7


def test_calendar_is_the_pipelines():
    """Month ends, release starts and cut-offs are those of cldstats.reference.calendar."""
    for index in range(36):
        year, month = 2023 + (index + 3) // 12, (index + 3) % 12 + 1
        text = f"{year:04d}-{month:02d}"
        end = dates.covered_month_ends(text, text)[0]
        assert dates.to_date(end) == calendar.month_end(text)
        assert dates.to_date(dates.submission_cutoff(end)) == calendar.default_cutoff(text)
        first = calendar.release_month_ends(text)[0]
        assert dates.to_date(dates.reporting_period_start(end)) == first.replace(day=1)
        following = calendar.month_end(text) + dt.timedelta(days=1)  # rolling 12 months from 2024/25
        rolling = following.replace(year=following.year - 1)
        assert dates.to_date(dates.reporting_period_start(end)) == max(dt.date(2023, 4, 1), rolling)
    ends = dates.covered_month_ends("2023-11", "2024-02")
    assert [dates.to_date(d) for d in ends] == calendar.release_month_ends("2024-02", count=4)


def test_distributions_are_read_once_and_name_spec_codes():
    """Every mix names values of a release's list, and every Release 2 stand-in maps a Release 1
    value to a Release 2 value."""
    assert distributions.distributions() is distributions.distributions()
    assert synth.FAULT_RATES is distributions.distributions()["fault_rates"]
    mixes = {
        "Gender": distributions.GENDER_MIX,
        "Primary_Support_Reason": {**distributions.PSR_MIX_YOUNG, **distributions.PSR_MIX_OLD},
        "Request_Route_of_Access": {
            **distributions.ROUTE_NEW_CLIENT,
            **distributions.NEW_CLIENTS["request_only_route"],
        },
        "Event_Outcome": {**distributions.REQUEST_ONLY_OUTCOMES, **distributions.SPELL_END_OUTCOMES},
        "Service_Type": distributions.SETTING_SHARE,
        "Service_Component": distributions.COMMUNITY_COMPONENTS,
        "Ethnicity": distributions.LONDON_MINORITY_MIX,
        "Client_Funding_Status": distributions.FUNDING_MIX,
    }
    for field_name, mix in mixes.items():
        assert set(mix) <= allowed(1, field_name) | allowed(2, field_name), field_name
    for field_name, pairs in distributions.RELEASE2["stand_ins"].items():
        assert set(pairs) <= allowed(1, field_name) - allowed(2, field_name), field_name
        assert set(pairs.values()) <= allowed(2, field_name), field_name

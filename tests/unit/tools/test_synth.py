"""Tests of the synthetic CLD generator (cldstats.tools.synth).

One small dataset is generated once per session (10 councils spread over regions and sizes, scale
0.05) and read back with independent pandas code: layout, encoding, code lists, the fault log,
consistency of people across files, calibration against the published national picture, and
determinism. The full 153-council plan is checked without writing rows.
"""

from __future__ import annotations

import datetime as dt
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

from cldstats.core.errors import CldstatsError
from cldstats.reference import calendar
from cldstats.reference.lists import councils
from cldstats.reference.spec import load_spec
from cldstats.tools import synth
from cldstats.tools.synth import dates, distributions

SCALE = 0.05
N_COUNCILS = 10
NAME_RE = re.compile(r"^(E\d{8})_(\d{8}T\d{6})\.csv(\.gz)?$")
DATE_RE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
POSTCODE_RE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2}$")
LTS_TYPES = {
    "Long Term Support: Nursing Care": ("Nursing care", 1),
    "Long Term Support: Residential Care": ("Residential care", 2),
    "Long Term Support: Community": ("Community", 3),
    "Long Term Support: Prison": ("Prison", 4),
}


# ---------------------------------------------------------------------------------------------
# Independent readers and checks (no synth internals)
# ---------------------------------------------------------------------------------------------
def read_file(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="cp1252")


def nhs_valid(value: str) -> bool:
    if not re.fullmatch(r"\d{10}", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return check != 10 and check == int(value[9])


def date_valid(value: str) -> bool:
    if not DATE_RE.match(value):
        return False
    try:
        dt.datetime.strptime(value, "%d/%m/%Y")
    except ValueError:
        return False
    return True


def invalid_cells(frame: pd.DataFrame) -> set[tuple[int, str]]:
    """(row_number, field) of every value that is not exactly valid, by the spec's rules."""
    spec = load_spec()
    bad: set[tuple[int, str]] = set()
    by_label = spec.by_label
    for label in frame.columns:
        f = by_label[label]
        values = frame[label]
        present = values != ""
        if f.kind == "code":
            ok = values.isin(f.code_list)
        elif f.kind == "date":
            ok = values.map(date_valid)
        elif f.kind == "nhs_number":
            ok = values.map(nhs_valid)
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


def latest_q4_files(sub_dir: Path, meta: dict) -> dict[str, Path]:
    """Per council, the latest usable file for period end 31/03/2024 submitted by 31/05/2024."""
    plan = pd.DataFrame(meta["submissions"])
    plan = plan[
        (plan["period_end"] == "2024-03-31")
        & (plan["submitted_at"] <= "2024-05-31T23:59:59")
        & (plan["kind"] != "broken_header")
    ]
    chosen = plan.sort_values("submitted_at").groupby("la_code").tail(1)
    return {row.la_code: sub_dir / row.file for row in chosen.itertuples()}


def measures(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """LTS people by setting at each month end, and people assessed per month (docs/methodology.md sections 4, 5)."""
    f = frame[frame["Client Type"] == "Service User"].copy()
    f["start"] = to_date(f["Event Start Date"])
    f["end"] = to_date(f["Event End Date"])
    dod = to_date(f["Date of Death"])
    f["end"] = f["end"].where(f["end"].isna() | dod.isna() | (f["end"] <= dod), dod)
    f["end"] = f["end"].where(f["end"].notna() | dod.isna(), dod)
    lts = f[(f["Event Type"] == "Service") & f["Service Type"].isin(LTS_TYPES)].copy()
    lts["rank"] = lts["Service Type"].map(lambda v: LTS_TYPES[v][1])
    rows = []
    for month_end in pd.date_range("2023-04-30", "2024-03-31", freq="ME"):
        live = lts[(lts["start"] <= month_end) & (lts["end"].isna() | (lts["end"] >= month_end))]
        best = live.groupby("LA Person Unique Identifier")["rank"].min()
        counts = best.value_counts()
        rows.append({"month_end": month_end, **{name: int(counts.get(rank, 0)) for name, rank in LTS_TYPES.values()}})
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
    return SimpleNamespace(out=out, meta=meta, faults=faults)


@pytest.fixture(scope="session")
def clean_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_clean") / "data"
    meta = synth.generate(
        out,
        scale=0.03,
        councils=["E06000053", "E09000001", "E08000016", "E06000022"],
        faults=False,
        workers=1,
        compress=True,
    )
    return SimpleNamespace(out=out, meta=meta)


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
        broken = path.name in {f for e in dataset.meta["faults"] if e["kind"] == "broken_header" for f in e["files"]}
        if broken:
            assert len(header) == 49 and set(header) < set(spec.labels)
        else:
            assert header == spec.labels
        if any(ord(c) > 127 for c in text):
            non_ascii_seen = True
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        frame = read_file(path)
        assert (frame["LA Code"] == match.group(1)).all()
    assert non_ascii_seen


@pytest.mark.slow
def test_dates_and_periods(dataset):
    for entry in dataset.meta["submissions"][:40]:
        frame = read_file(dataset.out / "submissions" / entry["file"])
        start = dt.date.fromisoformat(entry["period_start"]).strftime("%d/%m/%Y")
        end = dt.date.fromisoformat(entry["period_end"]).strftime("%d/%m/%Y")
        assert (frame["Reporting Period Start Date"] == start).all()
        assert (frame["Reporting Period End Date"] == end).all()
        if entry["period_end"] <= "2024-03-31":
            assert entry["period_start"] == "2023-04-01"


@pytest.mark.slow
def test_values_valid_unless_recorded_fault(dataset):
    faults = dataset.faults
    for path in sorted((dataset.out / "submissions").iterdir()):
        frame = read_file(path)
        recorded = faults[faults["file"] == path.name]
        cells = set(zip(recorded["row_number"].replace("", "0").astype(int), recorded["field"], strict=True))
        bad = invalid_cells(frame) | blank_mandatory_cells(frame)
        assert bad <= cells, (path.name, sorted(bad - cells)[:10])


@pytest.mark.slow
def test_no_faults_means_every_value_valid(clean_dataset):
    assert clean_dataset.meta["faults"] == []
    assert clean_dataset.meta["faults_enabled"] is False
    for path in sorted((clean_dataset.out / "submissions").iterdir()):
        assert path.name.endswith(".csv.gz")
        frame = read_file(path)
        assert not invalid_cells(frame), path.name
        assert not blank_mandatory_cells(frame), path.name
        assert not frame.duplicated().any()
        start, end = to_date(frame["Event Start Date"]), to_date(frame["Event End Date"])
        assert not (end < start).any()
        dob = to_date(frame["Date of Birth"])
        period_end = to_date(frame["Reporting Period End Date"])
        age = (period_end - dob).dt.days / 365.25
        assert age.between(15, 115).all()


@pytest.mark.slow
def test_applicability(dataset):
    """Fields are filled only on the rows they apply to (background_validation a3)."""
    frame = pd.concat([read_file(p) for p in sorted((dataset.out / "submissions").iterdir())[-6:]])
    frame["Event Type"] = frame["Event Type"].str.strip().str.capitalize()
    frame = frame[frame["Event Type"].isin(["Request", "Assessment", "Service", "Review", ""])]
    etype, client = frame["Event Type"], frame["Client Type"]
    assert (frame.loc[etype != "Request", "Request: Route of Access"] == "").all()
    assert (frame.loc[etype != "Assessment", "Assessment Type"] == "").all()
    assert (frame.loc[etype != "Service", ["Service Type", "Service Component", "Unit Cost"]] == "").all().all()
    assert (frame.loc[etype != "Review", ["Review Reason", "Method of Review"]] == "").all().all()
    ckba = client == "Carer known by association"
    assert ckba.any()
    assert (frame.loc[ckba, ["Event Type", "Event Start Date", "Event Reference"]] == "").all().all()
    assert (frame.loc[ckba, "Adult 1 Linked Person_ID"] != "").all()
    su = client.str.strip().str.casefold() == "service user"
    carers = client.str.strip().str.casefold().isin(["carer", "carer known by association"])
    assert (frame.loc[carers, ["Dementia", "Client Funding Status"]] == "").all().all()
    svc_review = su & etype.isin(["Service", "Review"])
    assert (frame.loc[svc_review, "Client Funding Status"] != "").mean() > 0.99
    home = frame["Service Type"].isin(["Long Term Support: Residential Care", "Long Term Support: Nursing Care"])
    assert frame.loc[home, "Provider CQC Location ID"].str.match(r"^1-\d+$").all()
    financial = frame["Assessment Type"].str.startswith("Financial Assessment")
    assert financial.any() and (frame.loc[financial, "Event Outcome"] == "").all()
    assert (frame.loc[etype.isin(["Request", "Assessment", "Review"]), "Event End Date"] != "").mean() > 0.99


# ---------------------------------------------------------------------------------------------
# Faults and synthetic.json
# ---------------------------------------------------------------------------------------------
def test_synthetic_json_and_fault_list(dataset):
    meta = json.loads((dataset.out / "synthetic.json").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True
    assert meta["seed"] == 2023 and meta["scale"] == SCALE and meta["start"] == "2023-04" and meta["end"] == "2024-03"
    assert len(meta["councils"]) == N_COUNCILS
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
    later = plan[(plan["la_code"] == la) & (plan["period_end"] == "2024-03-31") & (plan["file"] > broken[0])]
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
    faulty = set(zip(faults["file"], faults["row_number"].replace("", "0").astype(int), strict=True))
    clean = allrows[[(f, r) not in faulty for f, r in zip(allrows["file"], allrows["row_number"], strict=True)]]
    per_person = clean.groupby("LA Person Unique Identifier")[["Date of Birth", "Gender", "NHS Number"]].nunique()
    assert (per_person <= 1).all().all()
    # the same event keeps its reference; services open in one file are closed in a later one
    services = clean[clean["Event Type"] == "Service"]
    by_ref = services.groupby("Event Reference")["Event End Date"].agg(lambda s: (s == "").any() and (s != "").any())
    assert by_ref.sum() > 10
    assert (clean["Client Type"] == "Carer known by association").any()
    assert (clean["Client Type"] == "Carer").any()
    assert (clean["Date of Death"] != "").any()
    assert ((clean["Date of Death"] != "") & (clean["Event End Date"] == "") & (clean["Event Type"] == "Service")).any()
    ages = (to_date(clean["Reporting Period End Date"]) - to_date(clean["Date of Birth"])).dt.days / 365.25
    assert (clean["Client Type"] == "Service User").any()
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
    ref = councils().set_index("la_code")
    chosen = latest_q4_files(dataset.out / "submissions", dataset.meta)
    assert len(chosen) >= N_COUNCILS - 1
    stock = None
    assessed = None
    for path in chosen.values():
        s, a = measures(read_file(path))
        stock = s if stock is None else stock.add(s, fill_value=0)
        assessed = a if assessed is None else assessed.add(a, fill_value=0)
    total = stock.sum(axis=1)
    expected = SCALE * ref.loc[list(chosen), "lts_31mar2026"].sum()
    assert abs(total.iloc[-1] / expected - 1) < 0.10, (total.iloc[-1], expected)
    shares = stock.iloc[-1] / total.iloc[-1]
    assert abs(shares["Community"] - 0.71) < 0.04
    assert abs(shares["Residential care"] - 0.21) < 0.04
    assert abs(shares["Nursing care"] - 0.08) < 0.03
    assert (total.pct_change().dropna().abs() < 0.05).all(), total
    expected_assessed = SCALE * ref.loc[list(chosen), "assessments_apr25_mar26"].sum() / 12
    monthly = assessed[(assessed.index >= pd.Period("2023-04")) & (assessed.index <= pd.Period("2024-02"))]
    assert abs(monthly.mean() / expected_assessed - 1) < 0.20, (monthly.mean(), expected_assessed)


# ---------------------------------------------------------------------------------------------
# Determinism, subsets, plans and errors
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_deterministic_and_subset_reproduces(dataset, tmp_path):
    subset = dataset.meta["councils"][1:3]
    again = synth.generate(tmp_path / "again", scale=SCALE, councils=subset, workers=1)
    assert again["councils"] == subset
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
    assert set(quarters["period_end"]) == {"2023-06-30", "2023-09-30", "2023-12-31", "2024-03-31"}
    usable = plan[
        (plan["period_end"] == "2024-03-31")
        & (plan["submitted_at"] > "2024-04-01")
        & (plan["submitted_at"] <= "2024-05-31T23:59:59")
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
    assert distributions.distributions() is distributions.distributions()
    assert synth.FAULT_RATES is distributions.distributions()["fault_rates"]
    spec = load_spec()
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
    }
    for field_name, mix in mixes.items():
        assert set(mix) <= set(spec.by_name[field_name].code_list), field_name

"""The QA family of notebook helpers (docs/methodology.md section 7): the publication gate, how
each council's submission was chosen (the cut-off, both reporting periods of every file, files
excluded or included by hand), the accounting of the submissions folder, ties, rejections,
validation results, the CLD release of each council's file, council outcomes, month-on-month
changes and revisions. They read ``qa/`` and ``manifest.json``; their output belongs in the
restricted QA report (``qa/qa.html``) only.
"""

from __future__ import annotations

import html
import json

import pandas as pd

from cldstats import reference
from cldstats.core.errors import CldstatsError
from cldstats.measures.selection import NOT_VALIDATED, tie_findings
from cldstats.publication.report_format import display_html, download_item, file_label, table_html
from cldstats.publication.report_published import revised_cells
from cldstats.publication.report_release import HTML_TO_RELEASE, Release
from cldstats.reference import statements


def gate_summary(release: Release):
    """Display the publication gate: coverage, England month change, failures and any override."""
    gate = release.manifest().get("gate")
    if not gate:
        return display_html("<p>No manifest yet: the gate decision is recorded when the release is placed.</p>")
    change = gate.get("month_change")
    rows = [
        ("Decision", gate.get("message", "")),
        ("Councils with a selected file", statements.councils_of_total(release.facts, gate.get("councils_selected"))),
        ("Coverage", f"{gate.get('coverage', 0):.1%}"),
        ("England month-on-month change (unrounded)", "not available" if change is None else f"{change:.2%}"),
        ("Gate failures", "; ".join(gate.get("failures") or []) or "none"),
        ("Override reason", gate.get("override_reason") or "none"),
    ]
    rows += [(f"Submissions {k}", str(v)) for k, v in sorted((gate.get("submission_outcomes") or {}).items())]
    frame = pd.DataFrame(rows, columns=["Item", "Value"])
    return display_html(table_html(frame, "Publication gate", table_id="gate"))


def validation_by_suite(release: Release) -> pd.DataFrame:
    """Great Expectations results of every submission aggregated per suite.

    Returns
    -------
    pandas.DataFrame
        One row per suite: submissions validated, submissions passing, expectations evaluated and
        failed, and the most frequent failing checks.
    """
    folder = release.path / "qa" / "validation"
    stats: dict[str, dict] = {}
    for path in sorted(folder.glob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        for suite_name, suite in (result.get("suites") or {}).items():
            entry = stats.setdefault(suite_name, {"submissions": 0, "passed": 0, "evaluated": 0,
                                                  "failed": 0, "checks": {}})
            entry["submissions"] += 1
            entry["passed"] += bool(suite.get("success"))
            entry["evaluated"] += int(suite.get("statistics", {}).get("evaluated_expectations", 0))
            entry["failed"] += int(suite.get("statistics", {}).get("unsuccessful_expectations", 0))
            for item in suite.get("results", []):
                if item.get("success"):
                    continue
                config = item.get("expectation_config", {})
                meta = config.get("meta", {})
                label = meta.get("check") or config.get("type", "?")
                column = meta.get("field") or config.get("kwargs", {}).get("column")
                label = f"{label} ({column})" if column else label
                entry["checks"][label] = entry["checks"].get(label, 0) + 1
    rows = []
    for suite_name, e in sorted(stats.items()):
        top = sorted(e["checks"].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        rows.append({
            "Suite": suite_name,
            "Submissions": e["submissions"],
            "Submissions passing": e["passed"],
            "Expectations evaluated": e["evaluated"],
            "Expectations failed": e["failed"],
            "Most frequent failures (submissions)": "; ".join(f"{k}: {v}" for k, v in top) or "none",
        })
    return pd.DataFrame(rows, columns=["Suite", "Submissions", "Submissions passing", "Expectations evaluated",
                                       "Expectations failed", "Most frequent failures (submissions)"])


def _failed_counts(release: Release) -> pd.DataFrame:
    """Field-level failures of the selected files from ``qa/data_quality/<LA>.csv``."""
    frames = []
    for path in sorted((release.path / "qa" / "data_quality").glob("E*.csv")):
        if path.stem.endswith("_records"):
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["la_code"] = path.stem
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["la_code", "file", "field", "label", "check", "status", "count"])
    frame = pd.concat(frames, ignore_index=True)
    frame["count"] = pd.to_numeric(frame["count"], errors="coerce").fillna(0).astype(int)
    return frame[frame["status"].str.startswith("Failed") & (frame["count"] > 0)]


def council_summary(release: Release) -> pd.DataFrame:
    """Gate outcome per council: the selected file, its outcome, rows and failed field checks.

    Returns
    -------
    pandas.DataFrame
        One row per council of the 153, with a ``Report`` column holding an HTML link to the
        council's data quality report (relative to the HTML folder) where one exists.
    """

    councils = reference.councils()[["la_code", "la_name", "region"]]
    subs = _validated(release).copy()
    subs["selected"] = subs["selected"].str.lower() == "true"
    files = subs.groupby("la_code").size().rename("files")
    chosen = subs[subs["selected"]].drop_duplicates("la_code").set_index("la_code")
    failed = _failed_counts(release)
    selected_files = set(chosen["file"]) if len(chosen) else set()
    failed = failed[failed["file"].isin(selected_files)] if "file" in failed else failed
    failures = failed.groupby("la_code")["count"].sum()
    rows = []
    for c in councils.itertuples():
        if c.la_code in chosen.index:
            s = chosen.loc[c.la_code]
            outcome, used, excluded = s["outcome"], s["rows_used"], s["rows_excluded"]
        elif c.la_code in files.index:
            last = subs[subs["la_code"] == c.la_code].iloc[-1]
            outcome, used, excluded = f"not selected ({last['outcome']})", "0", last["rows_read"]
        else:
            outcome, used, excluded = "no submission [x]", "", ""
        report = release.path / "qa" / "data_quality" / f"{c.la_code}.html"
        link = (f'<a href="{HTML_TO_RELEASE}/qa/data_quality/{c.la_code}.html">{c.la_code}</a>'
                if report.exists() else "")
        rows.append({
            "Council": c.la_name, "Code": c.la_code, "Region": c.region,
            "Files": int(files.get(c.la_code, 0)), "Outcome": outcome, "Rows used": used,
            "Rows excluded": excluded, "Failed values": int(failures.get(c.la_code, 0)), "Report": link,
        })
    return pd.DataFrame(rows)


def _validated(release: Release) -> pd.DataFrame:
    """The rows of ``qa/submissions.csv`` considered for the month (not those outside its window)."""
    subs = release.csv("qa/submissions.csv")
    return subs[~subs["outcome"].str.startswith(NOT_VALIDATED)]


def folder_accounting(release: Release) -> pd.DataFrame:
    """Every entry of the submissions folder by outcome, with its rows: nothing left out.

    Returns
    -------
    pandas.DataFrame
        One row per outcome (``accepted``, ``accepted with warnings``, ``rejected``: by the data
        quality gate or not a submission file; ``not validated``: outside the month's window) with
        entries, files selected, rows read, used and excluded, and a ``Total`` row, from
        ``qa/submissions.csv``.
    """
    subs = release.csv("qa/submissions.csv")
    outcome = subs["outcome"].str.extract(r"^(accepted with warnings|accepted|rejected|not validated)")[0]
    counts = subs[["rows_read", "rows_used", "rows_excluded"]].apply(pd.to_numeric).astype("int64")
    frame = counts.assign(Outcome=outcome.fillna("other"), Entries=1,
                          Selected=subs["selected"].str.lower().eq("true").astype("int64"))
    order = ["accepted", "accepted with warnings", "rejected", "not validated", "other"]
    table = frame.groupby("Outcome").sum().reindex([o for o in order if o in set(frame["Outcome"])])
    table.loc["Total"] = table.sum()
    labels = {"rejected": "rejected (data quality gate, or not a submission file)",
              "not validated": "not validated (outside the month's window)"}
    table.index = [labels.get(o, o) for o in table.index]
    table = table.rename(columns={"rows_read": "Rows read", "rows_used": "Rows used", "rows_excluded": "Rows excluded"})
    return table.rename_axis("Outcome").reset_index()[
        ["Outcome", "Entries", "Selected", "Rows read", "Rows used", "Rows excluded"]]


def ties(release: Release):
    """Display one line per tie (files of one council with the same submission time) and the rule
    that resolved it (:func:`cldstats.measures.selection.tie_findings`)."""

    subs = _validated(release)
    lines = tie_findings(subs) if "tie_with" in subs else []
    if not lines:
        return display_html('<p class="ties">No two files of one council have the same submission time.</p>')
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return display_html(f'<ul class="ties">{items}</ul>')


def rejected_submissions(release: Release) -> pd.DataFrame:
    """Every entry in the month's window that was rejected, with its reason: submissions the data
    quality gate rejected and entries of the folder that are not submission files.

    Returns
    -------
    pandas.DataFrame
        Council code (``unknown`` when the file name gives none), file, submission time, rows read
        and the reason, from ``qa/submissions.csv``.
    """
    subs = release.csv("qa/submissions.csv")
    rejected = subs[subs["outcome"].astype(str).str.startswith("rejected")]
    return pd.DataFrame({
        "Council": rejected["la_code"].astype(str).replace("", "unknown"),
        "File": rejected["file"],
        "Submitted": rejected["submitted_at"],
        "Rows read": rejected["rows_read"],
        "Reason": rejected["outcome"].astype(str).str.removeprefix("rejected: "),
    }).reset_index(drop=True)


def council_table(release: Release):
    """Display :func:`council_summary` with working links (the link column is HTML)."""
    frame = council_summary(release)
    escaped = frame.copy()
    for column in escaped.columns:
        if column != "Report":
            escaped[column] = escaped[column].map(lambda v: html.escape(str(v)))
    return display_html(table_html(escaped, "Data quality gate outcome per council", table_id="councils", escape=False))


def release_mix(release: Release) -> pd.DataFrame:
    """The CLD release of each council's selected file, from ``qa/releases.csv``: the guess, the
    Release 1-only columns of the header, and the code values spelled as each release spells them.

    Returns
    -------
    pandas.DataFrame
        One row per council with a selected file, by council name, and a last row ``All councils``
        counting the selected files of each release.
    """
    releases = release.csv("qa/releases.csv")
    chosen = releases[releases["selected"].str.lower() == "true"]
    names = reference.councils().set_index("la_code")["la_name"]
    counts = ["release1_cells", "release2_cells", "failed_release1_cells"]
    table = pd.DataFrame({
        "Council": chosen["la_code"].map(names).fillna(chosen["la_code"]),
        "Code": chosen["la_code"],
        "Selected file": chosen["file"],
        "Release": chosen["release"],
        "Release 1-only columns in header": chosen["release1_columns"].str.count(";").add(1).where(
            chosen["release1_columns"] != "", 0),
        **{label: pd.to_numeric(chosen[column]) for label, column in zip(
            ("Release 1 spellings", "Release 2 spellings", "Failed: Release 1"), counts, strict=True)},
    }).sort_values("Council", ignore_index=True)
    mix = "; ".join(f"{n} {guess}" for guess, n in table["Release"].value_counts().sort_index().items())
    total = {"Council": "All councils", "Code": "", "Selected file": f"{len(table)} files",
             "Release": mix or "none", "Release 1-only columns in header": int(
                 (table["Release 1-only columns in header"] > 0).sum()),
             **{c: int(table[c].sum()) for c in ("Release 1 spellings", "Release 2 spellings", "Failed: Release 1")}}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def main_failures(release: Release, top: int = 15) -> pd.DataFrame:
    """The field checks failing most often across the selected files (values and councils)."""
    failed = _failed_counts(release)
    subs = release.csv("qa/submissions.csv")
    selected = set(subs.loc[subs["selected"].str.lower() == "true", "file"])
    failed = failed[failed["file"].isin(selected)]
    if failed.empty:
        return pd.DataFrame(columns=["Field", "Check", "Status", "Values", "Councils"])
    grouped = failed.groupby(["label", "check", "status"]).agg(Values=("count", "sum"), Councils=("la_code", "nunique"))
    grouped = grouped.reset_index().sort_values(["Values", "label"], ascending=[False, True]).head(top)
    return grouped.rename(columns={"label": "Field", "check": "Check", "status": "Status"})


def coverage_summary(release: Release) -> pd.DataFrame:
    """Councils with data per region at the reference date (from the unrounded long-term support table)."""

    councils = reference.councils()
    subs = release.csv("qa/submissions.csv")
    selected = set(subs.loc[subs["selected"].str.lower() == "true", "la_code"])
    councils["selected"] = councils["la_code"].isin(selected)
    table = councils.groupby("region").agg(Councils=("la_code", "size"), With_data=("selected", "sum")).reset_index()
    table["Coverage"] = (table["With_data"] / table["Councils"]).map(lambda v: f"{v:.0%}")
    table["Missing"] = [
        ", ".join(councils[(councils["region"] == r) & ~councils["selected"]]["la_name"]) or "none"
        for r in table["region"]
    ]
    return table.rename(columns={"region": "Region", "With_data": "Councils with data"})


def month_changes(release: Release, threshold: str = "0.05") -> pd.DataFrame:
    """Areas whose unrounded count moved more than ``threshold`` on the previous month (QA only).

    Parameters
    ----------
    release : Release
    threshold : str
        A share as a string (a notebook parameter), e.g. ``"0.05"`` for 5%.

    Returns
    -------
    pandas.DataFrame
        Long-term support at the reference date against the previous month end, and people
        assessed in the month against the previous month, for England, regions and councils
        (``All`` settings, no breakdown), beyond the threshold, largest first.
    """
    try:
        limit = float(threshold)
    except ValueError:
        raise CldstatsError(f"change threshold must be a number as a string, not {threshold!r}") from None
    out = []
    specs = (("Long-term support", "qa/long_term_support_unrounded.csv", "reference_date", {"support_setting": "All"}),
             ("Assessments", "qa/assessments_unrounded.csv", "reference_month", {}))
    for measure, path, period_col, match in specs:
        frame = release.csv(path)
        frame = frame[(frame["breakdown"] == "All") & (frame["breakdown_value"] == "All")]
        for key, value in match.items():
            frame = frame[frame[key] == value]
        periods = sorted(p for p in frame[period_col].unique() if p != "Total")
        current = release.reference_date if period_col == "reference_date" else release.month
        if current not in periods or periods.index(current) == 0:
            continue
        previous = periods[periods.index(current) - 1]
        now = frame[frame[period_col] == current].set_index("area_code")
        before = frame[frame[period_col] == previous].set_index("area_code")
        both = now.join(before[["value"]].rename(columns={"value": "value_previous"}), how="inner")
        both["now"] = pd.to_numeric(both["value"], errors="coerce")
        both["before"] = pd.to_numeric(both["value_previous"], errors="coerce")
        both = both.dropna(subset=["now", "before"])
        both = both[both["before"] > 0]
        both["change"] = (both["now"] - both["before"]) / both["before"]
        moved = both[both["change"].abs() > limit]
        for code, r in moved.iterrows():
            out.append({"Measure": measure, "Area": r["area_name"], "Level": r["area_level"], "Code": code,
                        "Previous": f"{int(r['before']):,}", "Current": f"{int(r['now']):,}",
                        "Change": f"{r['change']:+.1%}", "_abs": abs(r["change"])})
    frame = pd.DataFrame(out, columns=["Measure", "Area", "Level", "Code", "Previous", "Current", "Change", "_abs"])
    return frame.sort_values(["_abs", "Code"], ascending=[False, True]).drop(columns="_abs").reset_index(drop=True)


#: What each revised measure is called in the QA report, by published table and column.
_FIGURES = {
    ("long_term_support", "value"): "People",
    ("long_term_support_rates", "rate"): "Rate per 100,000 adults",
    ("long_term_support_rates", "population"): "Adult population",
    ("assessments", "value"): "People assessed",
    ("assessments_rates", "rate"): "Rate per 100,000 adults, total over the months",
    ("assessments_rates", "population"): "Adult population",
}


def _revisions_csv(release: Release) -> pd.DataFrame | None:
    path = release.path / "qa" / "revisions.csv"
    return release.csv("qa/revisions.csv") if path.exists() else None


def revisions(release: Release) -> pd.DataFrame:
    """Revised cells with their previous and new published value, from ``qa/revisions.csv``.

    ``qa/revisions.csv`` is written by the run from the release it compared with (docs/methodology.md
    section 7: an earlier run of the same month, else the latest earlier month's release), so an
    old value is shown whichever release it came from.

    Returns
    -------
    pandas.DataFrame
        ``Table, Period, Area, Code, Cell, Figure, Previous, Revised``: one row per revised figure
        (a rate and its population are separate rows); empty when nothing was revised or the
        release has no ``qa/revisions.csv``.
    """
    columns = ["Table", "Period", "Area", "Code", "Cell", "Figure", "Previous", "Revised"]
    frame = _revisions_csv(release)
    if frame is None or frame.empty:
        return pd.DataFrame(columns=columns)
    cell = frame[["support_setting", "breakdown", "breakdown_value"]].apply(
        lambda r: " / ".join(v for v in r if v), axis=1)
    return pd.DataFrame({
        "Table": frame["table"] + ".csv",
        "Period": frame["reference_period"],
        "Area": frame["area_name"],
        "Code": frame["area_code"],
        "Cell": cell,
        "Figure": [_FIGURES.get(k, k[1]) for k in zip(frame["table"], frame["measure"], strict=True)],
        "Previous": frame["previous_value"],
        "Revised": frame["new_value"],
    }, columns=columns)


def revision_summary(release: Release):
    """Display how many published cells were revised [r] and against which release."""
    frame = _revisions_csv(release)
    if frame is None:
        return display_html("<p>This release has no <code>qa/revisions.csv</code> (it was published before revisions "
                     "were listed): see the [r] flags in <code>data/*.csv</code>.</p>")
    flagged = revised_cells(release)
    against = sorted(set(frame["previous_release"]) - {""})
    if frame.empty:
        text = ("No published cell differs from the release it was compared with (an earlier run of this month, "
                "else the latest earlier month's release, if there is one)." if flagged == 0
                else f"{flagged:,} cells are flagged [r] but qa/revisions.csv lists none: check the run.")
    else:
        both = (f" ({len(frame):,} revised figures: a rate and its population count separately)"
                if len(frame) != flagged else "")
        text = (f"{flagged:,} published cells are flagged [r]{both}, compared with the "
                f"{html.escape('; '.join(against))}.")
    label = html.escape(file_label(release.path / "qa" / "revisions.csv"))
    link = f'<a href="{HTML_TO_RELEASE}/qa/revisions.csv">{label}</a>'
    return display_html(f'<p class="revisions">{text} All revised figures: {link} '
                 '(<span class="file-name">qa/revisions.csv</span>).</p>')


def qa_downloads(release: Release):
    """Display links to the restricted QA files (unrounded tables, submissions, revisions), each
    saying what the file holds, its kind and size (:func:`file_label`)."""
    links = [download_item(path, f"{HTML_TO_RELEASE}/qa/{path.name}")
             for path in sorted((release.path / "qa").glob("*.csv"))]
    return display_html('<ul class="downloads">' + "".join(links) + "</ul>" if links else "<p>No QA files.</p>")


def qa_table(frame: pd.DataFrame, caption: str, table_id: str, limit: int = 200):
    """Display a QA frame; long frames are cut at ``limit`` rows and say how many were left out."""
    shown = frame.head(limit)
    extra = (f"<p>{len(frame) - limit:,} more rows are in the QA files.</p>" if len(frame) > limit else "")
    if frame.empty:
        return display_html(f"<p>{html.escape(caption)}: none.</p>")
    return display_html(table_html(shown, caption, table_id=table_id) + extra)


def selection_summary(release: Release) -> pd.DataFrame:
    """How each council's submission was chosen, from the manifest's ``selection`` record: the
    cut-off (DHSC's as-of date), the reporting period used, and every file excluded or included by
    hand with its reason.

    Returns
    -------
    pandas.DataFrame
        ``Item, Value`` rows; empty when the manifest has no ``selection`` record.
    """
    record = release.manifest().get("selection") or {}
    if not record:
        return pd.DataFrame(columns=["Item", "Value"])
    facts = statements.SelectionFacts.from_record(record)
    release_record = release.manifest().get("release") or {}
    rows = [
        ("Release", str(release_record.get("title") or release.month)),
        (f"Cut-off (DHSC's {statements.AS_OF_NAME}, params selection.as_of)", facts.as_of),
        ("Reporting period used (params selection.reporting_period)",
         f"{facts.reporting_period}: {statements.reporting_period_phrase(facts.reporting_period)}"),
        ("Files whose derived period differs from the stated one",
         str(record.get("files_whose_derived_period_differs", 0))),
    ]
    for kind, files in (("Excluded by hand (selection.exclude)", facts.excluded),
                        ("Included by hand (selection.include)", facts.included)):
        rows += [(kind, f"{file}: {reason}") for file, reason in files] or [(kind, "none")]
    return pd.DataFrame(rows + _mapping_rows(release.manifest().get("mappings") or {}), columns=["Item", "Value"])


def _mapping_rows(mapped: dict) -> list[tuple[str, str]]:
    """The manifest's ``mappings`` as ``Item, Value`` rows: the tables' folder and each mapping the
    selected files used (its table row, field, the valid value and how often). The submitted value
    is not repeated here: the council pages show it only where it cannot be personal."""
    kind = "Values mapped by hand (selection.mappings)"
    if not mapped:
        return []
    folder = mapped.get("folder") or "none"
    uses = [(kind, f"{use['mapping']}: {use['field']} -> {use['valid_value']!r} in {use['cells']:,} cells of "
                   f"{use['submissions']} selected files") for use in mapped.get("uses", [])]
    return [("Value mapping tables (params selection.mappings)", str(folder))] + (uses or [(kind, "none")])


#: ``qa/reporting_periods.csv`` columns and their headings in the QA report.
REPORTING_PERIOD_HEADINGS = {
    "file": "File", "la_code": "Council", "stated_start": "Stated start", "stated_end": "Stated end",
    "derived_start": "Derived start", "derived_end": "Derived end", "events": "Events (ended before the submission "
    "month)", "derived_rule": "Derived how", "used": "Period used", "selected": "Selected",
}


def reporting_periods(release: Release) -> pd.DataFrame:
    """Both reporting periods of every checked submission, from ``qa/reporting_periods.csv``: the
    stated one, the one derived from its events as DHSC does (docs/methodology.md section 2), the
    events counted, and which the selection used.

    Returns
    -------
    pandas.DataFrame
        One row per file, by council and file, headed by :data:`REPORTING_PERIOD_HEADINGS`; a file
        whose two periods differ is marked ``differs`` in ``Derived how``.
    """
    path = release.path / "qa" / "reporting_periods.csv"
    if not path.exists():
        return pd.DataFrame(columns=list(REPORTING_PERIOD_HEADINGS.values()))
    periods = release.csv("qa/reporting_periods.csv").sort_values(["la_code", "file"])
    differs = (periods["stated_start"] != periods["derived_start"]) | (periods["stated_end"] != periods["derived_end"])
    periods["derived_rule"] = periods["derived_rule"].where(~differs, periods["derived_rule"] + ", differs")
    return periods.loc[:, list(REPORTING_PERIOD_HEADINGS)].rename(columns=REPORTING_PERIOD_HEADINGS).reset_index(
        drop=True)

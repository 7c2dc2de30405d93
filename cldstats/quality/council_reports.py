"""The council data quality pages: ``qa/data_quality/<LA code>.csv``, ``_records.csv`` and ``.html``.

One page per council with a section per submission, newest first: outcome, the release the file is
written in (header and values), the checks with findings, the AGEM statuses per field, invalid code
values, the values mapped by hand (``mappings/``) and the failing records (by spreadsheet row
number and Event Reference only: no personal data). Needs no Great Expectations.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cldstats import reference
from cldstats.core import safe_output
from cldstats.ingest.extract import REPLACED_CHECKS, is_extract_submission
from cldstats.quality.releases import (
    RELEASE1_SPELLING,
    RELEASE2_SPELLING,
    RELEASE_VALUES_CHECK,
    release_of_summary,
)
from cldstats.quality.results import SUMMARY_COLUMNS, QualityResult
from cldstats.quality.statuses import ACCEPTED_WITH_WARNINGS, CHECK_PASSED, REJECTED
from cldstats.reference.spec import AGEM_STATUSES, load_spec

__all__ = ["MAPPED_COLUMNS", "mapped_values_table", "write_council_reports"]


def _labels() -> dict[str, str]:
    return {f.name: f.label for f in load_spec().fields}


def _newest_first(results: Sequence[QualityResult]) -> list[QualityResult]:
    return sorted(
        results,
        key=lambda r: (r.submitted_at or dt.datetime.min, r.file),
        reverse=True,
    )


def write_council_reports(results: Sequence[QualityResult], directory: str | Path) -> list[Path]:
    """Write ``<LA code>.csv``, ``<LA code>_records.csv`` and ``<LA code>.html`` per council.

    Parameters
    ----------
    results : sequence of QualityResult
        Every checked submission; grouped by ``la_code`` (``unknown`` when the file name has none).
    directory : path
        ``OUT/qa/data_quality``.

    Returns
    -------
    list of Path
        Files written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    labels = _labels()
    by_council: dict[str, list[QualityResult]] = {}
    for result in results:
        by_council.setdefault(result.la_code or "unknown", []).append(result)
    names = reference.councils().set_index("la_code")["la_name"].to_dict()
    written = []
    for la_code, council_results in sorted(by_council.items()):
        ordered = _newest_first(council_results)
        summary = pd.concat(
            [r.summary.assign(file=r.file) for r in ordered], ignore_index=True
        ) if ordered else pd.DataFrame(columns=["file", *SUMMARY_COLUMNS])
        summary["label"] = summary["field"].map(labels).fillna("")
        summary = summary[["file", "field", "label", "check", "status", "count"]]
        records = pd.concat(
            [r.failing_records.assign(file=r.file) for r in ordered], ignore_index=True
        )[["file", "row_number", "event_reference", "field", "check", "status"]]
        csv_path = directory / f"{la_code}.csv"
        records_path = directory / f"{la_code}_records.csv"
        html_path = directory / f"{la_code}.html"
        safe_output.write_csv(summary, csv_path)
        safe_output.write_csv(records, records_path)
        html_path.write_text(
            _council_html(la_code, names.get(la_code, la_code), ordered, labels), encoding="utf-8"
        )
        written += [csv_path, records_path, html_path]
    return written


_CSS = """
body{font-family:Arial,Helvetica,sans-serif;line-height:1.45;margin:1.5rem auto;max-width:72rem;color:#0b0c0c}
body{padding:0 1rem}
h1{font-size:1.9rem}h2{font-size:1.4rem;margin-top:2.2rem;border-top:2px solid #b1b4b6;padding-top:1rem}
h3{font-size:1.1rem}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem;width:100%}
caption{text-align:left;font-weight:bold;padding:0.3rem 0}
th,td{border:1px solid #b1b4b6;padding:0.25rem 0.5rem;text-align:left;vertical-align:top}
th{background:#f3f2f1}td.num{text-align:right;font-variant-numeric:tabular-nums}
.outcome{font-size:1.1rem;padding:0.6rem 0.8rem;border-left:6px solid #505a5f;background:#f3f2f1}
.rejected{border-color:#d4351c}.warnings{border-color:#f47738}.accepted{border-color:#00703c}
a{color:#1d70b8}a:focus{outline:3px solid #fd0}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric: frozenset[int] | set[int] = frozenset(),
) -> str:
    head = "".join(f'<th scope="col">{_esc(h)}</th>' for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            if i == 0:
                cells.append(f'<th scope="row">{_esc(value)}</th>')
            else:
                css = ' class="num"' if i in numeric else ""
                cells.append(f"<td{css}>{_esc(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table><caption>{_esc(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _outcome_class(outcome: str) -> str:
    if outcome.startswith(REJECTED):
        return "rejected"
    return "warnings" if outcome == ACCEPTED_WITH_WARNINGS else "accepted"


def _council_html(la_code: str, la_name: str, results: Sequence[QualityResult], labels: Mapping[str, str]) -> str:
    """A self-contained, accessible page: one section per submission, newest first."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Data quality report: {_esc(la_name)} ({_esc(la_code)})</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>Data quality report: {_esc(la_name)} ({_esc(la_code)})</h1>",
        "<p>Client Level Data submissions checked against the Release 1 and Release 2 specifications "
        "(each value read to its Release 2 spelling) and the cross-field rules (docs/methodology.md "
        "section 6). Records are identified by spreadsheet row number (the header is row 1) and Event "
        "Reference only; no personal data is shown.</p>",
    ]
    if results:
        latest = results[0]
        parts.append(
            f'<p class="outcome {_outcome_class(latest.outcome)}"><strong>Latest submission '
            f"{_esc(latest.file)}:</strong> {_esc(latest.outcome)}</p>"
        )
        parts.append("<nav aria-label=\"Submissions\"><ul>")
        for number, result in enumerate(results, start=1):
            parts.append(f'<li><a href="#s{number}">{_esc(result.file)}</a>: {_esc(result.outcome)}</li>')
        parts.append("</ul></nav>")
    for number, result in enumerate(results, start=1):
        parts += _submission_section(number, result, la_code, labels)
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _submission_section(number: int, result: QualityResult, la_code: str, labels: Mapping[str, str]) -> list[str]:
    """The page's section on one submission: its outcome, check findings, field statuses, invalid
    values and failing records."""
    parts = [f'<section aria-labelledby="s{number}"><h2 id="s{number}">{_esc(result.file)}</h2>']
    parts.append(f'<p class="outcome {_outcome_class(result.outcome)}"><strong>Outcome:</strong> '
                 f"{_esc(result.outcome)}</p>")
    submitted = result.submitted_at.isoformat(sep=" ") if result.submitted_at else "unknown"
    period = (
        f"{result.reporting_period[0].isoformat()} to {result.reporting_period[1].isoformat()}"
        if result.reporting_period
        else "missing"
    )
    parts.append(
        f"<p>Submitted {_esc(submitted)}; {result.rows_read:,} rows read; reporting period "
        f"{_esc(period)}.</p>"
    )
    parts += _extract_block(result)
    parts += _release_block(result, labels)
    parts += _check_findings(result, labels)
    parts += _field_statuses(result, labels)
    parts.append("<h3>Failing records</h3>")
    parts.append(
        f"<p>At most {result.records_cap:,} records are listed per field and check; the full "
        f"counts are in the tables above. The same list is in {_esc(la_code)}_records.csv.</p>"
    )
    failing = result.failing_records
    if len(failing):
        parts.append(
            _table(
                f"Failing records in {result.file}",
                ["Row", "Event Reference", "Field", "Check", "Status"],
                (
                    (r.row_number, r.event_reference, labels.get(r.field, r.field), r.check, r.status)
                    for r in failing.itertuples()
                ),
            )
        )
    else:
        parts.append("<p>No failing records.</p>")
    parts.append("</section>")
    return parts


def _extract_block(result: QualityResult) -> list[str]:
    """For a submission read from NHS England's national table: which checks were replaced, and by what."""
    if not is_extract_submission(result.file):
        return []
    items = "".join(f"<li>{_esc(check)}: {_esc(instead)}</li>" for check, instead in REPLACED_CHECKS.items())
    return [
        "<h3>Read from the national table</h3>",
        "<p>This submission was read from NHS England's pseudonymised national table (one council's rows "
        "with one <code>ImportDate</code>), not from the council's file. The table holds no names, NHS "
        "numbers, dates of birth or postcodes, so the checks that need them were replaced:</p>",
        f"<ul>{items}</ul>",
    ]


def _release_block(result: QualityResult, labels: Mapping[str, str]) -> list[str]:
    """The release the file is written in: a guess from its values and header, and per code field
    the cells in each release's spelling."""
    facts = release_of_summary(result.summary)
    columns = [labels.get(name, name) for name in facts["release1_columns"].split(";") if name]
    header = (f"holds the Release 1 column{'s' if len(columns) > 1 else ''} "
              f"{', '.join(repr(c) for c in columns)} (Release 2 removed them)" if columns
              else "has neither of the two columns Release 2 removed")
    parts = [
        "<h3>Release</h3>",
        f"<p><strong>{_esc(facts['release'])}.</strong> The header {_esc(header)}; "
        f"{facts['release1_cells']:,} code values are spelled as Release 1 spells them and "
        f"{facts['release2_cells']:,} as only Release 2 does (values both releases spell alike are not "
        f"counted); {facts['failed_release1_cells']:,} are <code>Failed: Release 1</code> (a Release 1 "
        "value in a file submitted in the Release 2 era). Every value is read to its Release 2 "
        "spelling, so the figures do not depend on the release.</p>",
    ]
    rows = result.summary[result.summary["check"] == RELEASE_VALUES_CHECK]
    per_field = rows[rows["status"].isin((RELEASE1_SPELLING, RELEASE2_SPELLING))].pivot_table(
        index="field", columns="status", values="count", aggfunc="sum", sort=False
    ).reindex(columns=[RELEASE1_SPELLING, RELEASE2_SPELLING], fill_value=0)
    per_field = per_field.fillna(0)
    if len(per_field):
        parts.append(
            _table(
                f"Code values per release spelling in {result.file}",
                ["Field", "Release 1 spelling", "Release 2 spelling"],
                ((labels.get(name, name), *(f"{int(v):,}" for v in row)) for name, row in per_field.iterrows()),
                numeric={1, 2},
            )
        )
    return parts


def _check_findings(result: QualityResult, labels: Mapping[str, str]) -> list[str]:
    """The file-level and cross-field checks with findings, as a table (or a sentence saying none)."""
    summary = result.summary
    findings = summary[
        ~summary["check"].isin(("field_values", RELEASE_VALUES_CHECK)) & (summary["status"] != CHECK_PASSED)
    ]
    parts = ["<h3>File and cross-field checks with findings</h3>"]
    if len(findings):
        parts.append(
            _table(
                f"File and cross-field checks with findings in {result.file}",
                ["Check", "Field", "Result", "Rows"],
                (
                    (r.check, labels.get(r.field, r.field) or "(whole file)", r.status, f"{r.count:,}")
                    for r in findings.itertuples()
                ),
                numeric={3},
            )
        )
    else:
        parts.append(
            "<p>No file-level or cross-field check found anything; field-level findings are in the "
            "next table.</p>"
        )
    return parts


def _field_statuses(result: QualityResult, labels: Mapping[str, str]) -> list[str]:
    """The AGEM status counts per field and the invalid code values sent, as tables."""
    parts = []
    summary = result.summary
    agem = summary[summary["check"] == "field_values"].pivot_table(
        index="field", columns="status", values="count", aggfunc="sum", sort=False
    ).reindex(columns=list(AGEM_STATUSES), fill_value=0)
    if len(agem):
        parts.append("<h3>Field values (AGEM statuses)</h3>")
        parts.append(
            "<p>Counts of rows per field where the field applies; rows where it does not apply "
            "are not counted.</p>"
        )
        parts.append(
            _table(
                f"Field value statuses in {result.file}",
                ["Field", *AGEM_STATUSES],
                (
                    (labels.get(name, name), *(f"{int(v):,}" for v in row))
                    for name, row in agem.iterrows()
                ),
                numeric=set(range(1, len(AGEM_STATUSES) + 1)),
            )
        )
    invalid, mapped = _split_mapped(result.invalid_values)
    if len(invalid):
        parts.append("<h3>Invalid code values sent</h3>")
        parts.append(
            _table(
                f"Invalid code values in {result.file}",
                ["Field", "Value sent", "Rows"],
                (
                    (labels.get(r.field, r.field), r.value, f"{r.count:,}")
                    for r in invalid.itertuples()
                ),
                numeric={2},
            )
        )
    if len(mapped):
        parts.append("<h3>Invalid code values mapped by hand</h3>")
        parts.append(
            f"<p>{int(mapped['count'].sum()):,} cells held a value that is in neither release's list but is "
            "mapped to a valid value by the hand-maintained mapping tables (<code>mappings/</code>, "
            "docs/methodology.md section 6): the figures read them as the value they are mapped to. "
            "They are still invalid as sent (counted as <code>Failed: Invalid</code> above, listed as "
            "<code>mapped_by_hand</code> among the failing records).</p>"
        )
        parts.append(
            _table(
                f"Code values mapped by hand in {result.file}",
                ["Field", "Value sent", "Mapped to", "Mapping (table:row)", "Rows"],
                (
                    (labels.get(r.field, r.field), r.value, r.mapped_to, r.mapping, f"{r.count:,}")
                    for r in mapped.itertuples()
                ),
                numeric={4},
            )
        )
    return parts


def _split_mapped(invalid_values: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values left invalid, values mapped by hand) of a result's ``invalid_values``.

    The second has ``field, value, mapped_to, mapping, count``; a result stored before the
    mapping tables existed, or with none used, has no ``mapped_to`` column: nothing was mapped.
    """
    if "mapped_to" not in invalid_values.columns:
        return invalid_values, pd.DataFrame(columns=list(MAPPED_COLUMNS[2:]))
    is_mapped = invalid_values["mapped_to"].notna()
    return (invalid_values[~is_mapped].drop(columns=["mapped_to", "mapping"], errors="ignore"),
            invalid_values[is_mapped])


#: Columns of :func:`mapped_values_table` (``qa/mapped_values.csv``).
MAPPED_COLUMNS = ("la_code", "file", "field", "value", "mapped_to", "mapping", "count")


def mapped_values_table(results: Sequence[QualityResult]) -> pd.DataFrame:
    """Every use of a hand-maintained mapping in the checked submissions, one row per council, file,
    field and value sent: :data:`MAPPED_COLUMNS` (``value`` as the council report shows it, by its
    shape when it could be personal; ``mapping`` the table row, ``count`` the cells)."""
    parts = []
    for result in results:
        _, mapped = _split_mapped(result.invalid_values)
        if len(mapped):
            parts.append(mapped.assign(la_code=result.la_code or "unknown", file=result.file))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "count" else object) for c in MAPPED_COLUMNS})
    table = pd.concat(parts, ignore_index=True)[list(MAPPED_COLUMNS)]
    table["count"] = table["count"].astype("int64")
    return table.sort_values(["la_code", "file", "field", "value"], ignore_index=True)

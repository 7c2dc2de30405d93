"""The steps of one release, in the order they run (docs/methodology.md sections 2 to 7).

:func:`build_release` reads top to bottom as the release: validate the month's submissions, select
one file per council, compute the measures with the method's SQL, account for every row, apply the
publication gate, apply disclosure control, write the tables, workbooks and charts, write the
manifest, execute and render the notebooks, and place the release. Everything is built in the
run's build folder, which replaces ``reports/<YYYY-MM>/`` only when every step passed.

The council data quality pages and the accessible workbooks are written in a second process
(:mod:`cldstats.pipeline.background`) beside the steps after them (the tables, the charts and the
DHSC-layout workbooks): the first is waited for before the gate (a gate stop keeps the pages), the
second before the manifest (whose digests and the notebooks' download lists need them).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cldstats import disclosure, ingest, quality, reference
from cldstats.core import safe_output
from cldstats.core.errors import CldstatsError, GateStop, naming_path
from cldstats.measures import areas, engine, selection
from cldstats.pipeline import earlier_releases, manifest, validation
from cldstats.pipeline.background import Background
from cldstats.pipeline.run_log import LOG, finish_beside, stage, start_beside
from cldstats.pipeline.runlock import place_release
from cldstats.pipeline.timing import StageTimer
from cldstats.publication import charts, render, tables
from cldstats.reference import crosswalk, statements
from cldstats.reference.calendar import month_end, release_folder, release_month_ends, release_title
from cldstats.reference.mappings import mappings_of_params

__all__ = ["PublishResult", "Run", "build_release"]

#: The published tables, each compared with the same table of the earlier release.
PUBLISHED_TABLES = ("long_term_support", "long_term_support_rates", "assessments", "assessments_rates")


@dataclass
class PublishResult:
    """What one publication run produced."""

    month: str
    release_dir: Path
    #: The release as readers know it: ``March 2026`` or ``data to March 2026``.
    title: str = ""
    files: dict[str, Path] = field(default_factory=dict)
    gate_message: str = ""
    councils_selected: int = 0
    seconds: float = 0.0
    timer: StageTimer = field(default_factory=StageTimer)
    run_id: str = ""
    log_file: Path | None = None
    #: Submissions in the month's window per outcome: accepted, accepted with warnings, rejected.
    submission_outcomes: dict[str, int] = field(default_factory=dict)
    rejected_files: list[str] = field(default_factory=list)
    #: Where the release this one replaced was filed (``releases/<run id>``), if any.
    previous_release: Path | None = None
    #: Entries of the submissions folder (all in ``qa/submissions.csv``) and those outside the
    #: month's window (listed, not validated).
    folder_entries: int = 0
    not_validated: int = 0
    #: One line per tie (files of one council with the same submission time).
    ties: list[str] = field(default_factory=list)
    #: Submission files this run read and validated, those whose stored result it used, and the store.
    ingested: int = 0
    from_store: int = 0
    store_dir: Path | None = None


@dataclass
class Run:
    """What :func:`cldstats.pipeline.publish.publish_month` settled before building a release."""

    month: str
    params: dict
    data_dir: Path
    out_dir: Path
    build: Path
    run_id: str
    started: float
    started_at: dt.datetime
    log_name: str
    synthetic: bool
    key: object
    window: list[Path]
    store_dir: Path
    #: A quarterly release ("data to <month>", :mod:`cldstats.pipeline.publish`), not a monthly one.
    quarterly: bool = False
    #: The national extract's exports (``publish --extract``) and their submissions, read once;
    #: empty when the run reads the data folder's files.
    extract: tuple[Path, ...] = ()
    extract_parts: list | None = None

    @property
    def release(self) -> str:
        """The release's folder name under the reports folder (``2026-03``, ``data-to-march-2026``)."""
        return release_folder(self.month, self.quarterly)

    @property
    def title(self) -> str:
        """The release as readers know it (``March 2026``, ``data to March 2026``)."""
        return release_title(self.month, self.quarterly)

    def stop(self) -> Path:
        """Move the build folder aside (``.stopped-<release>-<run id>``), keeping its QA outputs."""
        stopped = self.out_dir / f".stopped-{self.release}-{self.run_id}"
        self.build.rename(stopped)
        return stopped


def build_release(r: Run, timer: StageTimer, progress: bool) -> PublishResult:
    """Build the release of run ``r`` in ``r.build`` and move it into place.

    The second process has ended (killed, when the run failed) before this returns or raises.

    Raises
    ------
    CldstatsError
        No file can be selected, rows do not add up, or the output consistency checks failed.
    GateStop
        The publication-level gate stopped the run (its QA outputs are kept and named).
    """
    with Background() as side:
        run = validate_submissions(r, timer, progress)
        pages_dir = r.build / "qa" / "data_quality"
        # Read by the QA notebook only, and kept when the gate stops the run: waited for before either.
        council_pages = start_beside(side, "council data quality pages", quality.write_council_reports,
                                     run.results, pages_dir, writes=pages_dir)
        chosen = selected_files(run)
        if chosen.empty:
            finish_beside(timer, side, council_pages)
            stop_with_nothing_selected(r, run)
        month_ends = release_month_ends(r.month, int(r.params["release_month_ends"]), r.params["collection_start"])
        method = run_measures(r, timer, run, chosen, month_ends)
        lts_area, rates, assessed_area, assessed_rates = area_tables(r, timer, method, month_ends)
        account_for_rows(r, timer, run)
        finish_beside(timer, side, council_pages)
        decision, councils_selected = apply_gate(r, run, method, month_ends)
        published, unrounded, previous, consistency = disclose(r, timer, lts_area, rates, assessed_area,
                                                               assessed_rates)
        compared_with = earlier_releases.previous_release_label(r.out_dir, r.month, quarterly=r.quarterly)
        revisions = disclosure.revisions_table(published, previous, compared_with)
        # The words about the method (rounding, suppression, adult age, look-back) come from the run's params.
        facts = statements.MethodFacts.from_params(r.params)
        chosen_how = manifest.selection_record(r.params, run.hand, run.reporting_periods)
        mapped = manifest.manifest_mappings(mappings_of_params(r.params), run.results, set(chosen["file"]))
        info = release_information(r, facts, published, decision, councils_selected, compared_with, chosen_how,
                                   mapped)
        # Written beside the CSV files and the charts; the manifest and the notebooks wait for them.
        workbooks = start_beside(side, "accessible spreadsheets", tables.write_accessible_spreadsheets, published,
                                 info, r.build / "spreadsheets", revisions=revisions, writes=r.build / "spreadsheets")
        files = write_tables(r, timer, published, unrounded, revisions, consistency)
        files |= draw_charts(r, timer, published, facts)
        files |= write_dhsc_spreadsheets(r, timer, published, info, revisions)
        # The pages list the workbooks with their sizes, and the manifest their digests.
        files |= {f"spreadsheets/{path.name}": path for path in finish_beside(timer, side, workbooks)}
    record = write_manifest(r, timer, run, chosen, decision, councils_selected, chosen_how)
    render_reports(r, timer, progress, record)
    return place(r, run, files, decision, councils_selected, timer)


def validate_submissions(r: Run, timer: StageTimer, progress: bool):
    """Validate the month's window of the submissions folder (files already in the store are not
    read again) and write the ``qa/`` data quality outputs; the council pages come later."""
    with stage(timer, "ingest and validate (files in the month's window)", writes=r.build / "qa") as result:
        # Every entry of the folder is listed; those outside the month's window are not validated.
        if r.extract:
            run = validation.validate_extract(
                r.extract, r.build, r.params, progress=progress, key=r.key, window=True, store_dir=r.store_dir,
                council_reports=False, parts=r.extract_parts,
            )
        else:
            run = validation.validate_folder(
                r.data_dir, r.build, r.params, progress=progress, key=r.key, window=True, store_dir=r.store_dir,
                council_reports=False,
            )
        result.rows = run.rows_read
        result.notes = (f"{len(run.entries)} folder entries, {len(run.results)} in the month's window "
                        f"({run.ingested} read now, {run.from_store} from the store): "
                        + ", ".join(f"{count} {outcome}" for outcome, count in run.outcome_counts().items())
                        + f"; {len(run.ties())} ties")
    return run


def selected_files(run) -> pd.DataFrame:
    """The catalogue rows of the files selected for the month (one per council), by council."""
    catalogue = run.catalogue
    return catalogue[catalogue["selected"].astype(bool)].sort_values("la_code")


def stop_with_nothing_selected(r: Run, run) -> None:
    """No override can publish a release with no council in it: stop, keeping the QA outputs that
    say why."""
    stopped = r.stop()
    raise CldstatsError(
        f"no submission can be selected for {r.month}: {len(r.window)} in the month's window, "
        f"{run.outcome_counts().get('rejected', 0)} rejected by the data quality gate; nothing can be published "
        f"(see {stopped / 'qa' / 'submissions.csv'})"
    )


def run_measures(r: Run, timer: StageTimer, run, chosen: pd.DataFrame, month_ends: list[dt.date]):
    """The method's SQL on the stored records of the selected files: both measures per council."""
    with stage(timer, "measures: the method's SQL on the stored submissions (DuckDB)") as result:
        method = engine.run_method(run.catalogue, r.params, month_ends)
        result.rows = int(chosen["records"].sum())
        result.notes = (f"{len(chosen)} files selected, {method.derived} derived now; SQL steps (wall s): "
                        + ", ".join(f"{k} {v:.2f}" for k, v in method.seconds.items() if not k.endswith("(CPU)")))
    return method


def area_tables(r: Run, timer: StageTimer, method, month_ends: list[dt.date]):
    """Council, ONS region, ADASS region and England tables of both measures, and their unrounded
    rates: long-term support at every month end, people assessed over the ``Total``."""
    with stage(timer, "measures: regions, England and rates") as result:
        lts_periods = [d.isoformat() for d in month_ends]
        assessed_periods = [d.strftime("%Y-%m") for d in month_ends] + ["Total"]
        adass_assign = r.params["areas"]["adass_assign"]
        lts_area = areas.area_table(method.long_term_support, lts_periods, adass_assign)
        rates = areas.rates_unrounded(lts_area)
        assessed_area = areas.area_table(method.people_assessed, assessed_periods, adass_assign)
        assessed_rates = areas.rates_unrounded(assessed_area, [reference.TOTAL])
        result.rows = len(method.long_term_support) + len(method.people_assessed)
        result.notes = f"{len(lts_area):,} long-term support cells, {len(assessed_area):,} assessment cells"
    return lts_area, rates, assessed_area, assessed_rates


def account_for_rows(r: Run, timer: StageTimer, run) -> None:
    """Before anything is published: every entry of the submissions folder, listed again now, is in
    ``qa/submissions.csv`` (whose rows validation accounted for: :mod:`cldstats.pipeline.accounting`),
    which is then written.

    Raises
    ------
    CldstatsError
        One line naming the first entry not in the table (it appeared during the run; exit code 2).
    """
    with stage(timer, "row accounting") as result:
        table = run.submissions_table
        listed = set(table["file"])
        # The extract's submissions are listed by construction (validate_extract lists every one).
        missing = [] if r.extract else [entry for entry in ingest.list_folder(r.data_dir) if entry.name not in listed]
        if missing:
            raise CldstatsError(
                f"{missing[0].path}: this entry of the submissions folder is not in qa/submissions.csv (it "
                f"appeared during the run?)" + (f", nor are {len(missing) - 1} more" if len(missing) > 1 else "")
                + "; nothing was published: run again"
            )
        run.write_submissions(r.build / "qa")
        result.rows = int(table["rows_read"].sum())
        result.notes = f"{len(table)} folder entries accounted for"


def england_totals(council_lts: pd.DataFrame, month_ends: list[dt.date]) -> dict[str, int]:
    """Unrounded England measure-1 totals at the last two month ends over the councils with data
    at both (docs/methodology.md section 6)."""
    if len(month_ends) < 2:
        return {}
    last_two = [d.isoformat() for d in month_ends[-2:]]
    alls = council_lts[
        council_lts["reference_date"].isin(last_two)
        & council_lts["support_setting"].eq("All")
        & council_lts["breakdown"].eq("All")
    ]
    by_council = alls.pivot_table(index="la_code", columns="reference_date", values="value", aggfunc="sum")
    both = by_council.dropna()
    return {date: int(both[date].sum()) for date in last_two if date in both}


def apply_gate(r: Run, run, method, month_ends: list[dt.date]):
    """The publication-level gate (coverage, England month-on-month change, override); a stop
    keeps this run's QA outputs and names them."""
    councils_selected, share = selection.coverage(run.catalogue)
    decision = quality.publication_gate(share, england_totals(method.long_term_support, month_ends), r.params)
    LOG.info("gate: %s", decision.message())
    if not decision.proceed:
        stopped = r.stop()
        raise GateStop(f"{decision.message()}; data quality outputs of this run are in {stopped / 'qa'}")
    return decision, councils_selected


def disclose(r: Run, timer: StageTimer, lts_area, rates, assessed_area, assessed_rates):
    """Published tables (with ``[r]`` against the earlier release), their unrounded sources, the
    earlier release's tables they were compared with (read once, for the revisions table too) and
    the Great Expectations results of the published tables' consistency with the unrounded ones;
    a failed check stops the run (docs/methodology.md section 7)."""
    with stage(timer, "disclosure control and output checks"):
        settings = disclosure.disclosure_settings(r.params)
        previous = {name: earlier_releases.previous_release_table(r.out_dir, r.month, name, quarterly=r.quarterly)
                    for name in PUBLISHED_TABLES}
        published = {
            "long_term_support": disclosure.published_long_term_support(
                lts_area, previous["long_term_support"], **settings
            ),
            "long_term_support_rates": disclosure.published_rates(
                rates, previous["long_term_support_rates"], settings["suppress_max"]
            ),
            "assessments": disclosure.published_assessments(assessed_area, previous["assessments"], **settings),
            "assessments_rates": disclosure.published_assessments_rates(
                assessed_rates, previous["assessments_rates"], settings["suppress_max"]
            ),
        }
        unrounded = {"long_term_support": lts_area, "long_term_support_rates": rates, "assessments": assessed_area,
                     "assessments_rates": assessed_rates}
        checks = {}
        adass_assign = r.params["areas"]["adass_assign"]
        for name in ("long_term_support", "assessments"):
            for check, frame in disclosure.consistency_frames(unrounded[name], published[name], adass_assign).items():
                checks[f"{name}: {check}"] = frame
        consistency = quality.check_output_consistency(checks)
    if not consistency["success"]:
        failed = ", ".join(consistency["failed_checks"])
        stopped = r.stop()
        raise CldstatsError(f"output consistency checks failed ({failed}); outputs kept in {stopped}")
    return published, unrounded, previous, consistency


def release_information(r: Run, facts, published, decision, councils_selected: int, compared_with: str,
                        chosen_how: dict, mapped: dict | None = None):
    """What the workbooks' cover and notes sheets say about the release (``chosen_how``: the
    manifest's ``selection`` record; ``mapped``: its ``mappings``,
    :func:`cldstats.pipeline.manifest.manifest_mappings`)."""
    mapped = mapped or {}
    return tables.ReleaseInfo(
        month=r.month,
        reference_date=month_end(r.month),
        councils_selected=councils_selected,
        publication_date=dt.date.fromisoformat(r.params["publication"]["date"]),
        facts=facts,
        revised_cells=tables.count_revised_cells(published),
        override_reason=decision.override_reason,
        gate_message=decision.message(),
        contact_email=r.params["publication"]["contact_email"],
        previous_release=compared_with,
        next_update=tables.next_update(r.params),
        selection=statements.SelectionFacts.from_record(chosen_how),
        values_mapped=int(mapped.get("values_mapped", 0)),
        fields_mapped=int(mapped.get("fields_mapped", 0)),
        mappings_folder=str(mapped.get("folder", "")),
    )


def write_tables(r: Run, timer: StageTimer, published, unrounded, revisions, consistency) -> dict[str, Path]:
    """The published CSV files; in the restricted ``qa/``, their unrounded sources, the revisions
    and the output consistency results."""
    build = r.build
    with stage(timer, "write tables and QA outputs", writes=build) as result:
        files: dict[str, Path] = {}
        # Fixed line ending and no index: the same inputs give byte-identical files; formula-like
        # text is neutralised (CSV injection).
        for name, frame in published.items():
            files[f"data/{name}.csv"] = safe_output.write_csv(frame, build / "data" / f"{name}.csv")
        for name, frame in unrounded.items():
            files[f"qa/{name}_unrounded.csv"] = safe_output.write_csv(frame, build / "qa" / f"{name}_unrounded.csv")
        consistency_path = build / "qa" / "output_consistency.json"
        consistency_path.write_text(json.dumps(consistency, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        files["qa/revisions.csv"] = safe_output.write_csv(revisions, build / "qa" / "revisions.csv")
        result.notes = f"{len(files)} CSV files; {len(revisions)} revisions"
    return files


def draw_charts(r: Run, timer: StageTimer, published, facts) -> dict[str, Path]:
    """The charts of the published tables, PNG and SVG."""
    files: dict[str, Path] = {}
    with stage(timer, "charts", writes=r.build / "charts") as result:
        made = charts.make_charts(published, r.build / "charts", facts=facts)
        for chart in made:
            files[f"charts/{chart.png.name}"] = chart.png
            files[f"charts/{chart.svg.name}"] = chart.svg
        result.notes = f"{len(made)} charts"
    return files


def write_dhsc_spreadsheets(r: Run, timer: StageTimer, published, info, revisions) -> dict[str, Path]:
    """The DHSC-layout workbooks, ODS and XLSX: written here while the second process writes the
    accessible ones, so the two cores share the spreadsheets."""
    with stage(timer, "DHSC-layout spreadsheets", writes=r.build / "spreadsheets") as result:
        paths = tables.write_dhsc_workbooks(published, info, r.build / "spreadsheets",
                                            crosswalk.legacy_la_codes(),
                                            revisions=revisions)
        result.notes = f"{len(paths)} files"
    return {f"spreadsheets/{path.name}": path for path in paths}


def write_manifest(r: Run, timer: StageTimer, run, chosen, decision, councils_selected: int,
                   chosen_how: dict) -> dict:
    """The manifest of what must match between two runs (:mod:`cldstats.pipeline.manifest`), written
    now so the QA report's gate section can read it; rewritten with the reports' digests later."""
    with stage(timer, "manifest", writes=r.build / "manifest.json"):
        record = {
            "month": r.month,
            "reference_date": month_end(r.month).isoformat(),
            "release": {"folder": r.release, "title": r.title, "quarterly": r.quarterly},
            "params": r.params,
            "synthetic_data": r.synthetic,
            "pseudonymisation_key": r.key.source,
            "inputs": manifest.manifest_inputs(run.results, set(chosen["file"])),
            "mappings": manifest.manifest_mappings(mappings_of_params(r.params), run.results, set(chosen["file"])),
            "versions": manifest.versions(),
            "git_commit": manifest.git_commit(),
            "gate": {
                "coverage": round(decision.coverage, 4),
                "councils_selected": councils_selected,
                # To 0.01%: enough to audit the gate, too coarse to rebuild unrounded England totals.
                "month_change": None if decision.month_change is None else round(decision.month_change, 4),
                "failures": list(decision.failures),
                "override_reason": decision.override_reason,
                "message": decision.message(),
                "submission_outcomes": run.outcome_counts(),
            },
            "selection": chosen_how,
            "outputs": manifest.output_digests(r.build)[0],
            # Everything above must match between two runs on the same inputs, params and code;
            # only what is below may differ.
            "may_differ": manifest.run_details(r.run_id, r.started_at, r.log_name, {
                "folder": str(run.store_dir), "read_and_validated": run.ingested, "from_store": run.from_store,
            }),
        }
        manifest.write_manifest(r.build, record)
    return record


def render_reports(r: Run, timer: StageTimer, progress: bool, record: dict) -> None:
    """Execute the notebooks (papermill), render them to HTML and complete the manifest with the
    digests of everything, the reports included."""
    with stage(timer, "notebooks (papermill)", writes=r.build) as result:
        executed = render.run_notebooks(
            r.build, r.month, progress=progress, change_threshold=str(r.params["gate"]["max_month_change"]),
            inside=True,
        )
        result.notes = f"{len(executed)} notebooks executed"
    with stage(timer, "HTML reports", writes=r.build) as result:
        renderer = render.render_html(executed, r.build / "html")
        may_differ = record.pop("may_differ")
        record["renderer"] = renderer
        record["outputs"], may_differ["outputs"] = manifest.output_digests(r.build)
        may_differ["seconds"] = round(time.perf_counter() - r.started, 1)
        record["may_differ"] = may_differ  # kept last
        manifest.write_manifest(r.build, record)
        result.notes = f"rendered by {renderer}"


def place(r: Run, run, files: dict[str, Path], decision, councils_selected: int, timer: StageTimer) -> PublishResult:
    """Move the build into ``reports/<YYYY-MM>/`` (the release it replaces is filed under
    ``releases/``), rewrite the reports folder's index and say what was published."""
    release_dir = r.out_dir / r.release
    LOG.info("placing the release: %s -> %s", r.build.name, r.release)
    previous = place_release(r.build, release_dir, r.run_id)
    with naming_path(r.out_dir / "index.html"):
        render.write_index(r.out_dir)
    table = run.submissions_table
    rejected = table.loc[table["outcome"].astype(str).str.startswith("rejected"), "file"] if len(table) else []
    return PublishResult(
        month=r.month,
        release_dir=release_dir,
        title=r.title,
        files={k: release_dir / k for k in files},
        gate_message=decision.message(),
        councils_selected=councils_selected,
        seconds=time.perf_counter() - r.started,
        timer=timer,
        run_id=r.run_id,
        log_file=r.out_dir / r.log_name,
        submission_outcomes=run.outcome_counts(),
        rejected_files=[str(name) for name in rejected],
        previous_release=previous,
        folder_entries=len(table),
        not_validated=run.not_validated,
        ties=run.ties(),
        ingested=run.ingested,
        from_store=run.from_store,
        store_dir=run.store_dir,
    )

"""What the notebooks show: headline figures, commentary built from the numbers, display tables,
charts and the QA summaries of one release folder ``reports/<YYYY-MM>/``.

The notebooks in ``notebooks/`` are thin: a ``parameters`` cell of strings, narrative, and one call
of this module per step. Every function here returns an :class:`IPython.display.HTML` object (or a
pandas frame for tests to inspect) so that the executed notebook carries the finished HTML and the
renderer (Quarto or nbconvert, see :mod:`cldstats.publication.render`) only lays it out.

Two families, kept apart on purpose (docs/methodology.md section 7):

* **published** functions (headlines, commentary, publication tables, charts, notes) read
  ``data/*.csv``, ``charts/`` and the run's method (``manifest.json`` ``params``, as
  :attr:`Release.facts`, so every sentence about rounding, suppression, the adult age or the
  look-back comes from :mod:`cldstats.reference.statements`), never ``qa/*_unrounded.csv``: every number they
  quote is a published cell, or a difference or share of published cells;
* **QA** functions (``gate_summary``, ``selection_summary``, ``reporting_periods``,
  ``folder_accounting``, ``ties``, ``rejected_submissions``,
  ``validation_by_suite``, ``council_summary``, ``main_failures``, ``month_changes``,
  ``revisions``, ``revision_summary``, ``qa_downloads``) read
  ``qa/`` and ``manifest.json``; their output belongs in the restricted QA report only, which is
  written under ``qa/`` (``qa/qa.html``, its executed notebook ``qa/notebooks/data_quality.ipynb``)
  so that everything quoting unrounded figures stays in the restricted folder.

Paths in the HTML are relative to where the reports are written: the published pages in
``<release>/html/`` and the QA report in ``<release>/qa/``, both one level below the release
(:data:`HTML_TO_RELEASE`), so a release folder can be moved or served as a whole.

This module is what the notebooks import (``from cldstats.publication import report``): it names
every helper of :mod:`cldstats.publication.report_release` (opening a release),
:mod:`cldstats.publication.report_format` (numbers, dates, file labels, HTML tables),
:mod:`cldstats.publication.report_published` (the published family) and
:mod:`cldstats.publication.report_qa` (the QA family), which own them.
"""

from __future__ import annotations

from cldstats.publication.report_format import (
    ELEMENT_ID,
    FILE_CONTENTS,
    FILE_KINDS,
    change_phrase,
    file_label,
    fmt_count,
    fmt_day,
    fmt_month,
    fmt_size,
)
from cldstats.publication.report_published import (
    ASSESSMENTS_CHARTS,
    LONG_TERM_SUPPORT_CHARTS,
    PUBLICATION_CHARTS,
    Headline,
    assessments_commentary,
    assessments_table,
    breakdown_table,
    chart,
    charts,
    downloads,
    england_trend_table,
    headline,
    introduction,
    long_term_support_commentary,
    long_term_support_headline,
    notes,
    region_table,
    related_reports,
    release_summary,
    table,
)
from cldstats.publication.report_qa import (
    council_summary,
    council_table,
    coverage_summary,
    folder_accounting,
    gate_summary,
    main_failures,
    month_changes,
    qa_downloads,
    qa_table,
    rejected_submissions,
    release_mix,
    reporting_periods,
    revision_summary,
    revisions,
    selection_summary,
    ties,
    validation_by_suite,
)
from cldstats.publication.report_release import (
    ENGLAND,
    HTML_TO_RELEASE,
    REPO,
    Release,
    open_release,
)

__all__ = [
    "ASSESSMENTS_CHARTS",
    "ELEMENT_ID",
    "ENGLAND",
    "FILE_CONTENTS",
    "FILE_KINDS",
    "HTML_TO_RELEASE",
    "Headline",
    "LONG_TERM_SUPPORT_CHARTS",
    "PUBLICATION_CHARTS",
    "REPO",
    "Release",
    "assessments_commentary",
    "assessments_table",
    "breakdown_table",
    "change_phrase",
    "chart",
    "charts",
    "council_summary",
    "council_table",
    "coverage_summary",
    "downloads",
    "england_trend_table",
    "file_label",
    "fmt_count",
    "fmt_day",
    "fmt_month",
    "fmt_size",
    "folder_accounting",
    "gate_summary",
    "headline",
    "introduction",
    "long_term_support_commentary",
    "long_term_support_headline",
    "main_failures",
    "month_changes",
    "notes",
    "open_release",
    "qa_downloads",
    "qa_table",
    "region_table",
    "rejected_submissions",
    "release_mix",
    "related_reports",
    "release_summary",
    "reporting_periods",
    "revision_summary",
    "revisions",
    "selection_summary",
    "table",
    "ties",
    "validation_by_suite",
]

"""What the pipeline calls to make a release's accessible spreadsheets (DESIGN.md output contract
``spreadsheets/*.xlsx``), from the modules that own it: :mod:`cldstats.publication.release_info`
(what the cover says, the next update), :mod:`cldstats.publication.tidy_tables` (the tables as
frames), :mod:`cldstats.publication.workbooks` (the two workbooks, and the decisions behind their
layout), :mod:`cldstats.publication.xlsx_writing` (how gptables and xlsxwriter are made to
write them), :mod:`cldstats.publication.dhsc_workbooks` (the workbooks in DHSC's layout, ODS and
XLSX, and the ODS copies) and :mod:`cldstats.publication.ods_writing` (how ODS is written).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from cldstats.publication.dhsc_workbooks import read_dhsc_table, write_dhsc_workbooks, write_ods_copies
from cldstats.publication.release_info import PLACEHOLDER_CONTACT, TO_BE_ANNOUNCED, ReleaseInfo, next_update
from cldstats.publication.tidy_tables import count_revised_cells, period_label, revisions_frame, table_frames
from cldstats.publication.workbooks import read_table, write_workbooks

__all__ = [
    "PLACEHOLDER_CONTACT",
    "ReleaseInfo",
    "TO_BE_ANNOUNCED",
    "count_revised_cells",
    "next_update",
    "period_label",
    "read_dhsc_table",
    "read_table",
    "revisions_frame",
    "table_frames",
    "write_accessible_spreadsheets",
    "write_dhsc_workbooks",
    "write_ods_copies",
    "write_workbooks",
]


def write_accessible_spreadsheets(published: Mapping[str, pd.DataFrame], release: ReleaseInfo, out_dir: Path,
                                  revisions: pd.DataFrame | None = None) -> list[Path]:
    """The accessible workbooks (:func:`write_workbooks`, XLSX) and an ODS copy of each
    (:func:`write_ods_copies`); arguments as :func:`write_workbooks`.

    Returns
    -------
    list of pathlib.Path
        The XLSX files, then the ODS files.
    """
    accessible = write_workbooks(published, release, out_dir, revisions=revisions)
    return accessible + write_ods_copies(accessible, release)

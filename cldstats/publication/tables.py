"""What the pipeline calls to make a release's accessible spreadsheets (DESIGN.md output contract
``spreadsheets/*.xlsx``), from the modules that own it: :mod:`cldstats.publication.release_info`
(what the cover says, the next update), :mod:`cldstats.publication.tidy_tables` (the tables as
frames), :mod:`cldstats.publication.workbooks` (the two workbooks, and the decisions behind their
layout) and :mod:`cldstats.publication.xlsx_writing` (how gptables and xlsxwriter are made to
write them).
"""

from __future__ import annotations

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
    "read_table",
    "revisions_frame",
    "table_frames",
    "write_workbooks",
]

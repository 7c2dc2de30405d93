"""What the cover and notes sheets of a release's workbooks say about it: :class:`ReleaseInfo`, and
the date of the next release (:func:`next_update`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cldstats.publication.tidy_tables import count_revised_cells
from cldstats.reference import statements
from cldstats.reference.calendar import month_end
from cldstats.reference.params import TO_BE_ANNOUNCED, ParamsError, load_params
from cldstats.reference.statements import MethodFacts, SelectionFacts

#: A clearly-not-real address: the lead sets the real one (e.g. from params) in ``ReleaseInfo``.
PLACEHOLDER_CONTACT = "cld-statistics@example.org"
DEFAULT_SOURCE = (
    "Adult Social Care Client Level Data (CLD) submitted by councils in England, "
    "processed by the cldstats pipeline"
)


@dataclass(frozen=True)
class ReleaseInfo:
    """What the cover and notes sheets say about a release.

    Attributes
    ----------
    month : str
        Reference month, ``"YYYY-MM"``.
    reference_date : datetime.date
        Last day of the reference month.
    councils_selected : int
        Councils with a selected submission (the publication gate's coverage).
    publication_date : datetime.date
        Date of publication: a fixed input, also used as the workbooks' created date so two runs
        give identical files (never the clock).
    facts : cldstats.reference.statements.MethodFacts
        The run's method (rounding, suppression, adult age, look-back, councils in England): every
        sentence of the cover and notes about the method is built from it.
    revised_cells : int
        Cells revised since the previous release, over all published tables
        (see :func:`count_revised_cells`).
    override_reason : str
        Non-empty when the release was published despite a publication-level stop.
    gate_message : str
        The publication gate's one-line decision.
    contact_email : str
        Contact address on the cover; the default is a placeholder to be set from params.
    previous_release : str
        The release the cells were compared with for ``[r]`` (e.g. ``"2024-03 release of run
        20240601T090000Z"``, :func:`cldstats.pipeline.earlier_releases.previous_release_label`); empty when not
        known or there is none.
    source : str
        Source statement on the cover and under every table.
    next_update : datetime.date or None
        Date of the next release, on the cover (:func:`next_update`); None: "To be announced".
    selection : cldstats.reference.statements.SelectionFacts or None
        How each council's submission was chosen (the cut-off, the reporting period, files excluded
        or included by hand): a note of its own (:attr:`selection_note`); None: no such note.
    values_mapped, fields_mapped : int
        Submitted values the hand-maintained mapping tables mapped in the selected files, and their
        fields (the manifest's ``mappings``); 0: the notes say nothing of mappings.
    mappings_folder : str
        The folder of those tables (params ``selection.mappings``).
    """

    month: str
    reference_date: dt.date
    councils_selected: int
    publication_date: dt.date
    facts: MethodFacts
    revised_cells: int = 0
    override_reason: str = ""
    gate_message: str = "publication gate passed"
    contact_email: str = PLACEHOLDER_CONTACT
    previous_release: str = ""
    source: str = DEFAULT_SOURCE
    next_update: dt.date | None = None
    selection: SelectionFacts | None = None

    @property
    def selection_note(self) -> str:
        """The notes sheet's text on the selection (:func:`cldstats.reference.statements.selection_sentence`),
        ``""`` without :attr:`selection`."""
        return statements.selection_sentence(self.selection) if self.selection is not None else ""
    values_mapped: int = 0
    fields_mapped: int = 0
    mappings_folder: str = ""

    @property
    def coverage(self) -> float:
        """Share of councils with a selected submission."""
        return self.councils_selected / self.facts.councils_total

    @classmethod
    def from_manifest(
        cls,
        manifest: Mapping[str, Any],
        published: Mapping[str, pd.DataFrame],
        publication_date: dt.date,
        **fields: Any,
    ) -> ReleaseInfo:
        """Build from a release's ``manifest.json`` content and its published frames.

        Parameters
        ----------
        manifest : mapping
            Needs ``month``, ``reference_date``, ``params`` (for :class:`MethodFacts`) and ``gate``
            (``councils_selected``, ``override_reason``, ``message``).
        published : mapping of str to pandas.DataFrame
            The published frames (for the revised-cell count).
        publication_date : datetime.date
            Fixed publication date.
        **fields
            Other :class:`ReleaseInfo` fields (``contact_email``, ``source``, ``next_update``).
        """
        gate = manifest["gate"]
        mapped = manifest.get("mappings") or {}
        return cls(
            month=manifest["month"],
            reference_date=dt.date.fromisoformat(str(manifest["reference_date"])),
            councils_selected=int(gate["councils_selected"]),
            publication_date=publication_date,
            facts=MethodFacts.from_params(manifest["params"]),
            revised_cells=count_revised_cells(published),
            override_reason=gate.get("override_reason", "") or "",
            gate_message=gate.get("message", "") or "",
            selection=SelectionFacts.from_record(manifest["selection"]) if manifest.get("selection") else None,
            values_mapped=int(mapped.get("values_mapped", 0)),
            fields_mapped=int(mapped.get("fields_mapped", 0)),
            mappings_folder=str(mapped.get("folder", "")),
            **fields,
        )


#: How far ahead :func:`next_update` looks for the next release.
NEXT_UPDATE_HORIZON_MONTHS = 12


def next_update(params: Mapping[str, Any], params_dir: Path | None = None) -> dt.date | None:
    """Date of the next release, for the cover's "Next update" line.

    ``publication.next_update`` in params decides:

    * ``"YYYY-MM-DD"``: that date, which must come after ``publication.date``;
    * ``"to be announced"``: None (the cover says so);
    * blank (the default): derived from the params of the next release, i.e. the publication date
      of the first later month whose own params (``defaults.yaml`` and its month file, resolved by
      :func:`cldstats.reference.params.load_params`, so a blank date is 14 days after its cut-off) fall after
      this release's. Months of one quarter share a default cut-off and so a publication date: they
      are one release, and the next update is the next quarter's. None if no month in the next
      :data:`NEXT_UPDATE_HORIZON_MONTHS` is published later.

    Parameters
    ----------
    params : mapping
        The run's resolved params (:func:`cldstats.reference.params.load_params`).
    params_dir : pathlib.Path, optional
        Folder of ``defaults.yaml`` and the month files (default: the one the run used,
        :func:`cldstats.reference.params.default_params_dir`).

    Raises
    ------
    cldstats.reference.params.ParamsError
        ``publication.next_update`` is neither blank, a date nor "to be announced", or is not after
        the publication date.
    """

    published = dt.date.fromisoformat(params["publication"]["date"])
    setting = str(params["publication"].get("next_update", "") or "").strip()
    if setting.lower() == TO_BE_ANNOUNCED:
        return None
    if setting:
        try:
            day = dt.date.fromisoformat(setting)
        except ValueError:
            raise ParamsError(f"params key 'publication.next_update' must be a date 'YYYY-MM-DD', "
                              f"'{TO_BE_ANNOUNCED}' or blank, got {setting!r}") from None
        if day <= published:
            raise ParamsError(f"params key 'publication.next_update' ({day.isoformat()}) must be after "
                              f"the publication date {published.isoformat()}")
        return day
    for ahead in range(1, NEXT_UPDATE_HORIZON_MONTHS + 1):
        later = str(pd.Period(params["month"], freq="M") + ahead)
        # `today` just after that month: the check that a month has ended guards publishing it,
        # not planning its date.
        planned = load_params(later, params_dir=params_dir, today=month_end(later) + dt.timedelta(days=1))
        day = dt.date.fromisoformat(planned["publication"]["date"])
        if day > published:
            return day
    return None

"""The earlier release each published cell is compared with (docs/methodology.md section 7).

``[r]`` flags, the revisions table and the label saying which release the cells were compared with
all come from one search of the reports folder (:func:`previous_release_folder`), done here so that
disclosure control stays pure: it receives the earlier tables, it never reads a folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cldstats.pipeline.runlock import release_run_id
from cldstats.reference.calendar import folder_release, release_folder, release_title

__all__ = ["previous_release_folder", "previous_release_label", "previous_release_table"]


def _earlier(out_dir: Path, month: str, quarterly: bool) -> list[Path]:
    """The releases of the same kind (monthly, or quarterly) before ``month``'s, latest first."""
    found = []
    for path in out_dir.iterdir() if out_dir.is_dir() else ():
        release = folder_release(path.name)
        if path.is_dir() and release is not None and release[1] == quarterly and release[0] < month:
            found.append((release[0], path))
    return [path for _, path in sorted(found, reverse=True)]


def previous_release_folder(out_dir: Path, month: str, name: str = "long_term_support", *,
                            quarterly: bool = False) -> Path | None:
    """The most recent earlier release holding table ``name`` (docs/methodology.md section 7).

    The current release of ``month`` under ``out_dir`` (an earlier run of the same month, looked up
    before the new release replaces it), else the latest earlier month's release; ``None`` when
    there is none. The one search behind ``[r]``, the revisions table and their label. A quarterly
    release (``quarterly``) is compared with quarterly releases only: DHSC's revisions are of the
    months a quarterly release repeats from the one before.
    """
    out_dir = Path(out_dir)
    candidates = [out_dir / release_folder(month, quarterly), *_earlier(out_dir, month, quarterly)]
    return next((folder for folder in candidates if (folder / "data" / f"{name}.csv").exists()), None)


def previous_release_label(out_dir: Path, month: str, name: str = "long_term_support", *,
                           quarterly: bool = False) -> str:
    """Name the release whose table ``name`` the ``[r]`` flags were set against.

    Returns
    -------
    str
        ``"2024-03 release of run 20240601T090000Z"`` (or without the run when the manifest does
        not say; a quarterly one: ``"data to December 2025 release of run ..."``), or ``""`` when
        there is no earlier release (:func:`previous_release_folder`).
    """
    folder = previous_release_folder(out_dir, month, name, quarterly=quarterly)
    if folder is None:
        return ""
    run_id = release_run_id(folder)
    release = folder_release(folder.name)
    named = release_title(*release) if release is not None and release[1] else folder.name
    return f"{named} release" + (f" of run {run_id}" if run_id != "previous" else "")


def previous_release_table(out_dir: Path, month: str, name: str, *, quarterly: bool = False) -> pd.DataFrame | None:
    """The published table ``name`` of the most recent earlier release that contains it
    (:func:`previous_release_folder`), as text; ``None`` when there is none."""
    folder = previous_release_folder(out_dir, month, name, quarterly=quarterly)
    return None if folder is None else pd.read_csv(folder / "data" / f"{name}.csv", dtype=str, keep_default_na=False)

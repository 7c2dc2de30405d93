"""The earlier release each published cell is compared with (docs/methodology.md section 7).

``[r]`` flags, the revisions table and the label saying which release the cells were compared with
all come from one search of the reports folder (:func:`previous_release_folder`), done here so that
disclosure control stays pure: it receives the earlier tables, it never reads a folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cldstats.pipeline.runlock import release_run_id

__all__ = ["previous_release_folder", "previous_release_label", "previous_release_table"]


def previous_release_folder(out_dir: Path, month: str, name: str = "long_term_support") -> Path | None:
    """The most recent earlier release holding table ``name`` (docs/methodology.md section 7).

    The current release of ``month`` under ``out_dir`` (an earlier run of the same month, looked up
    before the new release replaces it), else the latest earlier month's release; ``None`` when
    there is none. The one search behind ``[r]``, the revisions table and their label.
    """
    out_dir = Path(out_dir)
    candidates = [out_dir / month] + sorted(
        (p for p in out_dir.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]") if p.is_dir() and p.name < month),
        key=lambda p: p.name, reverse=True,
    )
    return next((folder for folder in candidates if (folder / "data" / f"{name}.csv").exists()), None)


def previous_release_label(out_dir: Path, month: str, name: str = "long_term_support") -> str:
    """Name the release whose table ``name`` the ``[r]`` flags were set against.

    Returns
    -------
    str
        ``"2024-03 release of run 20240601T090000Z"`` (or without the run when the manifest does
        not say), or ``""`` when there is no earlier release (:func:`previous_release_folder`).
    """
    folder = previous_release_folder(out_dir, month, name)
    if folder is None:
        return ""
    run_id = release_run_id(folder)
    return f"{folder.name} release" + (f" of run {run_id}" if run_id != "previous" else "")


def previous_release_table(out_dir: Path, month: str, name: str) -> pd.DataFrame | None:
    """The published table ``name`` of the most recent earlier release that contains it
    (:func:`previous_release_folder`), as text; ``None`` when there is none."""
    folder = previous_release_folder(out_dir, month, name)
    return None if folder is None else pd.read_csv(folder / "data" / f"{name}.csv", dtype=str, keep_default_na=False)

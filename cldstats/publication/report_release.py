"""Opening a release folder for the notebooks: :class:`Release` (its month, tables read once,
manifest and method) and :func:`open_release`, and where the reports sit in it
(:data:`HTML_TO_RELEASE`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cldstats.core.errors import CldstatsError
from cldstats.reference.statements import MethodFacts

#: From ``<release>/html/*.html`` (published pages) and ``<release>/qa/qa.html`` (the QA report)
#: back to the release folder: links to council reports, CSVs and spreadsheets are written relative
#: to the HTML so the folder works wherever it is copied.
HTML_TO_RELEASE = ".."

REPO = Path(__file__).resolve().parents[2]
ENGLAND = "England"


@dataclass
class Release:
    """One release folder and its month; tables are read on first use and kept."""

    path: Path
    month: str
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def reference_date(self) -> str:
        """The month end ``YYYY-MM-DD`` of :attr:`month`."""
        year, mon = (int(part) for part in self.month.split("-"))
        first_next = dt.date(year + mon // 12, mon % 12 + 1, 1)
        return (first_next - dt.timedelta(days=1)).isoformat()

    def csv(self, relative: str) -> pd.DataFrame:
        """A CSV of the release read as strings (symbols such as ``[c]`` stay as they are)."""
        if relative not in self._cache:
            path = self.path / relative
            if not path.exists():
                raise CldstatsError(f"{path} is missing: is {self.path} a complete release?")
            self._cache[relative] = pd.read_csv(path, dtype=str, keep_default_na=False)
        return self._cache[relative]

    def manifest(self) -> dict:
        """``manifest.json`` (empty if the release has none yet: notebooks run before it is written)."""
        path = self.path / "manifest.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    @property
    def facts(self) -> MethodFacts:
        """The method of the run that made the release, from ``manifest.json``'s ``params``: every
        sentence the pages say about rounding, suppression, the adult age or the look-back.

        Raises
        ------
        CldstatsError
            The manifest is missing or has no ``params`` (the pages would state a method blind).
        """
        params = self.manifest().get("params")
        if not params:
            raise CldstatsError(f"{self.path / 'manifest.json'} has no params: the pages cannot state the method "
                                "the release was made with")
        return MethodFacts.from_params(params)


def open_release(release_dir: str, month: str) -> Release:
    """Open the release folder a notebook was given.

    Parameters
    ----------
    release_dir : str
        The release folder. A relative path is taken from the working directory, else from the
        repository root, so a notebook opened by hand in ``notebooks/`` finds ``reports/<month>``.
    month : str
        Reference month ``"YYYY-MM"``.

    Returns
    -------
    Release

    Raises
    ------
    CldstatsError
        The folder does not exist or the month is not ``YYYY-MM``.
    """
    if not isinstance(month, str) or len(month) != 7 or month[4] != "-":
        raise CldstatsError(f'month must be a "YYYY-MM" string, not {month!r}')
    path = Path(release_dir)
    if not path.is_dir() and not path.is_absolute() and (REPO / path).is_dir():
        path = REPO / path
    if not path.is_dir():
        raise CldstatsError(f"release folder {release_dir} not found (working directory {Path.cwd()})")
    return Release(path.resolve(), month)

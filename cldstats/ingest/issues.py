"""What ingest reports about a file: the check names (:data:`CHECKS`, defined with every other
check name in :mod:`cldstats.reference.checks`), :class:`FileIssue`, the
exception raised inside ingest for a file that cannot be read, and the wording the messages share
(counts, example rows)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cldstats.reference.checks import INGEST_CHECKS as CHECKS  # noqa: F401  (ingest.CHECKS: what ingest reports)

#: Example rows listed per issue.
MAX_EXAMPLE_ROWS = 20


@dataclass(frozen=True)
class FileIssue:
    """One file-level finding.

    Attributes
    ----------
    check : str
        Machine name, one of :data:`CHECKS`.
    message : str
        One line naming the file and, where known, the row and field. Never holds a personal value.
    field : str or None
        Internal field name the issue is about, if one.
    count : int
        Cells, rows or columns concerned.
    rows : tuple of int
        Up to 20 example spreadsheet row numbers.
    fields : tuple of str
        Every internal field name concerned, when there are several (``missing_columns``).
    """

    check: str
    message: str
    field: str | None = None
    count: int = 0
    rows: tuple[int, ...] = ()
    fields: tuple[str, ...] = ()


class Unreadable(Exception):
    """Raised inside ingest when a file cannot be read; the message follows the file name.

    :func:`~cldstats.ingest.reader.read_submission` turns it into an ``unreadable`` issue: it never
    leaves ingest.
    """


def count_noun(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless ``n`` is 1: ``"1 row"``, ``"2 rows"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def rows_text(rows: np.ndarray, row_numbers: np.ndarray) -> str:
    """``"rows 4, 7, 9 ..."``: up to five example rows.

    ``rows`` are positions into ``row_numbers`` (the file's row number of each record).
    """
    shown = ", ".join(str(int(r)) for r in row_numbers[rows[:5]])
    return f"{'row' if len(rows) == 1 else 'rows'} {shown}{' ...' if len(rows) > 5 else ''}"

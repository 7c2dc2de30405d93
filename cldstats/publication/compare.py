"""Compare two releases cell by cell: what a change of method or data moved (``cldstats compare``).

A statistician changing a definition (docs/how-to/change-a-definition.md) publishes the month before
and after the change and needs to know exactly which figures moved, and that nothing else did. This
module reads the tables of two release folders, joins them on their keys (every column but the
value columns) and reports, per table, the cells that differ, the cells only one release has, and
the largest changes.

Both the published tables (``data/*.csv``: rounded, with symbols) and the restricted unrounded QA
tables (``qa/*_unrounded.csv``) are compared; the unrounded ones show a change the rounding hides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cldstats.core.errors import CldstatsError

__all__ = ["TABLES", "TableDifference", "compare_releases", "run_cli"]

#: The tables compared, as paths inside a release folder.
TABLES = (
    "data/long_term_support.csv",
    "data/long_term_support_rates.csv",
    "data/assessments.csv",
    "data/assessments_rates.csv",
    "qa/long_term_support_unrounded.csv",
    "qa/long_term_support_rates_unrounded.csv",
    "qa/assessments_unrounded.csv",
    "qa/assessments_rates_unrounded.csv",
)
#: Columns holding a figure (compared); every other column is part of a cell's key.
VALUE_COLUMNS = ("value", "population", "rate", "councils_included")


@dataclass
class TableDifference:
    """How one table differs between two releases.

    Attributes
    ----------
    table : str
        Path of the table inside a release.
    cells : int
        Cells (key and value column) in the old release.
    changed : pandas.DataFrame
        One row per differing cell: the key columns, ``column``, ``old``, ``new``.
    only_old, only_new : int
        Rows whose key is in one release only.
    """

    table: str
    cells: int
    changed: pd.DataFrame
    only_old: int
    only_new: int

    @property
    def identical(self) -> bool:
        return self.changed.empty and not self.only_old and not self.only_new


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise CldstatsError(f"{path}: no such table (is this a release folder?)") from None


def compare_table(old: pd.DataFrame, new: pd.DataFrame, table: str = "") -> TableDifference:
    """Cell-by-cell differences of one table (values compared as published text).

    Parameters
    ----------
    old, new : pandas.DataFrame
        The table in each release, read as text.
    table : str
        Its name, for the result.
    """
    values = [c for c in VALUE_COLUMNS if c in old.columns]
    keys = [c for c in old.columns if c not in values]
    if list(new.columns) != list(old.columns):
        raise CldstatsError(f"{table}: the two releases have different columns: {list(old.columns)} and "
                            f"{list(new.columns)}")
    merged = old.merge(new, on=keys, how="outer", suffixes=("_old", "_new"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    changed = []
    for column in values:
        differs = both[both[f"{column}_old"] != both[f"{column}_new"]]
        if len(differs):
            changed.append(differs[keys].assign(column=column, old=differs[f"{column}_old"],
                                                new=differs[f"{column}_new"]))
    frame = pd.concat(changed, ignore_index=True) if changed else pd.DataFrame(columns=[*keys, "column", "old", "new"])
    return TableDifference(table, len(old) * len(values), frame, int((merged["_merge"] == "left_only").sum()),
                           int((merged["_merge"] == "right_only").sum()))


def compare_releases(old: Path, new: Path, tables: Sequence[str] = TABLES) -> list[TableDifference]:
    """Compare ``tables`` of two release folders (``reports/<month>/`` or ``releases/<run id>/``)."""
    return [compare_table(_read(Path(old) / t), _read(Path(new) / t), t) for t in tables]


def _described(difference: TableDifference, shown: int) -> list[str]:
    lines = [f"{difference.table}: {len(difference.changed):,} of {difference.cells:,} cells differ"
             + (f", {difference.only_old:,} rows only in the old release" if difference.only_old else "")
             + (f", {difference.only_new:,} rows only in the new release" if difference.only_new else "")]
    if len(difference.changed):
        key_columns = [c for c in difference.changed.columns if c not in ("column", "old", "new")]
        for row in difference.changed.head(shown).itertuples(index=False):
            cell = ", ".join(str(getattr(row, c)) for c in key_columns)
            lines.append(f"  {cell} [{row.column}]: {row.old} -> {row.new}")
        if len(difference.changed) > shown:
            lines.append(f"  ... and {len(difference.changed) - shown:,} more")
    return lines


def run_cli(args) -> int:
    """``cldstats compare OLD NEW [--show N] [--csv FILE]``: print the differences; exit code 1
    when any table differs (0 when the releases hold the same figures)."""
    differences = compare_releases(args.old, args.new)
    for difference in differences:
        print("\n".join(_described(difference, args.show)))
    if args.csv is not None:
        pd.concat([d.changed.assign(table=d.table) for d in differences], ignore_index=True).to_csv(
            args.csv, index=False)
        print(f"every differing cell: {args.csv}")
    total = sum(len(d.changed) for d in differences)
    tables = sum(not d.identical for d in differences)
    print(f"{total:,} {'cell differs' if total == 1 else 'cells differ'} in {tables} of {len(differences)} tables")
    return 0 if all(d.identical for d in differences) else 1

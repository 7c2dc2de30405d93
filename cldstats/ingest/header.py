"""The header of a submission (step 4 of :mod:`cldstats.ingest.reader`): labels matched to the spec's
fields, exactly or loosely (``loose_label``), unknown labels (``extra_columns``), absent fields
(``missing_columns``; the two columns Release 2 removed are optional), and a field seen twice
compared copy by copy (``duplicate_columns``, ``duplicate_columns_disagree``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cldstats.ingest.cells import EncodedColumn, RawTable
from cldstats.ingest.issues import MAX_EXAMPLE_ROWS, FileIssue, count_noun, rows_text
from cldstats.reference.spec import Spec, normalise_label


def _delimiter_hint(header: list[str]) -> str:
    if len(header) != 1:
        return ""
    for delimiter, shown in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
        if header[0].count(delimiter) >= 2:
            return f" (the delimiter looks like {shown}, not a comma)"
    return ""


def match_header(
    header: list[str], spec: Spec, name: str, issues: list[FileIssue]
) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Field name -> first column index, and the indexes of every field seen more than once.

    Loose, extra and missing labels are reported here; duplicated fields by
    :func:`merge_duplicate_columns`, which compares their values.
    """
    matched: dict[str, int] = {}
    extra: list[str] = []
    duplicates: dict[str, list[int]] = {}
    for index, label in enumerate(header):
        spec_field = spec.by_label.get(label)
        loose = False
        if spec_field is None:
            spec_field = spec.by_loose_label.get(normalise_label(label))
            loose = spec_field is not None
        if spec_field is None:
            extra.append(label)
            continue
        if spec_field.name in matched:
            duplicates.setdefault(spec_field.name, [matched[spec_field.name]]).append(index)
            continue
        matched[spec_field.name] = index
        if loose:
            issues.append(
                FileIssue(
                    "loose_label",
                    f"{name}: column {index + 1} label '{label}' read as '{spec_field.label}' "
                    "(differs in case, spaces or underscores)",
                    field=spec_field.name,
                    count=1,
                )
            )
    if extra:
        if matched:
            shown = ", ".join(f"'{label[:60]}'" if label else "(unnamed)" for label in extra[:10])
            more = f" and {len(extra) - 10} more" if len(extra) > 10 else ""
            text = f"{count_noun(len(extra), 'unrecognised column')} ignored: {shown}{more}"
        else:
            # Nothing matched: the "header" may be a data row, so its cells are not repeated here.
            text = f"none of the {len(extra)} header cells is a CLD column label (is the header row missing?)"
        issues.append(FileIssue("extra_columns", f"{name}: {text}", count=len(extra)))
    # The two columns Release 2 removed are read when present and never missing, so a Release 1 and
    # a Release 2 header are both whole.
    missing = [f for f in spec.fields if f.name not in matched and not f.release1_only_column]
    if missing:
        shown = ", ".join(f"'{f.label}'" for f in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        hint = _delimiter_hint(header)
        issues.append(
            FileIssue(
                "missing_columns",
                f"{name}: {count_noun(len(missing), 'specification column')} missing: {shown}{more}{hint}",
                field=missing[0].name if len(missing) == 1 else None,
                count=len(missing),
                fields=tuple(f.name for f in missing),
            )
        )
    return matched, duplicates


def merge_duplicate_columns(
    raw: RawTable, duplicates: dict[str, list[int]], spec: Spec, name: str, issues: list[FileIssue]
) -> dict[str, pa.Array]:
    """One column per duplicated field, from its copies compared row by row (vectorised).

    Copies equal on every row (after trimming spaces): the first, with a ``duplicate_columns``
    warning. Copies that differ only where one is blank: per row the first non-blank value, with
    a ``duplicate_columns`` warning saying so (a blank first copy must not blank the field). Two
    different non-blank values on any row: ``duplicate_columns_disagree``, naming the columns and
    example rows (which copy is right cannot be told); the first non-blank value is read, for the
    data quality report. Messages hold column numbers and rows, never a value.
    """
    merged: dict[str, pa.Array] = {}
    n_rows = len(raw.row_numbers)
    for field_name, indexes in duplicates.items():
        label = spec.by_name[field_name].label
        where = f"'{label}' appears in columns {', '.join(str(i + 1) for i in indexes)}"
        copies = []
        for index in indexes:
            column = raw.columns[index]
            text = column.plain() if isinstance(column, EncodedColumn) else column
            if isinstance(text, pa.ChunkedArray):
                text = text.combine_chunks()
            trimmed = pc.utf8_trim_whitespace(text)
            copies.append((text, trimmed, pc.equal(trimmed, "").to_numpy(zero_copy_only=False)))
        value, value_trimmed, value_blank = copies[0]
        disagree = np.zeros(n_rows, dtype=bool)
        blank_in_one = np.zeros(n_rows, dtype=bool)
        for text, trimmed, blank in copies[1:]:
            equal = pc.equal(value_trimmed, trimmed).to_numpy(zero_copy_only=False)
            disagree |= ~value_blank & ~blank & ~equal
            blank_in_one |= value_blank != blank
            fill = value_blank & ~blank
            if fill.any():
                mask = pa.array(fill)
                value = pc.if_else(mask, text, value)
                value_trimmed = pc.if_else(mask, trimmed, value_trimmed)
                value_blank = value_blank & ~fill
        merged[field_name] = value
        if disagree.any() or blank_in_one.any():
            rows = np.flatnonzero(disagree if disagree.any() else blank_in_one)
            shown = f"{count_noun(len(rows), 'row')} ({rows_text(rows, raw.row_numbers)})"
            examples = tuple(int(r) for r in raw.row_numbers[rows[:MAX_EXAMPLE_ROWS]])
        if disagree.any():
            issues.append(
                FileIssue(
                    "duplicate_columns_disagree",
                    f"{name}: {where} with different values on {shown}; which copy is right cannot be told: "
                    "send one column or copies that agree",
                    field=field_name,
                    count=len(rows),
                    rows=examples,
                )
            )
        elif blank_in_one.any():
            issues.append(
                FileIssue(
                    "duplicate_columns",
                    f"{name}: {where}; on {shown} one copy is blank where another has a value: the non-blank "
                    "value is used on every row",
                    field=field_name,
                    count=len(indexes),
                    rows=examples,
                )
            )
        else:
            issues.append(
                FileIssue(
                    "duplicate_columns",
                    f"{name}: {where} with the same values; the first (column {indexes[0] + 1}) is used",
                    field=field_name,
                    count=len(indexes),
                )
            )
    return merged

"""``cldstats compare``: which cells two releases differ in, and nothing else."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from cldstats import cli
from cldstats.publication.compare import TABLES, compare_releases

#: End-to-end runs of the real pipeline: `make test` runs them, `make test-fast` does not.
pytestmark = pytest.mark.slow


def test_a_release_is_identical_to_itself(small_reports, capsys):
    release = small_reports / "2024-03"
    assert cli.main(["compare", str(release), str(release)]) == 0
    out = capsys.readouterr().out
    assert "0 cells differ in 0 of 8 tables" in out


def test_one_changed_cell_and_one_missing_row_are_found(small_reports, tmp_path, capsys):
    old = small_reports / "2024-03"
    new = tmp_path / "new"
    for table in TABLES:
        (new / table).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(old / table, new / table)
    unrounded = pd.read_csv(new / "qa/long_term_support_unrounded.csv", dtype=str, keep_default_na=False)
    row = unrounded.index[(unrounded["area_level"] == "England") & (unrounded["breakdown"] == "All")][-1]
    before = unrounded.loc[row, "value"]
    unrounded.loc[row, "value"] = str(int(before) + 1)
    unrounded.drop(index=unrounded.index[-1]).to_csv(new / "qa/long_term_support_unrounded.csv", index=False)

    differences = {d.table: d for d in compare_releases(old, new)}
    changed = differences["qa/long_term_support_unrounded.csv"]
    assert len(changed.changed) == 1 and changed.only_old == 1 and changed.only_new == 0
    cell = changed.changed.iloc[0]
    assert (cell["area_level"], cell["column"], cell["old"], cell["new"]) == ("England", "value", before,
                                                                              str(int(before) + 1))
    assert all(d.identical for t, d in differences.items() if t != "qa/long_term_support_unrounded.csv")
    assert cli.main(["compare", str(old), str(new), "--csv", str(tmp_path / "cells.csv")]) == 1
    out = capsys.readouterr().out
    assert "1 cell differs in 1 of 8 tables" in out and f"{before} -> {int(before) + 1}" in out
    assert len(pd.read_csv(tmp_path / "cells.csv")) == 1

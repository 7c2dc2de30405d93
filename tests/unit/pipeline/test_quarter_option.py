"""``cldstats publish --quarter``: the quarter named by its last month, one line for anything else,
never together with ``--month``; the release folder and title named as DHSC names them."""

from __future__ import annotations

import pytest

from cldstats import cli
from cldstats.reference.calendar import folder_release, release_folder, release_title


@pytest.mark.parametrize(("quarter", "words"), [
    ("2026-04", "--quarter 2026-04 does not end a quarter: use its last month, 2026-03, -06, -09 or -12"),
    ("2025-11", "--quarter 2025-11 does not end a quarter"),
    ("2026-3", "--quarter '2026-3' is not a month: use the quarter's last month YYYY-MM"),
    ("March 2026", "is not a month"),
])
def test_a_quarter_not_named_by_its_last_month_is_one_line_naming_the_option(quarter, words, tmp_path, capsys):
    code = cli.main(["publish", "--quarter", quarter, "--data", str(tmp_path / "none"), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and words in err
    assert not any(tmp_path.iterdir())  # refused before anything was read or written


def test_month_and_quarter_are_mutually_exclusive(tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(["publish", "--month", "2026-03", "--quarter", "2026-03", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert raised.value.code == 2 and "not allowed with argument" in err and err.count("\n") == 1


def test_a_quarterly_release_needs_its_12_months(tmp_path, capsys):
    params = tmp_path / "six.yaml"
    params.write_text("release_month_ends: 6\n", encoding="utf-8")
    code = cli.main(["publish", "--quarter", "2026-03", "--params", str(params), "--data", str(tmp_path / "none"),
                     "--out", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 2 and "params key 'release_month_ends' is 6: leave it at 12 for a quarterly release" in err


@pytest.mark.parametrize(("month", "folder", "title"), [
    ("2026-03", "data-to-march-2026", "data to March 2026"),
    ("2025-09", "data-to-september-2025", "data to September 2025"),
    ("2025-12", "data-to-december-2025", "data to December 2025"),
])
def test_the_release_folder_and_title_are_dhscs_words_and_read_back(month, folder, title):
    assert release_folder(month, quarterly=True) == folder and release_title(month, quarterly=True) == title
    assert folder_release(folder) == (month, True) and folder_release(month) == (month, False)
    assert release_folder(month) == month != folder  # the monthly release's folder is another


@pytest.mark.parametrize("name", ["data-to-april-2026", "data-to-marc-2026", "data-to-march-26", "2026-3",
                                  "releases", "data-to-March-2026"])
def test_other_folder_names_are_no_release(name):
    assert folder_release(name) is None

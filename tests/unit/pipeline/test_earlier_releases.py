"""The earlier release the published cells are compared with."""

from cldstats.pipeline import earlier_releases


def test_previous_release_label(tmp_path):
    assert earlier_releases.previous_release_label(tmp_path, "2024-03") == ""
    (tmp_path / "2024-02" / "data").mkdir(parents=True)
    (tmp_path / "2024-02" / "data" / "long_term_support.csv").write_text("x\n", encoding="utf-8")
    (tmp_path / "2024-04" / "data").mkdir(parents=True)  # a later month is never compared with
    (tmp_path / "2024-04" / "data" / "long_term_support.csv").write_text("x\n", encoding="utf-8")
    assert earlier_releases.previous_release_label(tmp_path, "2024-03") == "2024-02 release"
    (tmp_path / "2024-03" / "data").mkdir(parents=True)
    (tmp_path / "2024-03" / "data" / "long_term_support.csv").write_text("x\n", encoding="utf-8")
    manifest = '{"may_differ": {"run_id": "20240601T090000Z"}}'
    (tmp_path / "2024-03" / "manifest.json").write_text(manifest, encoding="utf-8")
    assert earlier_releases.previous_release_label(tmp_path, "2024-03") == "2024-03 release of run 20240601T090000Z"


def _release(folder, name, run_id=None):
    (folder / name / "data").mkdir(parents=True)
    (folder / name / "data" / "long_term_support.csv").write_text("x\n", encoding="utf-8")
    if run_id:
        (folder / name / "manifest.json").write_text(f'{{"may_differ": {{"run_id": "{run_id}"}}}}', encoding="utf-8")


def test_a_quarterly_release_is_compared_with_the_latest_earlier_quarterly_release(tmp_path):
    for name in ("2025-12", "2026-02", "data-to-september-2025", "data-to-june-2026", "data-to-april-2026"):
        _release(tmp_path, name)  # months, a later quarter, a folder naming no quarter: never chosen
    _release(tmp_path, "data-to-december-2025", "20260411T090000Z")
    assert earlier_releases.previous_release_label(tmp_path, "2026-03", quarterly=True) == (
        "data to December 2025 release of run 20260411T090000Z")
    # A monthly release is never compared with a quarterly one.
    assert earlier_releases.previous_release_label(tmp_path, "2026-03") == "2026-02 release"
    _release(tmp_path, "data-to-march-2026")  # an earlier run of the same quarter comes first
    assert earlier_releases.previous_release_folder(tmp_path, "2026-03", quarterly=True).name == "data-to-march-2026"

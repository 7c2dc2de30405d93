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

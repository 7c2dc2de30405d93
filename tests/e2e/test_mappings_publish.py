"""End to end: ``cldstats publish`` with a hand-maintained value mapping (``mappings/``) records it
in the manifest, the notes sheet of both workbooks (cited by the breakdown tables), the QA listing and
the council pages; the published tables count the mapped cells."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cldstats import cli
from cldstats.tools import synth
from tests.helpers.stand_ins import tables_only

pytestmark = pytest.mark.slow

COUNCILS = ["E06000001", "E06000017"]
PLANTED = "Resi care"


def _plant(data: Path) -> int:
    planted = 0
    for path in sorted((data / "submissions").iterdir()):
        cells = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="cp1252")
        residential = cells["Service Type"].str.casefold() == "long term support: residential care"
        cells.loc[residential, "Service Type"] = PLANTED
        cells.to_csv(path, index=False, encoding="cp1252", lineterminator="\r\n")
        planted += int(residential.sum())
    return planted


def _params(tmp_path: Path, name: str, mappings: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f'selection:\n  mappings: "{mappings}"\noverride:\n  reason: "test run on 2 of 153 councils"\n',
                    encoding="utf-8")
    return path


def _publish(data: Path, out: Path, params: Path, workbooks: bool = True) -> Path:
    with tables_only(notebooks=() if workbooks else None, index=False):
        assert cli.main(["publish", "--month", "2026-03", "--params", str(params), "--data", str(data),
                         "--out", str(out)]) == 0
    return out / "2026-03"


def _residential(release: Path) -> int:
    lts = pd.read_csv(release / "qa" / "long_term_support_unrounded.csv")
    rows = lts[lts["area_code"].isin(COUNCILS) & lts["breakdown"].eq("All")
               & lts["support_setting"].eq("Residential care")]
    return int(rows["value"].sum())


def test_a_release_with_a_mapping_says_so_everywhere(tmp_path):
    data = tmp_path / "data"
    synth.generate(data, councils=COUNCILS, scale=0.05, faults=False, start="2025-04", end="2026-03", workers=1)
    assert _plant(data) > 0
    folder = tmp_path / "tables"
    folder.mkdir()
    (folder / "services.csv").write_text(
        "field,submitted_value,valid_value,reason\n"
        f"Service Type,{PLANTED},Long term support: Residential care,planted by the test\n", encoding="utf-8")

    mapped = _publish(data, tmp_path / "mapped", _params(tmp_path, "mapped", str(folder)))
    manifest = json.loads((mapped / "manifest.json").read_text(encoding="utf-8"))
    record = manifest["mappings"]
    assert record["values_mapped"] == 1 and record["fields_mapped"] == 1
    assert [f["file"] for f in record["files"]] == ["services.csv"]
    uses = pd.read_csv(mapped / "qa" / "mapped_values.csv")
    selected = pd.read_csv(mapped / "qa" / "submissions.csv").query("selected")["file"]
    assert record["uses"][0]["cells"] == int(uses[uses["file"].isin(selected)]["count"].sum()) > 0
    assert _residential(mapped) > 0
    for workbook in ("long_term_support", "assessments"):
        sheets = pd.read_excel(mapped / "spreadsheets" / f"{workbook}.xlsx", sheet_name=None, header=None)
        notes = sheets["Notes"].iloc[3:, :2].set_axis(["number", "text"], axis=1)
        (number,) = notes[notes["text"].str.contains("mapped by hand", na=False)]["number"].tolist()
        assert notes.set_index("number").loc[number, "text"].startswith(
            "1 submitted value in 1 field was mapped by hand to a valid value (tables/)")
        assert f"[note {number}]" in str(sheets["Table_1"].iloc[1, 0])  # cited by the breakdown tables
    page = (mapped / "qa" / "data_quality" / "E06000001.html").read_text(encoding="utf-8")
    assert "Code values mapped by hand in" in page

    # The same data without the table: nothing mapped, residential care not counted (tables only: the
    # notes without a mapping are tests/unit/pipeline/test_mappings_run.py's).
    plain = _publish(data, tmp_path / "plain", _params(tmp_path, "plain", ""), workbooks=False)
    manifest = json.loads((plain / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["mappings"]["values_mapped"] == 0 and manifest["mappings"]["files"] == []
    assert not (plain / "qa" / "mapped_values.csv").exists()
    assert _residential(plain) == 0

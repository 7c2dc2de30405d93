"""The hand-maintained value mappings (cldstats.reference.mappings): loading, the checks of a table
(one line naming file, row and field), the params key and the shipped template."""

from __future__ import annotations

from pathlib import Path

import pytest

from cldstats.reference.mappings import (
    MAPPING_COLUMNS,
    MappingError,
    MappingTables,
    load_mappings,
    mappings_folder,
    mappings_of_params,
)
from cldstats.reference.params import load_params
from cldstats.reference.vocabulary import load_vocabulary
from tests.helpers.paths import REPO

HEADER = ",".join(MAPPING_COLUMNS) + "\n"


def _folder(tmp_path: Path, **tables: str) -> Path:
    folder = tmp_path / "mappings"
    folder.mkdir()
    for name, body in tables.items():
        (folder / f"{name}.csv").write_text(body, encoding="utf-8")
    return folder


def test_a_table_is_read_with_comments_labels_and_loose_matching(tmp_path):
    folder = _folder(tmp_path, values=(
        "# a comment line\n" + HEADER
        + "Gender,Femail,Female,misspelling\n"
        + "\n"
        + '# Gender,Woman,Female,"a commented-out row"\n'
        + 'Event Outcome, Died ,NFA: Deceased,"a label, not the name"\n'
    ))
    tables = load_mappings(folder, named="mappings")
    assert [(m.field, m.submitted_value, m.valid_value, m.source) for m in tables.mappings] == [
        ("Gender", "Femail", "Female", "values.csv:3"),
        ("Event_Outcome", "Died", "NFA: Deceased", "values.csv:6"),
    ]
    canonical = load_vocabulary()["Event_Outcome"].canonical
    # matched as the vocabulary matches: spaces collapsed and trimmed, any case
    assert tables.for_field("Event_Outcome") == {"died": (canonical.index("NFA: Deceased"), "values.csv:6")}
    assert tables.for_field("Ethnicity") == {}
    record = tables.record()
    assert record["folder"] == "mappings" and [f["mappings"] for f in record["files"]] == [2]
    assert len(record["files"][0]["sha256"]) == 64 and record["digest"] == tables.digest != ""


def test_the_digest_follows_what_is_mapped_not_the_reasons():
    one = MappingTables.from_rows([("Gender", "Femail", "Female", "misspelling")])
    reworded = MappingTables.from_rows([("Gender", "Femail", "Female", "reviewed again in April")])
    other = MappingTables.from_rows([("Gender", "Femail", "Other", "misspelling")])
    assert one.digest == reworded.digest != other.digest
    assert MappingTables().digest == "" and not MappingTables()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("Gendr,Femail,Female,typo\n", "values.csv row 2: field 'Gendr' is not a field of the specification"),
        ("NHS Number,123,Female,typo\n", "values.csv row 2: field 'NHS Number' is not a code field"),
        ("Gender,Femail,Femle,typo\n",
         "values.csv row 2, field Gender: valid_value 'Femle' is not one of the field's values "
         "(did you mean 'Female'?)"),
        ("Gender, female ,Female,typo\n",
         "values.csv row 2, field Gender: submitted_value 'female' is already valid (read as 'Female')"),
        ("Client Type,Carer,Unpaid carer,Release 1\n",
         "values.csv row 2, field Client_Type: submitted_value 'Carer' is already valid (read as 'Unpaid carer')"),
        ("Gender,Femail,Female,typo\ngender,FEMAIL ,Male,typo\n",
         "values.csv row 3, field Gender: submitted_value 'FEMAIL' is already mapped at values.csv:2"),
        ("Gender,Femail,Female,\n", "values.csv row 2: reason is blank"),
        ("Gender,,Female,typo\n", "values.csv row 2: submitted_value is blank"),
        ("Gender,Femail,Female\n", "values.csv row 2: 3 cells, expected 4"),
    ],
)
def test_a_bad_row_is_one_line_naming_file_row_and_field(tmp_path, rows, message):
    folder = _folder(tmp_path, values=HEADER + rows)
    with pytest.raises(MappingError) as caught:
        load_mappings(folder)
    text = str(caught.value)
    assert "\n" not in text and text.startswith("mapping table ") and message in text, text


def test_a_value_mapped_in_two_files_is_refused(tmp_path):
    folder = _folder(tmp_path, a=HEADER + "Gender,Femail,Female,typo\n", b=HEADER + "Gender,femail,Male,typo\n")
    with pytest.raises(MappingError, match=r"b\.csv row 2, field Gender: submitted_value 'femail' is already "
                                            r"mapped at a\.csv:2"):
        load_mappings(folder)


def test_a_bad_header_or_a_missing_folder_is_refused(tmp_path):
    folder = _folder(tmp_path, values="field,value,valid_value,reason\nGender,Femail,Female,typo\n")
    with pytest.raises(MappingError, match=r"values\.csv row 1: the header must be field,submitted_value"):
        load_mappings(folder)
    with pytest.raises(MappingError, match="does not exist"):
        load_mappings(tmp_path / "nowhere")


def test_the_params_key_names_the_folder(tmp_path):
    params = load_params(params_dir=REPO / "params")
    assert params["selection"]["mappings"] == "mappings"
    # relative to the folder holding params/, as the params are
    assert mappings_folder(params) == (REPO / "mappings").resolve()
    assert mappings_folder({**params, "selection": {"mappings": ""}}) is None
    assert mappings_folder({"month": "2026-03"}) is None  # params of a branch without the key
    folder = _folder(tmp_path, values=HEADER + "Gender,Femail,Female,typo\n")
    tables = mappings_of_params({**params, "selection": {"mappings": str(folder)}})
    assert len(tables.mappings) == 1 and tables.folder == str(folder)


def test_the_shipped_folder_maps_nothing():
    """The default publication maps nothing by hand: the shipped template has no mapping, and
    loading it adds nothing to the store's context."""
    tables = mappings_of_params(load_params(params_dir=REPO / "params"))
    assert tables.mappings == () and tables.digest == ""
    assert [f["file"] for f in tables.files] == ["values.csv"]
    assert (REPO / "mappings" / "README.md").exists()

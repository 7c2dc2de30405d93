"""Values mapped by hand (``mappings/``) in ingest: read as their valid value after the release
mapping, with their own status, and listed (as safely shown) with the table row that mapped them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cldstats import ingest
from cldstats.ingest.pseudonymise import PseudonymKey
from cldstats.reference.mappings import MappingTables, ValueMapping
from cldstats.reference.params import load_params
from cldstats.reference.spec import ValueStatus
from tests.helpers.malformed_corpus import base_rows, csv_bytes, labels
from tests.helpers.paths import REPO

KEY = PseudonymKey(b"test key", "environment")
NAME = "E06000001_20240415T093000.csv"
PREFIX = load_params(params_dir=REPO / "params")["method"]["financial_assessment_prefix"]
V = ValueStatus
GENDERS = ["Femail", " FEMAIL ", "Femal", "Female", "=Femail", "F"]
TABLES = MappingTables.from_rows([
    ("Gender", "Femail", "Female", "misspelling"),
    ("Gender", "F", "Female", "initial"),
])


def _read(tmp_path, genders, mappings):
    template = base_rows(1)[0]
    path = tmp_path / NAME
    path.write_bytes(csv_bytes(labels(), [dict(template, Gender=g) for g in genders]))
    return ingest.read_submission(path, KEY, financial_assessment_prefix=PREFIX, mappings=mappings)


def test_a_mapped_value_reads_as_its_valid_value_and_without_the_table_is_invalid_again(tmp_path):
    mapped = _read(tmp_path, GENDERS, TABLES)
    assert mapped.status["Gender"].tolist() == [V.VALID_MAPPED, V.VALID_MAPPED, V.INVALID, V.VALID, V.FORMULA,
                                                V.VALID_MAPPED]
    assert mapped.records["Gender"].tolist()[:2] == ["Female", "Female"]
    assert pd.isna(mapped.records["Gender"][2]) and pd.isna(mapped.records["Gender"][4])
    assert V.VALID_MAPPED in V.usable()

    unmapped = _read(tmp_path, GENDERS, None)
    assert unmapped.status["Gender"].tolist() == [V.INVALID, V.INVALID, V.INVALID, V.VALID, V.FORMULA, V.INVALID]
    assert unmapped.records["Gender"].isna().tolist() == [True, True, True, False, True, True]
    # without a mapped value the frame keeps its three columns (pinned ingest digests stay)
    assert list(unmapped.invalid_values.columns) == ["row_number", "field", "value"]
    # an empty table is no table
    assert _read(tmp_path, GENDERS, MappingTables()).status["Gender"].tolist() == unmapped.status["Gender"].tolist()


def test_mapped_rows_are_listed_with_the_value_shown_only_when_it_cannot_be_personal(tmp_path):
    listed = _read(tmp_path, GENDERS, TABLES).invalid_values
    assert list(listed.columns) == ["row_number", "field", "value", "mapped_to", "mapping"]
    rows = [tuple(None if pd.isna(v) else v for v in row) for row in listed.itertuples(index=False, name=None)]
    assert rows == [
        # "Femail" is a word, not near enough a code to be shown as sent: its shape
        (2, "Gender", "(text, 6 letters)", "Female", "mappings.csv:2"),
        (3, "Gender", "(text, 6 letters)", "Female", "mappings.csv:2"),
        (4, "Gender", "Femal", None, None),  # left invalid: a near miss, shown as sent
        (7, "Gender", "F", "Female", "mappings.csv:3"),  # too short to be personal
    ]


def test_the_release_mapping_comes_first(tmp_path):
    """A value either release's list reads is never looked up in the tables, even in a table built
    without the load-time checks (which refuse such a row)."""
    position = list(TABLES.for_field("Gender").values())[0][0]
    unchecked = MappingTables(mappings=(ValueMapping("Gender", "Male", "Female", "wrong", position, "x.csv:2"),))
    read = _read(tmp_path, ["Male", "male"], unchecked)
    assert read.status["Gender"].tolist() == [V.VALID, V.VALID_LOOSE]
    assert read.records["Gender"].tolist() == ["Male", "Male"]
    assert np.all(read.status["Gender"].to_numpy() != V.VALID_MAPPED)


def test_a_mapped_assessment_type_is_tested_as_its_valid_value(tmp_path):
    """Measure 2 tests the submitted Assessment Type's beginning (the financial assessment prefix):
    a value mapped by hand is kept there as the value it is mapped to."""
    tables = MappingTables.from_rows([("Assessment Type", "Fin assess full", "Financial Assessment - Full", "abbr.")])
    template = base_rows(1)[0]
    path = tmp_path / NAME
    path.write_bytes(csv_bytes(labels(), [dict(template, **{"Assessment Type": "Fin assess full"})]))
    mapped = ingest.read_submission(path, KEY, financial_assessment_prefix=PREFIX, mappings=tables)
    assert mapped.status["Assessment_Type"].tolist() == [V.VALID_MAPPED]
    assert mapped.records["Assessment_Type_submitted"].tolist() == ["Financial Assessment - Full"]
    plain = ingest.read_submission(path, KEY, financial_assessment_prefix=PREFIX)
    assert plain.records["Assessment_Type_submitted"].tolist() == ["(text, 13 letters)"]

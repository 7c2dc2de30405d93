"""The QA report's submission selection table (report_qa.selection_summary): the selection options
and the hand-maintained value mappings of the manifest."""

from __future__ import annotations

import json

from cldstats.publication.report_qa import selection_summary
from cldstats.publication.report_release import Release

SELECTION = {"as_of": "2026-05-31", "reporting_period": "derived", "files_whose_derived_period_differs": 2,
             "excluded": [{"file": "E06000001_20260410T093000.csv", "reason": "a known bad file", "entry": "1"}],
             "included": []}
MAPPINGS = {"folder": "mappings", "files": [], "digest": "d",
            "uses": [{"mapping": "values.csv:2", "field": "Service_Type", "submitted_value": "Resi care",
                      "valid_value": "Long term support: Residential care", "cells": 1234, "submissions": 2}],
            "values_mapped": 1, "fields_mapped": 1}


def _release(tmp_path, manifest: dict) -> Release:
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return Release(tmp_path, "2026-03")


def test_the_selection_options_and_each_mapping_used_are_listed(tmp_path):
    table = selection_summary(_release(tmp_path, {"selection": SELECTION, "mappings": MAPPINGS}))
    values = dict(zip(table["Item"], table["Value"], strict=False))
    assert values["Excluded by hand (selection.exclude)"] == "E06000001_20260410T093000.csv: a known bad file"
    assert values["Files whose derived period differs from the stated one"] == "2"
    assert values["Value mapping tables (params selection.mappings)"] == "mappings"
    used = table.loc[table["Item"] == "Values mapped by hand (selection.mappings)", "Value"].tolist()
    assert used == ["values.csv:2: Service_Type -> 'Long term support: Residential care' in 1,234 cells of 2 "
                    "selected files"]
    assert "Resi care" not in table.to_string()  # the submitted value is not repeated in the report


def test_a_release_without_mappings_says_none_were_used(tmp_path):
    table = selection_summary(_release(tmp_path, {"selection": SELECTION,
                                                  "mappings": {**MAPPINGS, "uses": [], "values_mapped": 0}}))
    assert table.loc[table["Item"] == "Values mapped by hand (selection.mappings)", "Value"].tolist() == ["none"]

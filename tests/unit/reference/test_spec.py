"""The Release 1 spec as the package ships it: 50 fields, labels, kinds, code lists, conditions."""


import numpy as np
import pandas as pd
import pytest
import yaml

from cldstats.reference.lists import councils as reference_councils
from cldstats.reference.spec import ValueStatus, evaluate_condition, load_spec, normalise_label
from cldstats.reference.vocabulary import CONFIDENCES
from tests.helpers.paths import REPO

SHARED = REPO.parent / "shared" / "cld"


def test_fifty_fields_in_order_with_unique_names_and_labels():
    spec = load_spec()
    assert [f.order for f in spec.fields] == list(range(1, 51))
    assert len(set(spec.names)) == 50
    assert len(set(spec.labels)) == 50


@pytest.mark.parametrize(
    ("order", "name", "label"),
    [
        (1, "LA_Code", "LA Code"),
        (4, "NHS_Number", "NHS Number"),
        (12, "Date_of_Birth", "Date of Birth"),
        (20, "Autism_Spectrum_Disorder_ASD", "Autism Spectrum Disorder (ASD)"),
        (27, "Event_Start_Date", "Event Start Date"),
        (31, "Request_Route_of_Access", "Request: Route of Access"),
        (36, "No_of_adults_being_cared_for", "No. of adults being cared for"),
        (37, "Adult_1_Linked_Person_ID", "Adult 1 Linked Person_ID"),
        (49, "Cost_Frequency_Unit_Type", "Cost Frequency (Unit Type)"),
        (50, "Planned_units_per_week", "Planned units per week"),
    ],
)
def test_labels_written_down(order, name, label):
    field = load_spec().fields[order - 1]
    assert (field.name, field.label) == (name, label)


def test_every_code_field_has_a_list_and_a_status():
    for field in load_spec().of_kind("code"):
        assert field.code_list, field.name
        assert len(set(field.code_list)) == len(field.code_list), field.name
        assert field.code_list_status in CONFIDENCES, field.name


def test_code_lists_are_the_canonical_release2_lists_and_keep_their_status():
    spec = load_spec()
    # Release 2 lists not found: the Release 1 lists (or assumed ones) stand for both releases.
    assert spec.by_name["Method_of_Assessment"].code_list_status == "not_found"
    assert spec.by_name["Request_Route_of_Access"].code_list_status == "not_found"
    assessment = spec.by_name["Assessment_Type"]
    assert assessment.code_list_status == "confirmed_partial"
    assert assessment.code_list[:2] == ("Short term assessment", "Long term assessment")
    assert all(v.startswith("Financial Assessment") for v in assessment.code_list[2:])
    assert spec.by_name["Ethnicity"].code_list_status == "confirmed"
    assert spec.by_name["Ethnicity"].code_list[1] == "White: Irish"
    assert len(spec.by_name["Ethnicity"].code_list) == 21
    # 25 Release 2 values and the Release 1 value Release 2 split in two
    assert len(spec.by_name["Service_Component"].code_list) == 26
    client_types = ("Service user", "Unpaid carer", "Unpaid carer known by association")
    assert spec.by_name["Client_Type"].code_list == client_types


def test_the_two_columns_release2_removed_are_marked():
    removed = [f.name for f in load_spec().fields if f.release1_only_column]
    assert removed == ["GP_Practice_Name", "Provider_CQC_Location_Name"]


def test_personal_fields_never_kept():
    handling = {f.name: f.handling for f in load_spec().fields}
    for name in ("First_Name", "Last_Name", "Postcode", "GP_Practice_Name", "Event_Description"):
        assert handling[name] == "drop"
    assert handling["NHS_Number"] == "pseudonymise"
    assert handling["LA_Person_Unique_Identifier"] == "pseudonymise"
    assert handling["Date_of_Birth"] == "birth_month_year"


def test_loose_labels_match_case_spaces_and_underscores():
    spec = load_spec()
    assert spec.by_loose_label[normalise_label("event_start_date")].name == "Event_Start_Date"
    assert spec.by_loose_label[normalise_label("REQUEST:  ROUTE OF ACCESS")].name == "Request_Route_of_Access"
    assert spec.by_loose_label[normalise_label("Cost_Frequency_(Unit_Type)")].name == "Cost_Frequency_Unit_Type"
    assert normalise_label("Event-Start-Date") not in spec.by_loose_label


@pytest.mark.skipif(not SHARED.exists(), reason="the shared folder is not beside this checkout")
@pytest.mark.parametrize(
    "name",
    ["release1_spec.yaml", "release2_spec.yaml", "r1_to_r2_mapping.yaml", "regions.csv", "adass_regions.csv"],
)
def test_package_copies_match_the_shared_originals(name):
    # The package ships copies (it never reads ../shared at run time); drift would be silent.
    shipped = REPO / "cldstats" / "data" / name
    assert shipped.read_bytes() == (SHARED / name).read_bytes()


@pytest.mark.skipif(not SHARED.exists(), reason="the shared folder is not beside this checkout")
def test_package_copies_of_the_councils_and_populations_keep_one_source_per_population():
    """local_authorities.csv is the shared file without its two population columns, which equal the
    published populations (their one source now); published_populations.csv is the shared file's
    ``published`` rows, byte for byte."""
    data = REPO / "cldstats" / "data"
    shared = pd.read_csv(SHARED / "local_authorities.csv", dtype=str)
    shipped = pd.read_csv(data / "local_authorities.csv", dtype=str)
    pd.testing.assert_frame_equal(shipped, shared.drop(columns=["adults_18plus", "adults_65plus"]))
    councils = reference_councils().set_index("la_code")
    for column in ("adults_18plus", "adults_65plus"):
        assert councils[column].tolist() == shared.set_index("la_code")[column].astype(int).reindex(
            councils.index).tolist()
    lines = (SHARED / "published_populations.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    published = [lines[0]] + [line for line in lines[1:] if line.split(",")[-2] == "published"]
    assert (data / "published_populations.csv").read_text(encoding="utf-8") == "".join(published)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared folder is not beside this checkout")
def test_labels_equal_the_shared_spec():
    doc = yaml.safe_load((SHARED / "release1_spec.yaml").read_text(encoding="utf-8"))
    assert load_spec().labels == [f["spec_label"] for f in sorted(doc["fields"], key=lambda f: f["order"])]


FRAME = pd.DataFrame(
    {
        "Client_Type": ["Service user", "Unpaid carer", "Unpaid carer known by association", None, "Service user"],
        "Event_Type": ["Service", "Request", None, "Assessment", "Review"],
        "Assessment_Type": [None, None, None, "Financial Assessment - Full", None],
        "Primary_Support_Reason": ["Learning disability support"] * 5,
        "Date_of_Death": [pd.Timestamp("2024-01-01"), pd.NaT, pd.NaT, pd.NaT, pd.NaT],
        "Delivery_Mechanism": ["CASSR commissioned support", None, None, None, None],
        "Service_Type": ["Long term support: Community"] + [None] * 4,
        "Service_Component": ["Home support or domiciliary care"] + [None] * 4,
        "Review_Reason": [None, None, None, None, "Planned"],
    }
)
AGES = np.array([30, 70, np.nan, 64, 18])


@pytest.mark.parametrize(
    ("field", "applies", "mandatory"),
    [
        ("Primary_Support_Reason", [1, 1, 1, 1, 1], [1, 0, 1, 1, 1]),
        ("Event_Type", [1, 1, 0, 1, 1], [1, 1, 0, 1, 1]),
        ("Event_End_Date", [1, 1, 0, 1, 1], [1, 1, 0, 1, 1]),
        ("Event_Outcome", [1, 1, 0, 1, 1], [1, 1, 0, 0, 1]),
        ("Employment_Status", [1, 1, 1, 1, 1], [1, 0, 0, 0, 1]),
        ("Client_Funding_Status", [1, 0, 0, 0, 1], [1, 0, 0, 1, 1]),
        ("Total_Hrs_Caring_per_week", [0, 1, 1, 0, 0], [0, 0, 0, 0, 0]),
        ("Unit_Cost", [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]),
        ("Review_Outcomes_Achieved", [0, 0, 0, 0, 1], [1, 1, 1, 1, 1]),
    ],
)
def test_applicability_matrix(field, applies, mandatory):
    rule = load_spec().by_name[field]
    got_applies = evaluate_condition(rule.applies, FRAME, AGES)
    got_mandatory = evaluate_condition(rule.mandatory, FRAME, AGES)
    assert got_applies.astype(int).tolist() == applies
    # mandatory is only tested where the field applies; compare it there
    expected = [m & a for m, a in zip(mandatory, applies, strict=True)]
    assert (got_mandatory & got_applies).astype(int).tolist() == expected


def test_unknown_condition_is_an_error():
    with pytest.raises(ValueError):
        evaluate_condition({"field": "Event_Type", "between": [1, 2]}, FRAME)
    with pytest.raises(ValueError):
        evaluate_condition({"age_between": [18, 64]}, FRAME)


def test_value_status_codes_are_stable():
    # ingest stores these as int8 and quality reads them: the numbers are part of the contract
    assert [s.value for s in ValueStatus] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert ValueStatus.VALID_RELEASE1 == 7  # appended: stored statuses 0-6 keep their meaning

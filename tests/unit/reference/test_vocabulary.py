"""The code vocabulary: both releases' spellings in, one canonical value out."""

import pytest
import yaml

from cldstats.reference.spec import load_spec
from cldstats.reference.vocabulary import FieldVocabulary, Spelling, fold, load_vocabulary, unconfirmed_lists
from tests.helpers.paths import REPO

DATA = REPO / "cldstats" / "data"


def _spec_lists(name):
    """Code lists as the copied specification files give them (None where not found)."""
    out = {}
    for raw in yaml.safe_load((DATA / name).read_text(encoding="utf-8"))["fields"]:
        values = raw.get("permitted_values")
        if not isinstance(values, list) and isinstance(raw.get("permitted_values_confirmed"), list):
            values = raw["permitted_values_confirmed"] + list(raw.get("permitted_values_probable_additional", []))
        if isinstance(values, list):
            out[raw["name"]] = values
    return out


def test_every_code_field_has_a_vocabulary_and_nothing_else_does():
    assert sorted(load_vocabulary()) == sorted(f.name for f in load_spec().of_kind("code"))


@pytest.mark.parametrize("spec_file, spelling", [("release1_spec.yaml", Spelling.RELEASE1),
                                                 ("release2_spec.yaml", Spelling.RELEASE2)])
def test_every_value_either_specification_lists_is_matched(spec_file, spelling):
    vocabulary = load_vocabulary()
    unmatched = []
    for name, values in _spec_lists(spec_file).items():
        for value in values:
            hit = vocabulary[name].match(value)
            if hit is None:
                unmatched.append((name, value))
            elif spelling is Spelling.RELEASE2:
                # a Release 2 spelling is always read as itself, never as a Release 1 value
                assert hit[1] is Spelling.RELEASE2, (name, value)
                assert vocabulary[name].canonical[hit[0]] == value, (name, value)
    assert unmatched == []


def test_every_mapped_pair_reads_to_the_release2_value():
    mapping = yaml.safe_load((DATA / "r1_to_r2_mapping.yaml").read_text(encoding="utf-8"))["value_mappings"]
    vocabulary = load_vocabulary()
    checked = 0
    for name, pairs in mapping.items():
        pairs = pairs.get("pairs") if isinstance(pairs, dict) else pairs
        for pair in pairs or []:
            release1, release2 = pair.get("r1"), pair.get("r2")
            if not isinstance(release1, str) or not isinstance(release2, str) or release1 == release2:
                continue
            if release2 == "not_found" or release2.startswith(("Release 1 specification only", "value")):
                continue
            position, how = vocabulary[name].match(release1)
            expected = Spelling.RELEASE1_CASE if fold(release1) == fold(release2) else Spelling.RELEASE1
            assert (vocabulary[name].canonical[position], how) == (release2, expected), (name, release1)
            checked += 1
    assert checked >= 80  # the value pairs the mapping gives one-to-one (or merged)


def test_merges_and_release1_only_values():
    outcome = load_vocabulary()["Event_Outcome"]
    merged = "Progress to assessment, review or reassessment"
    for release1 in ("Progress to Assessment", "Progress to Re-assessment / Unplanned Review"):
        assert outcome.canonical[outcome.match(release1)[0]] == merged
    assert outcome.canonical[outcome.match("Provision of service")[0]] == "Continuation of support or services"
    # no Release 2 equivalent: a named value of its own, read as a Release 1 value, not invalid
    position, how = outcome.match("Progress to End of Life Care")
    assert (outcome.canonical[position], how) == ("Progress to End of Life Care", Spelling.RELEASE1)
    assert outcome.values[position].dhsc_group == "Release 1 specification only: Not mapped"


@pytest.mark.parametrize(
    "field, submitted, canonical, how",
    [
        ("Client_Type", "Service user", "Service user", Spelling.RELEASE2),
        ("Client_Type", "Service User", "Service user", Spelling.RELEASE1_CASE),  # R1 capitalisation only
        ("Client_Type", "SERVICE  USER", "Service user", Spelling.FOLDED),
        ("Client_Type", "carer", "Unpaid carer", Spelling.RELEASE1_FOLDED),
        ("Ethnicity", "White - Irish", "White: Irish", Spelling.RELEASE1),
        ("Ethnicity", "white: irish", "White: Irish", Spelling.FOLDED),
        ("Gender", "Female", "Female", Spelling.RELEASE2),  # the same in both releases
        ("Hearing_Impairment", "Hearing impairment - severity unknown", "Hearing impairment: Severity unknown",
         Spelling.FOLDED),  # a listed variant
    ],
)
def test_how_a_value_matched(field, submitted, canonical, how):
    vocabulary = load_vocabulary()[field]
    position, matched = vocabulary.match(submitted)
    assert (vocabulary.canonical[position], matched) == (canonical, how)


def test_two_canonical_values_sharing_a_folded_spelling_fail_at_load():
    from cldstats.reference.vocabulary import CodeValue

    def value(text, releases, release1=()):
        return CodeValue(text, frozenset(releases), tuple(release1), (), "unchanged", "confirmed")

    broken = FieldVocabulary("X", (value("Alpha", [2]), value("Beta", [2], ["ALPHA"])), "confirmed", "confirmed")
    with pytest.raises(ValueError, match="folds to the same key"):
        broken.folded  # noqa: B018


def test_fold():
    assert fold("  Long  term\tsupport ") == "long term support"


def test_unconfirmed_lists_name_what_the_workbook_must_settle():
    weak = unconfirmed_lists()
    # lists the public sources did not recover at all
    for name in ("Request_Route_of_Access", "Method_of_Assessment", "Total_Hrs_Caring_per_week",
                 "Review_Outcomes_Achieved", "Method_of_Review"):
        assert weak[name]["release2_list"] == ["not_found"], name
    assert "Event_Type" not in weak  # confirmed, unchanged
    assert "Fully client funded (inferred)" in weak["Client_Funding_Status"]["values"]

"""The malformed-file corpus: every file gives its clear message, and nothing crashes.

The files are generated into a temporary folder by ``tests/helpers/malformed_corpus.py`` (nothing binary is
committed). For each case: no exception, ``records`` exists exactly when the file is readable, the
expected check is reported with the file name and the row/field texts the case names, the typed
data came through where the case says so, and no personal value appears anywhere.
"""

from __future__ import annotations

import pytest

from cldstats.ingest.issues import CHECKS
from cldstats.ingest.pseudonymise import PseudonymKey
from cldstats.ingest.reader import read_submission
from cldstats.reference.params import load_params
from tests.helpers.malformed_corpus import PERSONAL_VALUES, build_corpus  # noqa: E402

KEY = PseudonymKey(b"corpus key", "environment")
PREFIX = load_params()["method"]["financial_assessment_prefix"]
N_CASES = 48


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return folder, build_corpus(folder)


def test_corpus_size(corpus):
    _, cases = corpus
    assert len(cases) == N_CASES >= 25
    assert len({c.file_name for c in cases}) == len(cases)


@pytest.mark.parametrize("index", range(N_CASES))
def test_corpus_case(corpus, index):
    folder, cases = corpus
    case = cases[index]
    submission = read_submission(folder / case.file_name, KEY, financial_assessment_prefix=PREFIX)  # must not raise
    described = f"{case.file_name} ({case.description}): {[i.message for i in submission.issues]}"
    assert submission.file_name == case.file_name
    assert (submission.records is not None) == case.readable, described
    assert all(issue.check in CHECKS for issue in submission.issues)
    assert all(case.file_name in issue.message for issue in submission.issues), described
    if case.check is not None:
        messages = [i.message for i in submission.issues if i.check == case.check]
        assert messages, described
        assert any(all(part in m for part in case.message_parts) for m in messages), described
    if not case.readable:
        assert submission.rows_read == 0 and submission.status is None
    else:
        assert len(submission.records) == submission.rows_read == len(submission.status)
    if case.verify is not None:
        assert case.verify(submission), described
    text = repr(submission.issues) + submission.invalid_values.to_csv()
    if submission.records is not None:
        text += submission.records.to_csv()
    leaked = [value for value in PERSONAL_VALUES if value in text]
    assert not leaked, f"{described}: personal values {leaked}"

"""Reading one submission: formats, headers, values against the spec, pseudonymisation of identifiers at the door.

The package's API, from the modules that own it: :mod:`cldstats.ingest.reader` (the entry point,
:func:`read_submission`, and its :class:`Submission`), :mod:`cldstats.ingest.files` (file names,
the submissions folder, the file digest, the synthetic-data marker) and :mod:`cldstats.ingest.issues`
(the check names and :class:`FileIssue`). The other modules are the steps of reading a file (see
the module docstring of :mod:`cldstats.ingest.reader`); :mod:`cldstats.ingest.pseudonymise` is used
as ``ingest.pseudonymise``.
"""

from cldstats.ingest import pseudonymise  # noqa: F401  (``ingest.pseudonymise.load_key``)
from cldstats.ingest.files import (
    SUBMISSION_SUFFIXES,
    SYNTHETIC_MARKER,
    FolderEntry,
    is_synthetic,
    list_folder,
    list_submissions,
    parse_file_name,
    sha256_of_file,
)
from cldstats.ingest.issues import CHECKS, FileIssue
from cldstats.ingest.reader import Submission, read_submission

__all__ = [
    "CHECKS",
    "sha256_of_file",
    "FileIssue",
    "FolderEntry",
    "SUBMISSION_SUFFIXES",
    "SYNTHETIC_MARKER",
    "Submission",
    "is_synthetic",
    "list_folder",
    "list_submissions",
    "parse_file_name",
    "read_submission",
]

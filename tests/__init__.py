"""The test suite: unit tests per package, end-to-end runs, repository checks, helpers."""

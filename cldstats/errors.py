"""Errors a user can act on: the command line prints them as one line and exits non-zero."""


class CldstatsError(Exception):
    """A failure with a one-line reason for the person running cldstats (bad input, bad params,
    a gate stop). Anything else is a bug and keeps its traceback."""

    exit_code = 2


class GateStop(CldstatsError):
    """The publication-level quality gate stopped the run (METHODOLOGY.md section 6)."""

    exit_code = 3

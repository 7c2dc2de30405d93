"""Errors a user can act on: the command line prints them as one line and exits non-zero.

Exit codes of ``cldstats`` (the full table is in :mod:`cldstats.cli`): 0 done; 1 internal error (a
bug: one line, the traceback with ``--debug``); 2 bad input, bad params or a file system error;
3 publication gate stop; 4 another run holds the month's lock (:class:`cldstats.runlock.RunLocked`);
130 interrupted.
"""


class CldstatsError(Exception):
    """A failure with a one-line reason for the person running cldstats (bad input, bad params,
    a gate stop). The reason names the file, folder or option at fault. Anything else is a bug:
    the command line reports it as an internal error, with the traceback under ``--debug``."""

    exit_code = 2


class GateStop(CldstatsError):
    """The publication-level quality gate stopped the run (METHODOLOGY.md section 6)."""

    exit_code = 3

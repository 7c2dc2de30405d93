"""The ``cldstats`` command line (DESIGN.md, command-line contract).

Each subcommand parses its options here and hands them to the stage module that does the work, so
the command line holds no logic of its own.

Every failure ends with exactly one line on stderr, ``cldstats <command>: <reason>``, and no
traceback unless ``--debug`` is given (then the traceback comes first, the line last):

=======================================  =========  ==================================================
failure                                  exit code  the line
=======================================  =========  ==================================================
bad option or argument                   2          argparse's message and ``(see cldstats … --help)``
bad input, bad params (CldstatsError)    2          the error's own reason (it names the file/option;
                                                    for a params value, the key and the file)
publication gate stop (GateStop)         3          the gate's reason and where the QA outputs are
another run holds the month's lock       4          (publish) the holder
interrupted (Ctrl-C)                     130        ``interrupted``
file system error (OSError)              2          the system's reason and the path being written,
                                                    e.g. a full disk (also when a library wrapped the
                                                    OSError, as xlsxwriter does)
anything else (a bug)                    1          ``internal error: <type> at <file:line> …; run
                                                    again with --debug for the traceback``
=======================================  =========  ==================================================

An unexpected error's own message is not printed: it could quote a value read from a submission.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from cldstats import __version__
from cldstats.core.errors import CldstatsError, os_error_in, path_of
from cldstats.pipeline import publish, store, validation
from cldstats.publication import compare
from cldstats.reference.calendar import MONTH_PATTERN, check_quarter
from cldstats.tools import bench, synth

__all__ = ["COMMANDS", "build_parser", "main"]

#: Each subcommand's entry point: the stage or tool that runs it, given the parsed arguments.
#: (Great Expectations, the slowest import, is imported only when a check runs.)
COMMANDS = {
    "synth": synth.run_cli,
    "validate": validation.run_cli,
    "publish": publish.run_cli,
    "compare": compare.run_cli,
    "store": store.run_cli,
    "bench": bench.run_cli,
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other failure of the command."""

    def error(self, message: str):  # argparse calls this for a bad option or argument
        self.exit(2, f"{self.prog}: {_one_line(message)} (see {self.prog} --help)\n")


def _councils(value: str) -> int | list[str]:
    """``--councils``: a number of councils, or a comma-separated list of GSS codes."""
    value = value.strip()
    if value.isdigit():
        number = int(value)
        if not 1 <= number <= 153:
            raise argparse.ArgumentTypeError("--councils takes a number from 1 to 153 or GSS codes")
        return number
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    if not codes:
        raise argparse.ArgumentTypeError("--councils takes a number or a comma-separated list of GSS codes")
    return codes


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = _Parser(
        prog="cldstats",
        description="Monthly official statistics from Adult Social Care Client Level Data (CLD).",
    )
    parser.add_argument("--version", action="version", version=f"cldstats {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", required=True)

    synth = sub.add_parser("synth", help="write realistic synthetic CLD submissions")
    synth.add_argument("--out", type=Path, required=True, help="folder to write (submissions/ and synthetic.json)")
    synth.add_argument("--scale", type=_positive_float, default=0.02, help="share of national volume (default 0.02)")
    synth.add_argument("--seed", type=int, default=2023, help="random seed (default 2023)")
    synth.add_argument("--start", default="2023-04", help="first month covered, YYYY-MM (default 2023-04)")
    synth.add_argument("--end", default="2026-03",
                       help="last month covered, YYYY-MM (default 2026-03: files submitted from October 2025 are "
                            "Release 2)")
    synth.add_argument("--councils", type=_councils, default=None, help="a number of councils or GSS codes")
    synth.add_argument("--compress", action="store_true", help="write .csv.gz")
    synth.add_argument("--no-faults", action="store_true", help="inject no data quality faults")
    synth.add_argument("--extract", nargs="?", const="parquet", choices=("parquet", "csv"), default=None,
                       help="also write the data as NHS England's pseudonymised national table, "
                            "OUT/national_extract.parquet (or .csv)")

    validate = sub.add_parser("validate", help="data quality reports without publishing")
    validate.add_argument("--data", type=Path, default=Path("data"), help="data folder (default data/)")
    validate.add_argument("--out", type=Path, default=None, help="output folder (default reports/validation)")
    validate.add_argument("--month", default=None, help="reference month for submission selection, YYYY-MM")
    validate.add_argument("--params", type=Path, default=None, help="params file merged over the defaults")
    validate.add_argument("--store", type=Path, default=None, help="submission store (default DATA/store)")
    validate.add_argument("--extract", type=Path, nargs="+", default=None, metavar="FILE",
                          help="read NHS England's pseudonymised national table (CSV or Parquet) instead of --data "
                               "(store default: beside the first file)")

    publish = sub.add_parser("publish", help="publish one reference month, or one quarter as DHSC does")
    when = publish.add_mutually_exclusive_group()
    when.add_argument("--month", default="2026-03", help="reference month YYYY-MM (default 2026-03)")
    when.add_argument("--quarter", default=None,
                      help="a quarterly release named by its last month YYYY-MM (03, 06, 09 or 12), as DHSC's "
                           "'data to March 2026': 12 months ending there, in reports/data-to-march-2026/")
    publish.add_argument("--params", type=Path, default=None, help="params file (default params/<month>.yaml)")
    publish.add_argument("--data", type=Path, default=Path("data"), help="data folder (default data/)")
    publish.add_argument("--out", type=Path, default=Path("reports"), help="reports folder (default reports/)")
    publish.add_argument("--store", type=Path, default=None, help="submission store (default DATA/store)")
    publish.add_argument("--extract", type=Path, nargs="+", default=None, metavar="FILE",
                         help="publish from NHS England's pseudonymised national table (CSV or Parquet) instead of "
                              "--data (store default: beside the first file)")

    compare = sub.add_parser("compare", help="compare two releases cell by cell (exit 1 when they differ)")
    compare.add_argument("old", type=Path, help="the earlier release folder (reports/<month> or releases/<run id>)")
    compare.add_argument("new", type=Path, help="the release folder to compare with it")
    compare.add_argument("--show", type=int, default=10, help="differing cells printed per table (default 10)")
    compare.add_argument("--csv", type=Path, default=None, help="write every differing cell to this CSV file")

    store = sub.add_parser("store", help="list and check the submission store")
    store.add_argument("--data", type=Path, default=Path("data"), help="data folder (default data/)")
    store.add_argument("--store", type=Path, default=None, help="submission store (default DATA/store)")
    store.add_argument("--verify", action="store_true",
                       help="also re-hash each stored file's submission (a changed file is reported)")

    bench = sub.add_parser("bench", help="national-scale benchmark, figures to bench/results.json")
    bench.add_argument("--scale", type=_positive_float, default=1.0, help="share of national volume (default 1.0)")
    bench.add_argument("--out", type=Path, default=Path("bench"), help="folder for data and results (default bench/)")
    bench.add_argument("--seed", type=int, default=2023, help="random seed (default 2023)")
    return parser


def _check_options(args: argparse.Namespace) -> None:
    """Refuse a malformed ``--month`` or ``--quarter`` before any work, naming the option."""
    month = getattr(args, "month", None)
    if args.command in ("publish", "validate") and month is not None:
        if not MONTH_PATTERN.match(month):
            raise CldstatsError(f"--month {month!r} is not a month: use YYYY-MM, e.g. 2024-03")
    quarter = getattr(args, "quarter", None)
    if args.command == "publish" and quarter is not None:
        check_quarter(quarter)


def _run(args: argparse.Namespace) -> int:
    _check_options(args)
    return COMMANDS[args.command](args)


def _one_line(message: str) -> str:
    """``message`` on one line (a reason with a line break would break the one-line contract)."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def _os_error(exc: OSError) -> str:
    """One line for a file system error: the system's reason and the path."""
    reason = exc.strerror or _one_line(str(exc)) or type(exc).__name__
    path = path_of(exc)
    return f"{reason}: {path}" if path else f"{reason} ({type(exc).__name__}, no file named)"


def _internal_error(exc: BaseException) -> str:
    """Where a bug surfaced: the exception type and the innermost cldstats frame, not the message."""
    package = Path(__file__).resolve().parent
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(package)] or frames
    if not ours:
        return f"internal error: {type(exc).__name__}"
    frame = ours[-1]
    path = Path(frame.filename).resolve()
    short = path.relative_to(package.parent).as_posix() if path.is_relative_to(package) else path.name
    return f"internal error: {type(exc).__name__} at {short}:{frame.lineno} ({frame.name})"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code (see the module docstring)."""
    args = build_parser().parse_args(argv)
    command = f"cldstats {args.command}"

    def fail(message: str, exit_code: int) -> int:
        if args.debug:
            traceback.print_exc()
        print(f"{command}: {_one_line(message)}", file=sys.stderr, flush=True)
        return exit_code

    try:
        return _run(args)
    except CldstatsError as exc:
        return fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except Exception as exc:
        # A file system error, or one a library wrapped in its own exception (xlsxwriter).
        if (os_error := os_error_in(exc)) is not None:
            return fail(_os_error(os_error), 2)
        hint = "; the traceback is above" if args.debug else "; run again with --debug for the traceback"
        return fail(_internal_error(exc) + hint, 1)

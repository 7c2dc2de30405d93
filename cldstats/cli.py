"""The ``cldstats`` command line (DESIGN.md, command-line contract).

Each subcommand parses its options here and hands them to the stage module that does the work, so
the command line holds no logic of its own. Errors the user can act on print one line and exit
non-zero; ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from cldstats import __version__
from cldstats.errors import CldstatsError

__all__ = ["build_parser", "main"]


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
    parser = argparse.ArgumentParser(
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
    synth.add_argument("--end", default="2024-03", help="last month covered, YYYY-MM (default 2024-03)")
    synth.add_argument("--councils", type=_councils, default=None, help="a number of councils or GSS codes")
    synth.add_argument("--compress", action="store_true", help="write .csv.gz")
    synth.add_argument("--no-faults", action="store_true", help="inject no data quality faults")

    validate = sub.add_parser("validate", help="data quality reports without publishing")
    validate.add_argument("--data", type=Path, default=Path("data"), help="data folder (default data/)")
    validate.add_argument("--out", type=Path, default=None, help="output folder (default reports/validation)")
    validate.add_argument("--month", default=None, help="reference month for submission selection, YYYY-MM")
    validate.add_argument("--params", type=Path, default=None, help="params file merged over the defaults")

    publish = sub.add_parser("publish", help="publish one reference month")
    publish.add_argument("--month", default="2024-03", help="reference month YYYY-MM (default 2024-03)")
    publish.add_argument("--params", type=Path, default=None, help="params file (default params/<month>.yaml)")
    publish.add_argument("--data", type=Path, default=Path("data"), help="data folder (default data/)")
    publish.add_argument("--out", type=Path, default=Path("reports"), help="reports folder (default reports/)")

    bench = sub.add_parser("bench", help="national-scale benchmark, figures to bench/results.json")
    bench.add_argument("--scale", type=_positive_float, default=1.0, help="share of national volume (default 1.0)")
    bench.add_argument("--out", type=Path, default=Path("bench"), help="folder for data and results (default bench/)")
    bench.add_argument("--seed", type=int, default=2023, help="random seed (default 2023)")
    return parser


def _run(args: argparse.Namespace) -> int:
    # Stage modules are imported only when their command runs: great_expectations alone takes
    # seconds to import, and `cldstats synth` does not need it.
    if args.command == "synth":
        from cldstats import synth

        return synth.run_cli(args)
    if args.command == "validate":
        from cldstats import quality

        return quality.run_cli(args)
    if args.command == "publish":
        from cldstats import publish

        return publish.run_cli(args)
    if args.command == "bench":
        from cldstats import bench

        return bench.run_cli(args)
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except CldstatsError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"cldstats {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"cldstats {args.command}: interrupted", file=sys.stderr)
        return 130

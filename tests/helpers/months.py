"""The params and month ends of a test's reference month, resolved as a run resolves them."""

from __future__ import annotations

import datetime as dt

from cldstats.reference.calendar import release_month_ends
from cldstats.reference.params import load_params
from tests.helpers.paths import REPO


def month_params(month: str, today: dt.date) -> dict:
    """The repository's params for ``month``, as a run on ``today`` resolves them."""
    return load_params(month, params_dir=REPO / "params", today=today)


def month_ends_of(params: dict) -> list:
    """The month ends a release of ``params`` publishes."""
    return release_month_ends(params["month"], int(params["release_month_ends"]), params["collection_start"])

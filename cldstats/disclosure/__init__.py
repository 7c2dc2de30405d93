"""Disclosure control of the published counts: rounding, suppression and the consistency of the published tables."""

from cldstats.disclosure.control import *  # noqa: F401,F403  (the package's API; see control.__all__)
from cldstats.disclosure.control import __all__  # noqa: F401

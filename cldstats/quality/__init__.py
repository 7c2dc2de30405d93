"""Data quality of one submission: the Great Expectations suites, their pandas mirror, statuses, the
publication gate and the council data quality pages.
"""

from cldstats.quality.checks import *  # noqa: F401,F403  (the package's API; see checks.__all__)
from cldstats.quality.checks import __all__  # noqa: F401

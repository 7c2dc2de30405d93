"""What a run is measured against: the CLD spec, the fixed lists (councils, regions, settings, age
bands, ethnicity), the params and their rules, and the words and symbols of every published
statement.
"""

from cldstats.reference.lists import *  # noqa: F401,F403  (the package's API; see lists.__all__)
from cldstats.reference.lists import __all__  # noqa: F401

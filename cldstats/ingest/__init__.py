"""Reading one submission: formats, headers, values against the spec, pseudonymisation of identifiers at the door."""

from cldstats.ingest.reader import *  # noqa: F401,F403  (the package's API; see reader.__all__)
from cldstats.ingest.reader import __all__  # noqa: F401

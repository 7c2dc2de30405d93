"""``python -m cldstats.quality --write-suites DIR`` (``make expectations``): regenerate the generated suite."""

import sys

from cldstats.quality.suites import main

sys.exit(main())

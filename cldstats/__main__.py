"""``python -m cldstats``: the same as the ``cldstats`` command."""

from cldstats.cli import main

raise SystemExit(main())

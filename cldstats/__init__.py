"""cldstats: monthly official statistics from Adult Social Care Client Level Data (CLD).

The package holds every step of the pipeline, one module per stage (see ``docs/architecture.md``);
the notebooks in ``notebooks/`` only call it.
"""

__version__ = "0.1.0"

"""The method: submission selection, derived fields and both measures, as SQL run on DuckDB.

The SQL files in ``sql/`` are the implementation of docs/methodology.md sections 2 to 5, one file
per step (:data:`cldstats.measures.engine.STEPS`); :mod:`cldstats.measures.engine` binds the
reference data and parameters they read and runs them over the stored submissions;
:mod:`cldstats.measures.areas` adds regions, England and rates to the council tables.
"""

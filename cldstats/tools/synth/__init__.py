"""Realistic synthetic national CLD submissions (``cldstats synth``).

The generator works in two steps per council:

1. **Simulate a world once.** People (stable NHS number, LA person ID, names, birth date, gender,
   ethnicity, postcode...) and their events with *true* start and end dates: long-term support
   spells drawn from a stationary stock-flow model (exponential durations by setting, a stock at
   the start drawn from the same law, so month-end counts are stable), the request -> assessment ->
   (ST-Max) -> long-term service chains of new clients, reviews and reassessments, setting changes,
   deaths, short-term support, people who only ask for advice, carers and carers known by
   association. Every event also has a *recording lag*: the days after the event before the council
   records it.
2. **Render each submission as a view of that world**: the events visible in the file's reporting
   period as known at its submission time (a service still running at the period end is open;
   requests, assessments and reviews appear once completed inside the period; a death appears once
   recorded). A resubmission a few weeks later therefore knows a few more events: realistic
   revisions. Data quality faults are injected at this step only, and every faulty cell is listed
   in ``faults.csv.gz``.

Everything is vectorised with numpy; CSV text is built column-wise with pyarrow compute (each
column a dictionary of strings plus an index per row), then transcoded to Windows-1252 in bulk.

Outputs in ``DIR``:

* ``submissions/<GSS code>_<YYYYMMDDTHHMMSS>.csv`` (or ``.csv.gz``): dates ``dd/mm/yyyy``,
  Windows-1252; a Release 1 file has the 50 Release 1 labels as header and Release 1 spellings, a
  Release 2 file (submitted from October 2025, earlier for a few early adopters) Release 2
  spellings and the 48 labels without ``GP Practice Name`` and ``Provider CQC Location Name``, with
  the exceptions councils make (:mod:`~cldstats.tools.synth.releases`): some keep sending Release 1
  values, some Release 2 files keep the two removed columns. The canonical values, and so every
  published figure, are the same whichever release a file follows;
* ``synthetic.json``: seed, scale, period, councils, the file plan (with each file's release and
  whether it kept the removed columns), the release cohorts and the switch date, and the faults
  injected; it marks the folder as synthetic (docs/methodology.md section 1);
* with ``--extract``, ``national_extract.parquet`` (or ``.csv``): every file stacked as NHS
  England's pseudonymised national table (:mod:`~cldstats.tools.synth.extract`);
* ``faults.csv.gz``: ``file,row_number,field,kind`` for every injected fault cell (``row_number`` is
  the spreadsheet row, header = 1; blank for file-level faults).

The package: :mod:`~cldstats.tools.synth.plan` (councils and the file plan),
:mod:`~cldstats.tools.synth.simulate` and :mod:`~cldstats.tools.synth.clients` (the world of one
council, from the building blocks in :mod:`~cldstats.tools.synth.world`,
:mod:`~cldstats.tools.synth.identities` and :mod:`~cldstats.tools.synth.codes`),
:mod:`~cldstats.tools.synth.releases` (which release each file follows),
:mod:`~cldstats.tools.synth.render` and :mod:`~cldstats.tools.synth.faults` (one submission),
:mod:`~cldstats.tools.synth.generator` (``generate``, ``cldstats synth``); the calendar is the
pipeline's (:mod:`~cldstats.tools.synth.dates`) and every distribution is read from
``cldstats/data/synth_distributions.yaml`` (:mod:`~cldstats.tools.synth.distributions`).

Determinism: council ``i`` (its position in the full, GSS-sorted list of 153) draws everything from
``numpy.random.default_rng([seed, i, stream])``, so a ``--councils`` subset reproduces the same bytes
for those councils, and the output does not depend on the number of worker processes.
"""

from cldstats.tools.synth.distributions import FAULT_RATES
from cldstats.tools.synth.extract import write_extract
from cldstats.tools.synth.generator import generate, run_cli
from cldstats.tools.synth.plan import council_order, plan_submissions

__all__ = ["FAULT_RATES", "council_order", "generate", "plan_submissions", "run_cli", "write_extract"]

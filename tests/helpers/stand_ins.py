"""Stand-ins for the stages after the tables, for tests that need only a release's tables.

The stages after the tables (workbooks, charts, notebooks, HTML) do not change ``data/*.csv``,
``qa/`` or the manifest's inputs, and cost most of a publication. Inside :func:`tables_only`, a
``publish.publish_month`` called in this process skips them; stages the run would hand to its
second process (:mod:`cldstats.pipeline.background`) run in this process instead, since a stand-in defined
here cannot be sent to another process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

from cldstats.pipeline import background, release
from cldstats.publication import charts, render, tables


@contextmanager
def tables_only(*, notebooks: Sequence[str] | None = None, index: bool = True) -> Iterator[None]:
    """Publish without workbooks, charts, notebooks and HTML inside the block.

    Parameters
    ----------
    notebooks : sequence of str, optional
        Run these notebooks (and the workbooks, charts and HTML) instead of skipping them all.
    index : bool
        Write the reports folder's ``index.html`` (False: skip it too).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(release, "Background", functools.partial(background.Background, enabled=False))
        if notebooks is not None:
            patch.setattr(render, "NOTEBOOKS", tuple(notebooks))
        else:
            patch.setattr(tables, "write_workbooks", lambda *args, **kwargs: [])
            patch.setattr(tables, "write_accessible_spreadsheets", lambda *args, **kwargs: [])
            patch.setattr(tables, "write_dhsc_workbooks", lambda *args, **kwargs: [])
            patch.setattr(charts, "make_charts", lambda *args, **kwargs: [])
            patch.setattr(render, "run_notebooks", lambda *args, **kwargs: [])
            patch.setattr(render, "render_html", lambda *args, **kwargs: "none (tables only, in a test)")
        if not index:
            patch.setattr(render, "write_index", lambda *args, **kwargs: None)
        yield

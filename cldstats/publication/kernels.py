"""The notebook kernels of :func:`cldstats.publication.render.run_notebooks`: each notebook executed
by papermill in a worker thread of its own with a kernel manager it owns (:class:`NotebookRun`,
:func:`execute_runs`). A kernel is shut down gracefully when its notebook is done; on Ctrl-C every
running kernel is killed at once and waited for before the interrupt goes on, with further Ctrl-Cs
held meanwhile (:func:`cldstats.core.errors.interrupts_held`).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import nbformat

from cldstats.core.errors import CldstatsError, interrupts_held, naming_path


def _fix_injected_cell_id(path: Path) -> None:
    # papermill gives its injected-parameters cell a random id, which nbconvert writes into the
    # HTML (id="cell-id=..."): a fixed id keeps two executions' HTML identical.
    nb = nbformat.read(path, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    if injected and any(c.get("id") != "injected-parameters" for c in injected):
        for number, cell in enumerate(injected):
            cell["id"] = "injected-parameters" + (f"-{number}" if number else "")
        nbformat.write(nb, path)


class NotebookRun:
    """One notebook of :func:`run_notebooks`, executed in a worker thread: its kernel manager, the
    thread's event loop (where an interrupt is raised), whether papermill is executing it, and how
    it ended (``error`` None: executed)."""

    def __init__(self, name: str, source: Path, target: Path, parameters: dict):
        self.name, self.source, self.target, self.parameters = name, source, target, parameters
        self.loop = None
        self.executing = False
        self.error: BaseException | None = None


def _interrupt_if_executing(run: NotebookRun) -> None:
    # Called in the worker's own event loop (call_soon_threadsafe), so ``executing`` cannot change
    # under it: a KeyboardInterrupt raised by a loop callback leaves run_until_complete, exactly as
    # a Ctrl-C does in a single-threaded run; outside papermill (stopping the kernel) it does nothing.
    if run.executing:
        raise KeyboardInterrupt


def _execute_in_thread(run: NotebookRun, settings: dict, slots, stopping) -> None:
    """Execute ``run``'s notebook in this (worker) thread with a kernel of its own; the outcome goes
    to ``run.error``. The kernel is stopped before the thread ends, killed at once when interrupted."""
    # imported when notebooks run: papermill and the Jupyter machinery are slow to import, and most commands run none.
    import papermill
    from jupyter_core.utils import ensure_event_loop
    from papermill.exceptions import PapermillExecutionError

    run.loop = ensure_event_loop()  # the loop papermill (nbclient's run_sync) runs in this thread
    with slots:
        if stopping.is_set():
            run.error = KeyboardInterrupt()
            return
        run.target.parent.mkdir(parents=True, exist_ok=True)
        kernel = _kernel_manager(settings["kernel_name"])
        interrupted = False
        try:
            run.executing = True
            with naming_path(run.target):
                # The kernel's working directory through nbclient's resources, not papermill's
                # ``cwd``: that one changes the whole process's directory, which threads share.
                papermill.execute_notebook(
                    str(run.source), str(run.target), parameters=run.parameters,
                    kernel_name=settings["kernel_name"], resources={"metadata": {"path": str(settings["cwd"])}},
                    execution_timeout=settings["timeout"], progress_bar=settings["progress"],
                    request_save_on_cell_execute=False, log_output=False, km=kernel,
                )
        except PapermillExecutionError as exc:
            run.error = CldstatsError(
                f"notebook {run.name} failed in cell {exc.cell_index} ({exc.ename}: {exc.evalue}); "
                f"the partly executed notebook is {run.target}"
            )
        except OSError as exc:
            run.error = exc  # a file system error: the command line names its path
        except Exception as exc:  # kernel missing or dead, timeout: all mean the notebook did not run
            run.error = CldstatsError(f"notebook {run.name} did not run: {type(exc).__name__}: {exc}")
        except BaseException as exc:
            interrupted = True  # interrupted (run_notebooks' thread had Ctrl-C): the work is abandoned
            run.error = exc
        finally:
            run.executing = False
            _stop_kernel(kernel, now=interrupted)
        if run.error is None:
            try:
                with naming_path(run.target):
                    _fix_injected_cell_id(run.target)
            except Exception as exc:
                run.error = exc


def _kernel_manager(kernel_name: str):
    """A kernel manager that run_notebooks owns, and that remembers the clients made for it.

    papermill (nbclient) stops a kernel it started itself gracefully, even when interrupted: it
    asks the busy kernel to shut down, and the kernel, closing its sockets under a running cell,
    prints a traceback on our stderr (or, once publish has removed the build folder it runs in,
    one about its deleted working directory). Owning the manager lets :func:`_stop_kernel` end the
    kernel on our terms, before anything else happens to its folder.
    """
    # imported when notebooks run: papermill and the Jupyter machinery are slow to import, and most commands run none.
    from jupyter_client.manager import AsyncKernelManager

    class _OwnedKernelManager(AsyncKernelManager):
        def client(self, **kwargs):
            made = super().client(**kwargs)
            self.made_clients.append(made)
            return made

    # The kernel talks to us over Unix sockets in a folder only this user can open, not over
    # unencrypted TCP on localhost (which any local process could connect to, and which makes the
    # kernel print a warning on the run's stderr): notebook outputs are derived from personal data.
    sockets = Path(tempfile.mkdtemp(prefix="cldstats-kernel-"))
    manager = _OwnedKernelManager(kernel_name=kernel_name, transport="ipc", ip=str(sockets / "kernel"))
    manager.made_clients = []
    manager.sockets_folder = sockets
    return manager


def _stop_kernel(kernel, *, now: bool) -> None:
    """Stop ``kernel`` (killed at once when ``now``: interrupted), wait until its process has ended,
    close its clients' channels and settle what the interrupted execution left in the event loop.

    SIGINT is held meanwhile: a second Ctrl-C must not leave a kernel behind; it is delivered (as
    KeyboardInterrupt) once the kernel is gone.
    """
    # imported when notebooks run: papermill and the Jupyter machinery are slow to import, and most commands run none.
    import asyncio

    from jupyter_core.utils import ensure_event_loop

    async def stop() -> None:
        if kernel.has_kernel:
            await kernel.shutdown_kernel(now=now)  # waits for the process to end (kills it if needed)
        for client in kernel.made_clients:
            client.stop_channels()
        shutil.rmtree(kernel.sockets_folder, ignore_errors=True)

    with interrupts_held():
        loop = ensure_event_loop()
        loop.run_until_complete(stop())
        # An interrupt leaves nbclient's cell execution pending in the loop; cancel it and collect
        # its end, or asyncio prints "Task exception was never retrieved" when it is collected.
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def execute_runs(runs: list[NotebookRun], settings: dict, parallel: int) -> None:
    """Execute every notebook of ``runs``, at most ``parallel`` at once, each in a worker thread with a
    kernel of its own; each outcome goes to its run's ``error``.

    Parameters
    ----------
    runs : list of NotebookRun
        The notebooks, their executed copies and parameters.
    settings : dict
        ``kernel_name``, ``cwd`` (the kernels' working directory), ``timeout`` (seconds per cell) and
        ``progress`` (papermill's progress bar).
    parallel : int
        Notebooks executed at once.

    Raises
    ------
    KeyboardInterrupt
        Ctrl-C (or SystemExit): raised once every running kernel has been killed and its process
        has ended.
    """
    slots = threading.BoundedSemaphore(parallel)
    stopping = threading.Event()
    threads = [threading.Thread(target=_execute_in_thread, args=(run, settings, slots, stopping),
                                name=f"notebook {run.name}", daemon=True) for run in runs]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.1)  # a short wait: Ctrl-C reaches this (main) thread at once
    except BaseException:
        # Ctrl-C (or SystemExit) in this thread: each worker is interrupted inside its own event
        # loop, as Ctrl-C interrupts a single run, kills its kernel and waits for it; this thread
        # waits for all of them, holding further Ctrl-Cs, before the interrupt goes on.
        with interrupts_held():
            stopping.set()
            while any(thread.is_alive() for thread in threads):
                for run in runs:
                    if run.loop is not None:
                        run.loop.call_soon_threadsafe(_interrupt_if_executing, run)
                for thread in threads:
                    thread.join(0.2)
        raise

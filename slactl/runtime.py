"""What slactl changes about the Python process it runs in, in one place.

A few settings make a large month markedly faster but act on the whole process
rather than on one call, so a reader of the code that uses them would not guess
them.  They live here, each applied once by whoever owns the process: the
``slactl`` entry point (:mod:`slactl.cli.main`, when a command has loaded its
config), the notebook API (:func:`slactl.open`) and the benchmark's ingest
child, so that figures and timings do not depend on how slactl was started.

- **Read size** (:func:`setup`, :func:`read_size`): httpcore reads a response
  64 KiB at a time, and each read costs some 30 us of Python; a month of a few
  thousand series is gigabytes, so tens of thousands of reads.  A 1 MiB read
  returns whatever the socket holds (a few hundred KiB on loopback), it never
  waits for more.  Its only knob is a class attribute; if httpcore drops it, a
  warning says so.
- **Collector freeze** (:func:`setup`): the modules and the config live as
  long as the command, so the cyclic collector need not walk them again at each
  full collection (a report of 700 services made about ten, each walking them
  all).  Not done by the notebook API, whose objects come and go as long as the
  notebook runs.
- **Parallel figures** (:func:`map_halves`, :func:`beside`): a report of a few
  hundred services spends a second or two reducing each service's minutes on
  one core while the other is idle, so half of the list (and the HTML page) is
  computed by a forked worker of :class:`concurrent.futures.ProcessPoolExecutor`.
  Forking is only safe with no other thread running (a lock held by a thread at
  the fork stays locked in the child for good), so the scheduler, which runs its
  jobs on threads, computes on one core.  ``SLACTL_PARALLEL=0`` turns it off.
  Every fall-back to one core is logged (logger ``slactl``) with the reason.
- **Fast exit** (:func:`leave`): interpreter teardown after a report (clearing
  hundreds of modules, a last collection over everything alive) takes 0.1-0.3 s
  of a warm report's 1-3 s, so the exit handlers run, the output is flushed and
  the process ends at once.  Not when a profiler, tracer or coverage watches the
  process (they write their results at teardown) or a thread is still running.
"""

from __future__ import annotations

import atexit
import gc
import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, NoReturn, TypeVar

from slactl.errors import SlactlError

T = TypeVar("T")
U = TypeVar("U")

log = logging.getLogger("slactl")

READ_BYTES = 1 << 20  # httpcore's read size, instead of its 64 KiB
MIN_ITEMS = 200  # below this many services a second process costs more than it saves
PARALLEL_ENV = "SLACTL_PARALLEL"  # "0": compute every figure in this process

_applied: set[str] = set()


# ---------------------------------------------------------------- start-up settings


def setup(*, freeze: bool = True) -> None:
    """Apply the start-up settings, each once: the config is loaded and the work is about to start.

    Not earlier: importing httpcore would cost ``slactl --version`` and ``--help``
    a tenth of a second.  The read size comes first, so that httpcore's modules
    are frozen with the rest.  ``freeze=False`` leaves the collector alone.
    """
    if "read size" not in _applied:
        _applied.add("read size")
        read_size()
    if freeze and "freeze" not in _applied:
        _applied.add("freeze")
        gc.freeze()


def read_size() -> bool:
    """Make httpcore read responses :data:`READ_BYTES` at a time; False (and a warning) if it cannot."""
    import httpcore

    cls = httpcore.AsyncHTTP11Connection
    current = getattr(cls, "READ_NUM_BYTES", None)
    if not isinstance(current, int):
        log.warning(
            "httpcore %s has no AsyncHTTP11Connection.READ_NUM_BYTES: responses are read "
            "at its default size, so pulls take more CPU",
            getattr(httpcore, "__version__", "?"),
        )
        return False
    if current < READ_BYTES:
        cls.READ_NUM_BYTES = READ_BYTES
    return True


# ---------------------------------------------------------------- parallel figures


def _why_alone(items: int) -> str | None:
    """Why work of ``items`` items is not shared with a second process here and now; None if it is.

    An empty reason means a list too small to be worth it, which is not worth a log line either.
    """
    if items < MIN_ITEMS:
        return ""
    if os.environ.get(PARALLEL_ENV, "").strip() == "0":
        return f"{PARALLEL_ENV}=0"
    if "fork" not in multiprocessing.get_all_start_methods():
        return "this platform cannot fork"
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if cpus < 2:
        return "one CPU available"
    threads = threading.active_count()
    if threads > 1:
        return f"{threads - 1} other thread(s) running, so forking is unsafe"
    return None


def can_share(items: int) -> bool:
    """Whether work of ``items`` items would be shared with a forked worker here and now."""
    return _why_alone(items) is None


# The worker's task, inherited through the fork: closures need not be picklable.
_task: Callable[[], Any] | None = None


def _worker_start(task: Callable[[], Any], in_child: Callable[[], None] | None) -> None:
    global _task
    _task = task
    if in_child is not None:
        in_child()


def _worker_run() -> Any:
    assert _task is not None, "the worker was started without its task"
    return _task()


def beside(
    there: Callable[[], T], here: Callable[[], U], *, items: int, in_child: Callable[[], None] | None = None
) -> tuple[T, U]:
    """``(there(), here())``, ``there`` computed meanwhile by a forked worker when work of ``items`` items is worth it.

    ``in_child`` runs first in the worker: e.g. to drop database connections
    inherited from this process, which must not be used by two processes.  A
    slactl error raised by ``there`` in the worker is raised here, same type and
    message.  Any other failure of the worker is logged and ``there`` is
    computed here after all.
    """
    why = _why_alone(items)
    if why is not None:
        if why:
            log.info("computing on one core: %s", why)
        return there(), here()
    pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_worker_start,
        initargs=(there, in_child),
    )
    with pool:  # leaving waits for the worker, so no thread or process outlives the call
        future = pool.submit(_worker_run)
        mine = here()
        try:
            theirs: T = future.result()
        except SlactlError:
            raise
        except Exception as exc:  # noqa: BLE001  (a dead worker, a bug, an unpicklable result)
            log.warning("the forked worker failed (%s: %s); computing its share here", type(exc).__name__, exc)
            theirs = there()
    return theirs, mine


def map_halves(fn: Callable[[str], T], names: Sequence[str], *, in_child: Callable[[], None] | None = None) -> list[T]:
    """``[fn(n) for n in names]``, the second half computed by a forked worker when worth it (see :func:`beside`)."""
    half = len(names) // 2
    second, first = beside(
        lambda: [fn(n) for n in names[half:]],
        lambda: [fn(n) for n in names[:half]],
        items=len(names),
        in_child=in_child,
    )
    return first + second


# ---------------------------------------------------------------- leaving


def _watched() -> str | None:
    """What would lose its results (or be left waiting) if the process ended without teardown."""
    if sys.getprofile() is not None:
        return "a profiler"
    if sys.gettrace() is not None:
        return "a tracer"
    monitoring = getattr(sys, "monitoring", None)  # Python 3.12+: cProfile and coverage may use it
    if monitoring is not None and any(monitoring.get_tool(tool) for tool in range(6)):
        return "a sys.monitoring tool"
    if "coverage" in sys.modules:
        return "coverage"
    if threading.active_count() > 1:
        return "a thread still running"
    return None


def leave(code: int) -> NoReturn:
    """End the process with ``code``: exit handlers and flushed output, without teardown when nothing watches."""
    if _watched() is not None:
        sys.exit(code)
    atexit._run_exitfuncs()  # what interpreter exit would run: logging.shutdown, finalizers
    _flush()
    os._exit(code)


def abandon(code: int) -> NoReturn:
    """End the process now, even with threads still running (a normal exit would wait for them)."""
    logging.shutdown()
    _flush()
    os._exit(code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (slactl ... | head): nothing more to say
            pass

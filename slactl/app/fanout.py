"""Computing many services' figures on two cores: half in a forked child, half here.

A report of a few hundred services spends a second or two reading each
service's minutes back and reducing them, on one core, while the other is
idle (the source is done by then).  Each service is independent, so the
second half of the list is computed by a child forked for the purpose, which
sends its results back pickled through a pipe.  Results are the same either
way (the same functions on the same stored minutes), and in the same order.

Forking is only safe in a process with no other thread (a thread holding a
lock at the fork would leave the child's copy of it locked for good), so the
scheduler, which runs jobs on threads, computes sequentially; so does a small
list, and any platform without ``fork``.  A child that fails in any way
other than a slactl error has its half computed again here.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from slactl.errors import SlactlError

T = TypeVar("T")
U = TypeVar("U")
MIN_ITEMS = 200  # below this a fork costs more than it saves


def can_fork(items: int = MIN_ITEMS) -> bool:
    """Whether work of ``items`` items would be shared with a forked child here and now."""
    return (
        items >= MIN_ITEMS
        and hasattr(os, "fork")
        and (os.cpu_count() or 1) >= 2
        and threading.active_count() == 1
    )


def beside(there: Callable[[], T], here: Callable[[], U], *, in_child: Callable[[], None] | None = None) -> tuple[T, U]:
    """``(there(), here())``, ``there`` computed by a forked child meanwhile (the caller checks :func:`can_fork`).

    ``in_child`` runs first in the child: e.g. to drop database connections
    inherited from this process, which must not be used by two processes.
    A slactl error in the child is raised here; any other failure of the
    child has ``there`` computed here after all.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, and leave without cleanup
        code = 0
        try:
            os.close(read_fd)
            if in_child is not None:
                in_child()
            try:
                payload: tuple[str, object] = ("ok", there())
            except SlactlError as exc:
                payload = ("error", exc)
            with os.fdopen(write_fd, "wb") as out:
                pickle.dump(payload, out, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # noqa: BLE001  (anything else: the parent computes it itself)
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        mine = here()
    finally:
        with os.fdopen(read_fd, "rb") as src:
            data = src.read()
        _, status = os.waitpid(pid, 0)
    try:
        kind, value = pickle.loads(data) if status == 0 and data else ("lost", None)  # noqa: S301  (our child's)
    except Exception:  # noqa: BLE001  (an error that does not unpickle: it is raised again below)
        kind, value = "lost", None
    if kind == "error":
        raise value  # type: ignore[misc]
    return (value if kind == "ok" else there()), mine  # type: ignore[return-value]


def map_halves(fn: Callable[[str], T], names: Sequence[str], *, in_child: Callable[[], None] | None = None) -> list[T]:
    """``[fn(n) for n in names]``, the second half computed in a forked child when safe."""
    if not can_fork(len(names)):
        return [fn(n) for n in names]
    half = len(names) // 2
    second, first = beside(lambda: [fn(n) for n in names[half:]], lambda: [fn(n) for n in names[:half]], in_child=in_child)
    return first + second

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
MIN_ITEMS = 200  # below this a fork costs more than it saves


def can_fork(items: int) -> bool:
    """Whether :func:`map_halves` would fork for ``items`` items here and now."""
    return (
        items >= MIN_ITEMS
        and hasattr(os, "fork")
        and (os.cpu_count() or 1) >= 2
        and threading.active_count() == 1
    )


def map_halves(fn: Callable[[str], T], names: Sequence[str], *, in_child: Callable[[], None] | None = None) -> list[T]:
    """``[fn(n) for n in names]``, the second half computed in a forked child when safe.

    ``in_child`` runs first in the child: e.g. to drop database connections
    inherited from this process, which must not be used by two processes.
    """
    if not can_fork(len(names)):
        return [fn(n) for n in names]
    half = len(names) // 2
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute the second half, send it, and leave without cleanup
        code = 0
        try:
            os.close(read_fd)
            if in_child is not None:
                in_child()
            try:
                payload: tuple[str, object] = ("ok", [fn(n) for n in names[half:]])
            except SlactlError as exc:
                payload = ("error", exc)
            with os.fdopen(write_fd, "wb") as out:
                pickle.dump(payload, out, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # noqa: BLE001  (anything else: the parent computes this half itself)
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        first = [fn(n) for n in names[:half]]
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
    if kind == "ok":
        return first + value  # type: ignore[operator]
    return first + [fn(n) for n in names[half:]]

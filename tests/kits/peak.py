"""A child process's own peak resident memory, measured from outside.

``wait4``'s ``ru_maxrss`` is not the child's own figure when the parent is large: Linux
keeps, across ``exec``, the high-water mark of the memory the child had before it, and a
child forked (or vforked) from a pytest worker that has grown to 600 MB starts with the
worker's. So the child's own ``VmHWM`` (its address space's high-water mark, reset by
``exec``) is read from ``/proc`` while it runs, and ``ru_maxrss`` is trusted only when it
exceeds the parent's own high-water mark (then it can only be the child's).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any


def _hwm_kib(pid: int | str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def wait_with_peak(pid: int, *, limit: float, poll: float = 0.02) -> tuple[int, int, bool]:
    """Wait for child ``pid`` (SIGKILL after ``limit`` s): its wait status, its peak RSS in bytes, killed or not."""
    parent_kib = _hwm_kib("self")
    start = time.monotonic()
    seen_kib = 0
    killed = False
    usage: Any
    while True:
        seen_kib = max(seen_kib, _hwm_kib(pid))
        got, status, usage = os.wait4(pid, os.WNOHANG)
        if got:
            break
        if not killed and time.monotonic() - start > limit:
            os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(poll)
    own_kib = usage.ru_maxrss if usage.ru_maxrss > parent_kib else seen_kib
    return status, own_kib * 1024, killed

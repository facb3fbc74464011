"""A month's artefacts are replaced as a set or not at all.

A real limit on file size (``RLIMIT_FSIZE``, the kernel's answer when a disk or quota
runs out) makes the largest file of the set fail to write.  The old set must stay
exactly as it was, with no temp file beside it, and the command must say so in one
line with exit 1.
"""

from __future__ import annotations

import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

MONTH = "2026-01"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    subprocess.run(
        [sys.executable, "-m", "slactl", "demo", "--out", str(out), "--month", MONTH, "--seed", "7"],
        check=True, capture_output=True, timeout=300,
    )
    return out


def _limited(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _run(demo: Path, args: list[str], limit: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slactl", "--config", str(demo / "slactl.yaml"), *args],
        capture_output=True, text=True, timeout=300,
        preexec_fn=_limited(limit) if limit else None,
    )


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("command", "largest"),
    [(["credits"], ".pdf"), (["report", "monthly"], ".html")],
)
def test_a_failed_write_leaves_the_old_set_whole(demo, tmp_path, command, largest):
    out = tmp_path / "out"
    first = _run(demo, [*command, "--month", MONTH, "--out", str(out)])
    assert first.returncode == 0, first.stderr
    fresh = _snapshot(out)
    sizes = sorted(len(b) for name, b in fresh.items() if name.endswith(largest))
    smaller = [len(b) for name, b in fresh.items() if not name.endswith(largest)]
    limit = max(smaller) + 1
    assert sizes and sizes[-1] > limit, "the test needs one file larger than the rest"

    # The old set, marked so any replacement shows.
    for name in fresh:
        (out / name).write_bytes(b"old " + name.encode())
    old = _snapshot(out)

    # The SQLite store runs in WAL mode, whose 32 KiB shared-memory index is made
    # when the first connection opens it: hold one open (as a running scheduler
    # would) so the limit falls on the artefacts, not on the store.
    holder = sqlite3.connect(demo / "slactl.db")
    try:
        holder.execute("SELECT count(*) FROM slactl_service").fetchone()
        failed = _run(demo, [*command, "--month", MONTH, "--out", str(out)], limit=limit)
    finally:
        holder.close()
    assert failed.returncode == 1, failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write" in lines[0], failed.stderr
    assert "Traceback" not in failed.stderr
    assert _snapshot(out) == old  # nothing replaced, no temp file left

    again = _run(demo, [*command, "--month", MONTH, "--out", str(out)])
    assert again.returncode == 0, again.stderr
    assert _snapshot(out) == fresh

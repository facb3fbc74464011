"""The terminal's progress bar for ingests; silent where nobody watches.

A cold month can take a while to pull.  On a terminal (stderr is a TTY) a bar
counts the service-minutes pulled; in cron, CI or a pipe nothing is drawn, so
logs hold only the result lines.  The bar is transient: once done it is erased
and the command's own output follows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slactl.app.ingest import Progress


class TerminalProgress:
    """A :class:`slactl.app.ingest.Progress` drawn with rich."""

    def __init__(self, stream: IO[str] | None = None, *, force: bool = False) -> None:
        from rich.console import Console  # typer's own dependency: only loaded when drawing

        self._console = Console(file=stream or sys.stderr, force_terminal=force or None)
        self._bar: Any = None
        self._task: Any = None

    def begin(self, minutes: int) -> None:
        if minutes <= 0:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn("pulling {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("minutes"),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("from the sources", total=minutes)

    def advance(self, service: str, minutes: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=minutes, description=service)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def watching(stream: IO[str] | None = None) -> bool:
    """Someone is looking at a terminal (not cron, CI, a pipe or a dumb terminal)."""
    s = stream or sys.stderr
    return bool(getattr(s, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


@contextmanager
def ingest_progress() -> Iterator[None]:
    """Draw a bar for the ingests of the block when on a terminal; otherwise do nothing."""
    from slactl.app.ingest import reporting

    bar: Progress | None = TerminalProgress() if watching() else None
    try:
        with reporting(bar):
            yield
    finally:
        if isinstance(bar, TerminalProgress):
            bar.end()

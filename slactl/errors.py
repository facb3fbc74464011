"""The one exception tree of slactl.

Adapters convert vendor errors at their boundary (``raise SourceError(...) from
exc``) so the rest of the code, and the CLI root that turns errors into exit
codes, only ever sees these::

    SlactlError                      exit 1 unless stated
    ├── ConfigError                  exit 2: bad config file, key path in message
    ├── UsageError                   exit 2: bad command-line arguments
    ├── SourceError                  a source could not answer (network, 4xx, 5xx)
    │   └── QueryError               the source refused a query (4xx): no retry helps
    ├── StoreError                   the store could not be read or written
    ├── DataError                    data needed for a figure is missing or unusable
    └── PublishError                 an artefact could not be written or uploaded
"""

from __future__ import annotations


class SlactlError(Exception):
    """Base of every error slactl reports to the user."""

    exit_code = 1


class ConfigError(SlactlError):
    """The configuration is invalid; the message names file, key path and problem."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None):
        self.path = path
        self.key = key
        parts = [p for p in (path, key) if p]
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class UsageError(SlactlError):
    """A command was called with arguments that cannot work."""

    exit_code = 2


class SourceError(SlactlError):
    """A metrics source failed to answer (unreachable, timed out, 5xx after retries)."""


class QueryError(SourceError):
    """A metrics source rejected a query outright (4xx); retrying cannot help."""


class StoreError(SlactlError):
    """The per-minute store could not be opened, read or written."""


class DataError(SlactlError):
    """The data a figure needs is missing or inconsistent."""


class PublishError(SlactlError):
    """An artefact could not be written or uploaded."""

"""Metrics sources: a Protocol (``base.Source``) and the built-in adapters.

Importing this package registers every built-in source type.
"""

from slactl.sources import prometheus  # noqa: F401

try:
    from slactl.sources import sample  # noqa: F401
except ImportError:  # pragma: no cover
    pass

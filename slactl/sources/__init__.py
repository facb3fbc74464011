"""Metrics sources: a Protocol (``base.Source``) and the built-in adapters.

Importing this package registers every built-in source type.
"""

from slactl.sources import cloudwatch, prometheus, sample  # noqa: F401

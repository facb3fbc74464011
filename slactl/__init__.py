"""slactl: prove every month what you promised your customers.

Pulls per-minute SLI data from Prometheus-API servers (and other sources) into a
store, computes uptime, incidents, MTTR, error ratio and latency percentiles
against SLA tiers, and renders the reports.

``slactl.open("slactl.yaml")`` gives the same figures to a notebook; it is
imported on first call so ``import slactl`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slactl.api import Slactl

__version__ = "0.1.0"


def open(path: Any = None, now: Any = None) -> Slactl:  # noqa: A001 - the name users expect
    """A config and its store, with ``.figures(m)``, ``.minutes(m)``, ``.incidents(m)``, ``.credits(m)``."""
    from slactl.api import open_config

    return open_config(path, now)

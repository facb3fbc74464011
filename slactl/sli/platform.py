"""The platform's minute: every service's minute combined by the customer rule.

A customer sees an outage when any of its services is down; the platform is the
customer who uses everything, so its minute is ``excluded`` if any service is
excluded, else ``down`` if any is down, else ``up`` if any is up, else
``no_data``.  Credits use the same rule over a customer's services.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from slactl.model import DOWN, EXCLUDED, NO_DATA, UP


def composite_states(per_service: Sequence[np.ndarray]) -> np.ndarray:
    """Combined minute states of several services (each after its ``no_data`` policy).

    Assigning from the weakest to the strongest state gives the precedence in
    four vectorised passes.
    """
    if not per_service:
        raise ValueError("combining minute states needs at least one service's states")
    stacked = np.stack([np.asarray(s) for s in per_service])
    if stacked.ndim != 2:
        raise ValueError(f"expected 1-D state arrays, got shape {stacked.shape[1:]}")
    out = np.full(stacked.shape[1], NO_DATA, dtype=np.int8)
    out[(stacked == UP).any(axis=0)] = UP
    out[(stacked == DOWN).any(axis=0)] = DOWN
    out[(stacked == EXCLUDED).any(axis=0)] = EXCLUDED
    return out


def platform_merge_gap(gaps: Sequence[int]) -> int:
    """The platform's ``incident_merge_gap_minutes``: the smallest of its services' (0 if none)."""
    return min(gaps, default=0)

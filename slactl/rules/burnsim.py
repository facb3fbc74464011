"""When a burn-rate alert fires, simulated once for everything that needs to know.

Two readers ask the same question of minute states: the promtool unit tests
generated for ``burn_on: minutes`` (what must fire at which minute) and
``alerts backtest`` (when would the alerts have paged last month).  Both go
through these functions, so the tests that promtool checks against the real
rules also vouch for the backtest.  Pure numpy: no clock, no I/O.

The model is Prometheus' own: at the end of each minute an alert's condition
holds when the down share over both its windows exceeds its threshold; a run of
true steps starting at ``a`` is pending, and fires from step ``a + for`` on.
"""

from __future__ import annotations

import numpy as np

from slactl.model import DOWN, UP


def down_shares(states: np.ndarray, window_minutes: int) -> np.ndarray:
    """Per minute ``m``: the share of down minutes among minutes ``m−w+1 .. m`` with a state.

    What ``avg_over_time`` of the minute-state recording rule gives at the end of
    minute ``m``: up is 0, down is 1, every other minute (no data left out by the
    policy, maintenance) has no state.  NaN where the window holds no state.
    """
    down = (states == DOWN).astype(np.int64)
    has = ((states == DOWN) | (states == UP)).astype(np.int64)
    cd, ch = np.concatenate(([0], np.cumsum(down))), np.concatenate(([0], np.cumsum(has)))
    m = np.arange(len(states))
    first = np.maximum(m - window_minutes + 1, 0)
    n = ch[m + 1] - ch[first]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (cd[m + 1] - cd[first]) / np.maximum(n, 1), np.nan)


def condition(states: np.ndarray, long: int, short: int, threshold: float) -> np.ndarray:
    """Per minute: both windows' down shares (in minutes) exceed ``threshold`` (an empty window never does)."""
    with np.errstate(invalid="ignore"):
        return (down_shares(states, long) > threshold) & (down_shares(states, short) > threshold)


def firing(cond: np.ndarray, hold_minutes: int) -> np.ndarray:
    """Per step: the alert fires, its condition having held for at least ``hold_minutes`` steps."""
    cond = np.asarray(cond, dtype=bool)
    steps = np.arange(len(cond))
    run_start = np.maximum.accumulate(np.where(cond, -1, steps)) + 1
    return cond & (steps - run_start >= hold_minutes)

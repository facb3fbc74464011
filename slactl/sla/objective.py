"""Which uptime objective a service is held to, decided in one place.

The burn-rate alerts, the backtest and the monthly report all need a service's
objective and, for the report, *why* it is that number.  The rule lives here
so they cannot drift apart: the objective set for the service if any, else
the highest uptime target among the tiers of the customers using it, else
:data:`DEFAULT_OBJECTIVE`.  Pure: callers pass what the configuration says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

DEFAULT_OBJECTIVE = 99.9  # percent, for a service no customer uses and none was set for

ObjectiveSource = Literal["service", "tier", "default"]


@dataclass(frozen=True)
class Objective:
    """A service's objective and where it comes from."""

    target: float  # percent
    source: ObjectiveSource  # set for the service, a customer tier's, or the default
    tier: str | None = None  # the tier it comes from (source "tier")
    customers: tuple[str, ...] = ()  # the customers of that tier using the service, by key, sorted


def objective(service_objective: float | None, customer_tiers: Iterable[tuple[str, str, float]]) -> Objective:
    """The objective from the service's own setting and its customers' ``(customer, tier, uptime_target)``.

    Among tiers with the same highest target, the one whose name sorts last is
    named (a stable choice, whatever order the customers were listed in).
    """
    if service_objective is not None:
        return Objective(service_objective, "service")
    users = sorted((target, tier, customer) for customer, tier, target in customer_tiers)
    if not users:
        return Objective(DEFAULT_OBJECTIVE, "default")
    target, tier, _ = users[-1]
    return Objective(target, "tier", tier, tuple(sorted(c for t, tr, c in users if tr == tier)))

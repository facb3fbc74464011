"""One line that says how a run went, printed last by ``report`` and ``credits``.

A cron mail or a CI log shows the outcome without opening the files: how many
services, how many of their tier verdicts are met, how many incidents, and how
many minutes had to be pulled from the sources (0 means the store had them all).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def count(n: int, word: str, many: str | None = None) -> str:
    """``1 service``, ``2 services``."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {many or word + 's'}"


def _pulled(pulled: Mapping[str, int]) -> str:
    return f"{count(sum(pulled.values()), 'minute')} pulled"


def _as_of(doc: Mapping[str, Any]) -> str:
    return f" (month running, as of {doc['as_of']})" if doc.get("complete") is False else ""


def report_summary(report: Mapping[str, Any], pulled: Mapping[str, int]) -> str:
    """``2026-01: 4 services, tiers met 7 of 8, 3 incidents, 44,640 minutes pulled``."""
    services = report["services"]
    verdicts = [t["met"] for s in services.values() for t in (s.get("tiers") or {}).values()]
    incidents = sum(s.get("incident_count") or 0 for s in services.values())
    return (
        f"{report['month']}: {count(len(services), 'service')}, "
        f"tiers met {sum(1 for v in verdicts if v)} of {len(verdicts)}, "
        f"{count(incidents, 'incident')}, {_pulled(pulled)}{_as_of(report)}"
    )


def credits_summary(doc: Mapping[str, Any], pulled: Mapping[str, int]) -> str:
    """``2026-01: 3 customers, 1 owed a credit (1,200.00 USD), 0 minutes pulled``.

    The amounts are the JSON's own strings, already in each currency's minor
    unit, so a sum keeps those places (``1,235 JPY``, ``100.013 KWD``) and is
    never rounded again.
    """
    customers = doc["customers"]
    owed: dict[str, Decimal] = {}
    n_owed = 0
    for c in customers.values():
        amount = Decimal(c.get("credit_amount") or "0")
        if amount > 0:
            n_owed += 1
            owed[c["currency"]] = owed.get(c["currency"], Decimal(0)) + amount
    money = ", ".join(f"{v:,f} {cur}" for cur, v in sorted(owed.items()))
    credited = f"{n_owed:,} owed a credit ({money})" if n_owed else "none owed a credit"
    return f"{doc['month']}: {count(len(customers), 'customer')}, {credited}, {_pulled(pulled)}{_as_of(doc)}"

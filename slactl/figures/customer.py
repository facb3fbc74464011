"""A customer's month and credit (SPEC 2.8 and 5), as frozen dataclasses.

This is what the ledger, the statements and any finance export are made from:
money is :class:`~decimal.Decimal` from the config to the last cent, and the
credit carries its whole working (``CreditWorking``) so nothing downstream
recomputes an uptime, a rounding or a cap.  Names: ``key`` is the config key
(file names, JSON keys), ``name`` the legal name people read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from slactl.figures.month import Company, Minutes, Uptime
from slactl.model import GroupKey
from slactl.sla.credits import CreditWorking, ScheduleRow

__all__ = ["CreditWorking", "CreditsMonth", "CustomerMonth", "MaintenanceShare", "ScheduleRow", "ServiceShare"]


@dataclass(frozen=True)
class ServiceShare:
    """One covered service measured on the customer's own series only."""

    key: str
    name: str
    groups: tuple[GroupKey, ...]  # the stored series groups the customer's match selected
    selected: str  # those groups as a person reads them ("tenant = acme", "all series")
    uptime: Uptime


@dataclass(frozen=True)
class MaintenanceShare:
    """A maintenance window as far as it excluded this customer's services."""

    start: datetime
    end: datetime
    services: tuple[str, ...]
    reason: str
    minutes: int


@dataclass(frozen=True)
class CustomerMonth:
    """One customer's month: composite minutes, verdict and credit."""

    key: str
    name: str
    contact: str | None
    tier: str
    target: float
    met: bool | None
    fee: Decimal
    currency: str
    match: dict[str, str]
    services: tuple[ServiceShare, ...]
    minutes: Minutes
    uptime_percent: float | None
    credit: CreditWorking
    maintenance: tuple[MaintenanceShare, ...]
    data_digest: str
    stem: str  # statement file stem, "{safe name}-{YYYY-MM}"
    number: str = ""  # statement number, unique per customer and month (see pipeline.credits)

    @property
    def carries_credits(self) -> bool:
        """False for a tier with ``credits: []``: its statement owes nothing by construction."""
        return bool(self.credit.schedule)

    @property
    def percent(self) -> Decimal | None:
        return self.credit.percent

    @property
    def amount(self) -> Decimal | None:
        return self.credit.amount


@dataclass(frozen=True)
class CreditsMonth:
    """Every customer's month; the measured minutes are ``[start, as_of or end)``."""

    month: str
    timezone: str
    start: int
    end: int
    complete: bool
    as_of: int | None
    company: Company
    config_digest: str
    digest_encoding: str
    customers: dict[str, CustomerMonth]
    statement_date: date | None = None  # the first day after the month, or ``credits --date``

    @property
    def dispute_until(self) -> date | None:
        """The last day a statement may be disputed: ``claim_days`` after its date."""
        if self.statement_date is None:
            return None
        return date.fromordinal(self.statement_date.toordinal() + self.company.claim_days)

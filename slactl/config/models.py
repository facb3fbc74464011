"""The shape of the configuration file (SPEC section 1) as strict pydantic models.

Unknown keys are rejected everywhere (``extra="forbid"``) so a misspelt key is an
error, not a silently ignored setting.  A rule about one value lives with its
key (shared ones in :mod:`slactl.config.values`); rules across keys (references,
PromQL, maintenance order) in :mod:`slactl.config.checks` and
:mod:`slactl.config.loader`.  Sources, schedule and publishing are in
:mod:`slactl.config.ops`; alerts, dashboards, status page and reports in
:mod:`slactl.config.outputs`.
"""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from slactl import money
from slactl.config.ops import Publish, Schedule, SourceConfig
from slactl.config.outputs import Alerts, Company, Dashboards, Incidents, Report, StatusPage
from slactl.config.values import Strict, label_problem
from slactl.sla.objective import Objective, objective

STORE_ENV = "SLACTL_STORE"


# --------------------------------------------------------------------------- tiers


class CreditRow(Strict):
    below: float = Field(gt=0, le=100)
    percent: Decimal = Field(ge=0, le=100)


class Tier(Strict):
    uptime_target: float = Field(gt=0, le=100)
    credits: list[CreditRow] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rows_below_target(self) -> Tier:
        # A row above the target would credit a customer in a month the tier was met.
        for i, row in enumerate(self.credits):
            if row.below > self.uptime_target:
                raise ValueError(
                    f"credits[{i}].below {row.below:g} is above the tier's uptime_target "
                    f"{self.uptime_target:g}: a customer would earn a credit in a month the target was met"
                )
        return self


# --------------------------------------------------------------------------- services


class MetricSpec(Strict):
    """A CloudWatch metric, in place of a PromQL selector."""

    namespace: str
    metric: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    stat: str = "Sum"
    up_when_at_least: float | None = None


Selector = str | MetricSpec


class Availability(Strict):
    errors: Selector | None = None
    total: Selector | None = None
    probe: Selector | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Availability:
        ratio = self.errors is not None or self.total is not None
        if ratio and self.probe is not None:
            raise ValueError("give either errors and total (ratio form) or probe, not both")
        if ratio and (self.errors is None or self.total is None):
            raise ValueError("the ratio form needs both errors and total")
        if not ratio and self.probe is None:
            raise ValueError("give errors and total (ratio form) or probe (probe form)")
        return self

    @property
    def kind(self) -> Literal["ratio", "probe"]:
        return "probe" if self.probe is not None else "ratio"


# Upper bounds (seconds) a CloudWatch latency metric is cut into when the service
# names none: the Prometheus client libraries' defaults, so reports and dashboards
# of the two kinds of service have the same resolution.
DEFAULT_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_LATENCY_BUCKETS = 100
LATENCY_UNITS = {"Seconds": 1.0, "Milliseconds": 1e3, "Microseconds": 1e6}


class Latency(Strict):
    histogram: str | None = None  # Prometheus: a classic histogram's _bucket selector
    metric: MetricSpec | None = None  # CloudWatch
    # CloudWatch only: bucket upper bounds in seconds (default DEFAULT_LATENCY_BUCKETS)
    # and the unit the metric's values are published in.
    buckets: list[float] | None = None
    unit: Literal["Seconds", "Milliseconds", "Microseconds"] | None = None

    @model_validator(mode="after")
    def _one(self) -> Latency:
        if (self.histogram is None) == (self.metric is None):
            raise ValueError("give exactly one of histogram (Prometheus) or metric (CloudWatch)")
        if self.histogram is not None and (self.buckets is not None or self.unit is not None):
            raise ValueError("buckets and unit apply to a CloudWatch metric; a histogram has its own le buckets")
        return self

    @field_validator("buckets")
    @classmethod
    def _bounds(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        if not 1 <= len(v) <= MAX_LATENCY_BUCKETS:
            raise ValueError(f"give 1 to {MAX_LATENCY_BUCKETS} bucket bounds")
        if any(b <= 0 for b in v):  # NaN and infinities are refused by the strict base
            raise ValueError("bucket bounds are finite numbers of seconds > 0 (+Inf is implied)")
        if any(b >= c for b, c in zip(v, v[1:], strict=False)):
            raise ValueError("bucket bounds must be strictly increasing")
        return v

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Unset CloudWatch options are left out, so a config's digest (and the
        # fingerprint of stored minutes) is the same as before they existed.
        out = handler(self)
        return {k: v for k, v in out.items() if k not in ("buckets", "unit") or v is not None}

    @property
    def bounds(self) -> tuple[float, ...]:
        """The finite bucket upper bounds in seconds, ascending."""
        return tuple(self.buckets) if self.buckets is not None else DEFAULT_LATENCY_BUCKETS

    @property
    def units_per_second(self) -> float:
        """How many of the metric's units make one second (1000 for Milliseconds)."""
        return LATENCY_UNITS[self.unit or "Seconds"]


class Service(Strict):
    source: str
    slice_threshold: float = Field(0.95, ge=0, le=1)
    no_data: Literal["ignore", "up", "down"] = "ignore"
    incident_merge_gap_minutes: int = Field(0, ge=0)
    availability: Availability
    latency: Latency | None = None
    group_by: list[str] = Field(default_factory=list)
    objective: float | None = Field(None, gt=0, lt=100)
    name: str | None = Field(None, min_length=1, max_length=200)  # display name; default: the key
    description: str | None = None
    group: str | None = Field(None, min_length=1, max_length=200)  # status page component group

    @field_validator("group_by")
    @classmethod
    def _labels(cls, v: list[str]) -> list[str]:
        for label in v:
            problem = label_problem(label)
            if problem is None and label == "le":
                problem = "histograms keep their buckets in it"
            if problem is not None:
                raise ValueError(f"{label!r} cannot be a group_by label: {problem}")
        if len(set(v)) != len(v):
            raise ValueError("labels must not repeat")
        return v


class Customer(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)  # legal name; default: the key
    contact: str | None = None
    tier: str
    monthly_fee: Decimal = Field(ge=0)
    currency: str = "USD"
    services: list[str]
    match: dict[str, str] = Field(default_factory=dict)

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, v: str) -> str:
        if not money.is_currency(v):
            hint = f" (did you mean {v.upper()!r}?)" if money.is_currency(v.upper()) else ""
            raise ValueError(f"{v!r} is not an ISO 4217 currency code such as USD or EUR{hint}")
        return v

    @field_validator("monthly_fee")
    @classmethod
    def _fee_in_range(cls, v: Decimal) -> Decimal:
        # Below 10^15, so every amount made from it fits Babel's 28-digit context
        # and a billing system's decimal column; -0 is 0, so no document shows "-0.00".
        if v >= money.MAX_AMOUNT:
            raise ValueError(
                f"{v} is too large: a monthly fee must be below {money.MAX_AMOUNT_TEXT} in any currency"
            )
        return v.copy_abs() if v.is_zero() else v

    @model_validator(mode="after")
    def _fee_in_minor_units(self) -> Customer:
        if money.finer_than_minor_unit(self.monthly_fee, self.currency):
            digits = money.minor_digits(self.currency)
            if digits == 0:
                raise ValueError(
                    f"monthly_fee {self.monthly_fee} has decimal places, but the smallest unit of "
                    f"{self.currency} is 1 (whole amounts only)"
                )
            raise ValueError(
                f"monthly_fee {self.monthly_fee} has more than {digits} decimal place"
                f"{'' if digits == 1 else 's'}, the smallest unit of {self.currency}"
            )
        return self


class Maintenance(Strict):
    start: datetime
    end: datetime
    services: list[str] | None = None
    reason: str = ""
    # end after start is checked by the loader, once times without an offset are placed in the zone


class Config(Strict):
    timezone: str = "UTC"
    store: str | None = None
    sources: dict[str, SourceConfig]
    tiers: dict[str, Tier]
    latency_targets_seconds: dict[str, float] = Field(default_factory=dict)
    services: dict[str, Service]
    customers: dict[str, Customer] = Field(default_factory=dict)
    maintenance: list[Maintenance] = Field(default_factory=list)
    alerts: Alerts = Alerts()
    company: Company = Company()
    incidents: Incidents = Incidents()
    report: Report = Report()
    status_page: StatusPage = StatusPage()
    dashboards: Dashboards = Dashboards()
    schedule: Schedule = Schedule()
    publish: Publish = Publish()
    # Not read from the file: where it was, for relative paths and messages.
    base_dir: Path = Field(default=Path("."), exclude=True)
    source_file: str = Field(default="", exclude=True)

    @field_validator("latency_targets_seconds")
    @classmethod
    def _percentile_keys(cls, v: dict[str, float]) -> dict[str, float]:
        for key, target in v.items():
            if not _percentile_q(key):
                raise ValueError(f"{key!r} is not a percentile like p50, p95, p99, p99.9")
            if target <= 0:
                raise ValueError(f"{key}: target must be > 0 seconds")
        return v

    def objective_of(self, service: str) -> Objective:
        """The service's objective and its source (the rule: :mod:`slactl.sla.objective`)."""
        users = [(k, c.tier, self.tiers[c.tier].uptime_target) for k, c in self.customers.items() if service in c.services]
        return objective(self.services[service].objective, users)

    def objective_for(self, service: str) -> float:
        """The objective burn-rate alerts protect, in percent."""
        return self.objective_of(service).target

    def display_name(self, service: str) -> str:
        """What a person reads for a service: its ``name``, else its key."""
        return self.services[service].name or service

    def customer_name(self, customer: str) -> str:
        return self.customers[customer].name or customer

    def path(self, value: str) -> Path:
        """A path from the file, relative to the file's own folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def store_url(self) -> str:
        """SQLAlchemy URL; relative SQLite paths resolve next to the config file.

        ``$SLACTL_STORE``, when set, replaces ``store:``: a database URL with its
        password can then come from a secret store instead of the config file.
        """
        url = os.environ.get(STORE_ENV) or self.store or "sqlite:///slactl.db"
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
            return prefix + str(self.path(url[len(prefix) :]))
        return url

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _percentile_q(key: str) -> float | None:
    """``p99.9`` → 0.999; None for keys that are not percentiles."""
    if not key.startswith("p"):
        return None
    try:
        q = float(key[1:]) / 100
    except ValueError:
        return None
    return q if 0 < q < 1 else None


def percentile_q(key: str) -> float:
    q = _percentile_q(key)
    if q is None:
        raise ValueError(key)
    return q

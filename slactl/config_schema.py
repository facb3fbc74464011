"""The shape of the configuration file (SPEC section 1) as strict pydantic models.

Unknown keys are rejected everywhere (``extra="forbid"``) so a misspelt key is an
error, not a silently ignored setting.  Loading, cross-references and PromQL
checks live in :mod:`slactl.config`, which re-exports every model here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- sources


class BasicAuth(_Strict):
    username: str
    password_env: str


class PrometheusSource(_Strict):
    """Any server of the Prometheus HTTP API: Prometheus, Thanos, Mimir, VictoriaMetrics."""

    type: Literal["prometheus"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    bearer_token_env: str | None = None
    basic_auth: BasicAuth | None = None
    verify_tls: bool | str = True
    timeout_seconds: float = Field(30.0, gt=0)
    # Extensions beyond the SPEC, with defaults that suit a stock Prometheus.
    max_concurrency: int = Field(8, ge=1, le=64)
    chunk_minutes: int = Field(1440, ge=60, le=10_000)
    retries: int = Field(3, ge=0, le=10)
    range_semantics: Literal["auto", "left_open", "closed"] = "auto"
    # How far back to look for a counter's last sample before a pulled range; a
    # series with none that recent starts from zero (bounded to spare the server).
    counter_lookback_days: int = Field(31, ge=1, le=3660)
    # A minute is pulled once it ended this long ago (scrape and remote-write delay).
    settle_seconds: int = Field(120, ge=0, le=86_400)
    # Minutes stored without data are pulled again while they are younger than
    # this: remote-write backends (Mimir, Thanos Receive, VictoriaMetrics) can
    # show samples late.  0 turns it off.
    late_window_minutes: int = Field(180, ge=0, le=10_080)

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")


class CloudWatchSource(_Strict):
    type: Literal["cloudwatch"]
    region: str
    endpoint_url: str | None = None
    profile: str | None = None


class SampleSource(_Strict):
    """Built-in generated data: the embedded default that needs no server."""

    type: Literal["sample"]
    seed: int = 0


SourceConfig = Annotated[
    PrometheusSource | CloudWatchSource | SampleSource, Field(discriminator="type")
]

# --------------------------------------------------------------------------- tiers


class CreditRow(_Strict):
    below: float = Field(gt=0, le=100)
    percent: Decimal = Field(ge=0, le=100)


class Tier(_Strict):
    uptime_target: float = Field(gt=0, le=100)
    credits: list[CreditRow] = Field(default_factory=list)


# --------------------------------------------------------------------------- services


class MetricSpec(_Strict):
    """A CloudWatch metric, in place of a PromQL selector."""

    namespace: str
    metric: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    stat: str = "Sum"
    up_when_at_least: float | None = None


Selector = str | MetricSpec


class Availability(_Strict):
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


class Latency(_Strict):
    histogram: str | None = None  # Prometheus: a classic histogram's _bucket selector
    metric: MetricSpec | None = None  # CloudWatch

    @model_validator(mode="after")
    def _one(self) -> Latency:
        if (self.histogram is None) == (self.metric is None):
            raise ValueError("give exactly one of histogram (Prometheus) or metric (CloudWatch)")
        return self


class Service(_Strict):
    source: str
    slice_threshold: float = Field(0.95, ge=0, le=1)
    no_data: Literal["ignore", "up", "down"] = "ignore"
    incident_merge_gap_minutes: int = Field(0, ge=0)
    availability: Availability
    latency: Latency | None = None
    group_by: list[str] = Field(default_factory=list)
    objective: float | None = Field(None, gt=0, lt=100)
    description: str | None = None

    @field_validator("group_by")
    @classmethod
    def _labels(cls, v: list[str]) -> list[str]:
        for label in v:
            if label in ("le", "__name__") or not label.replace("_", "a").isalnum():
                raise ValueError(f"{label!r} cannot be a group_by label")
        if len(set(v)) != len(v):
            raise ValueError("labels must not repeat")
        return v


class Customer(_Strict):
    tier: str
    monthly_fee: Decimal = Field(ge=0)
    currency: str = "USD"
    services: list[str]
    match: dict[str, str] = Field(default_factory=dict)


class Maintenance(_Strict):
    start: datetime
    end: datetime
    services: list[str] | None = None
    reason: str = ""

    @model_validator(mode="after")
    def _order(self) -> Maintenance:
        if self.start.tzinfo is not None and self.end.tzinfo is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


# --------------------------------------------------------------------------- the rest


class Alerts(_Strict):
    infrastructure: bool = True
    runbook_base_url: str | None = None


class StatusPage(_Strict):
    title: str = "Status"
    url: str = ""  # the page's public address, for summary.json's page.url and shortlinks
    incidents_dir: str = "incidents"
    days: int = Field(90, ge=1, le=366)


class BusinessDashboard(_Strict):
    """Selectors of the business metrics the Business Metrics dashboard shows."""

    active_users: str = "active_users"
    tasks_created: str = "tasks_created_total"
    websocket_connections: str = "websocket_connections"


class Dashboards(_Strict):
    business: BusinessDashboard = BusinessDashboard()


class Schedule(_Strict):
    ingest_every: str = "5m"
    status_page_every: str = "5m"
    monthly_close: str = "0 2 1 * *"
    metrics_listen: str = "127.0.0.1:9464"


class S3Target(_Strict):
    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None


class PublishTarget(_Strict):
    dir: str | None = None
    s3: S3Target | None = None

    @model_validator(mode="after")
    def _one(self) -> PublishTarget:
        if (self.dir is None) == (self.s3 is None):
            raise ValueError("give exactly one of dir or s3")
        return self


class Publish(_Strict):
    status_page: PublishTarget = PublishTarget(dir="public")
    reports: PublishTarget = PublishTarget(dir="reports")


class Config(_Strict):
    timezone: str = "UTC"
    store: str | None = None
    sources: dict[str, SourceConfig]
    tiers: dict[str, Tier]
    latency_targets_seconds: dict[str, float] = Field(default_factory=dict)
    services: dict[str, Service]
    customers: dict[str, Customer] = Field(default_factory=dict)
    maintenance: list[Maintenance] = Field(default_factory=list)
    alerts: Alerts = Alerts()
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

    def objective_for(self, service: str) -> float:
        """The objective burn-rate alerts protect: explicit, else the highest customer tier."""
        explicit = self.services[service].objective
        if explicit is not None:
            return explicit
        targets = [
            self.tiers[c.tier].uptime_target for c in self.customers.values() if service in c.services
        ]
        return max(targets) if targets else 99.9

    def path(self, value: str) -> Path:
        """A path from the file, relative to the file's own folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def store_url(self) -> str:
        """SQLAlchemy URL; relative SQLite paths resolve next to the config file."""
        url = self.store or "sqlite:///slactl.db"
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

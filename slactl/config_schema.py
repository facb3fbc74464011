"""The shape of the configuration file (SPEC section 1) as strict pydantic models.

Unknown keys are rejected everywhere (``extra="forbid"``) so a misspelt key is an
error, not a silently ignored setting.  Loading, cross-references and PromQL
checks live in :mod:`slactl.config`, which re-exports every model here.
"""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from slactl import durations, money

STORE_ENV = "SLACTL_STORE"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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


# Upper bounds (seconds) a CloudWatch latency metric is cut into when the service
# names none: the Prometheus client libraries' defaults, so reports and dashboards
# of the two kinds of service have the same resolution.
DEFAULT_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_LATENCY_BUCKETS = 100
LATENCY_UNITS = {"Seconds": 1.0, "Milliseconds": 1e3, "Microseconds": 1e6}


class Latency(_Strict):
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
        if any(not 0 < b < float("inf") for b in v):
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


class Service(_Strict):
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
            if label in ("le", "__name__") or not label.replace("_", "a").isalnum():
                raise ValueError(f"{label!r} cannot be a group_by label")
        if len(set(v)) != len(v):
            raise ValueError("labels must not repeat")
        return v


class Customer(_Strict):
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

    @model_validator(mode="after")
    def _fee_in_minor_units(self) -> Customer:
        if money.finer_than_minor_unit(self.monthly_fee, self.currency):
            digits = money.minor_digits(self.currency)
            raise ValueError(
                f"monthly_fee {self.monthly_fee} has more than {digits} decimal place"
                f"{'' if digits == 1 else 's'}, the smallest unit of {self.currency}"
            )
        return self


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


# The exporter metrics the threshold pack and the platform dashboards read, under
# the names current node_exporter and postgres_exporter releases export.  Each may
# be renamed with ``alerts.metric_names`` (rules and dashboards) or
# ``dashboards.metric_names`` (dashboards only), for exporters that are older,
# run with other flags, or sit behind relabelling.
EXPORTER_METRICS = (
    "node_cpu_seconds_total",
    "node_disk_io_time_seconds_total",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_load1",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    "node_uname_info",
    "pg_replication_lag_seconds",
    "pg_settings_max_connections",
    "pg_stat_activity_count",
    "pg_stat_activity_max_tx_duration",
    "pg_stat_database_blks_hit",
    "pg_stat_database_blks_read",
    "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback",
    "pg_stat_statements_calls_total",
    "pg_stat_statements_seconds_total",
    "pg_up",
)
ExporterMetric = Literal[EXPORTER_METRICS]  # type: ignore[valid-type]
MetricName = Annotated[str, Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
MetricNames = dict[ExporterMetric, MetricName]


class Alerts(_Strict):
    infrastructure: bool = True
    runbook_base_url: str | None = None
    # What ErrorBudgetBurn measures: the share of down minutes (the SLA's unit) or
    # the request error ratio.
    burn_on: Literal["minutes", "requests"] = "minutes"
    # standard exporter metric name -> the name your Prometheus has (see EXPORTER_METRICS)
    metric_names: MetricNames = Field(default_factory=dict)


class Company(_Strict):
    """Who issues the statements, runs the status page and signs the reports."""

    name: str = Field("", max_length=200)
    address: list[str] = Field(default_factory=list)
    contact: str | None = None
    claim_days: int = Field(30, ge=0, le=3660)
    locale: str = "en_US"  # how statements print money: "de_DE" gives "12.000,00 €"

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, v: str) -> str:
        from slactl.money import is_locale

        if not is_locale(v):
            raise ValueError(f"unknown locale {v!r} (use a CLDR locale such as en_US, de_DE, fr_FR)")
        return v


class Severity(_Strict):
    """Incident severity by duration: minor below ``major_minutes``, critical from ``critical_minutes``."""

    major_minutes: int = Field(15, ge=1)
    critical_minutes: int = Field(60, ge=1)

    @model_validator(mode="after")
    def _order(self) -> Severity:
        if self.critical_minutes < self.major_minutes:
            raise ValueError("critical_minutes must be >= major_minutes")
        return self


class Incidents(_Strict):
    severity: Severity = Severity()


class Report(_Strict):
    history_months: int = Field(6, ge=0, le=120)


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
    # like alerts.metric_names, for the dashboards only; entries here win over those
    metric_names: MetricNames = Field(default_factory=dict)


def _duration(v: str) -> str:
    try:
        durations.seconds(v)
    except ValueError as exc:
        raise PydanticCustomError("duration", str(exc)) from None
    return v


def _cron(v: str) -> str:
    try:
        durations.normalise_cron(v)
    except ValueError as exc:
        raise PydanticCustomError("cron", f"not a valid cron expression: {exc}") from None
    return v


def split_listen(text: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6, ``:9464`` for every interface); ValueError otherwise."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) <= 65535 or (":" in host and not host.startswith("[")):
        raise ValueError(f"{text!r} is not HOST:PORT like 127.0.0.1:9464")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "0.0.0.0", int(port)


def _listen(v: str) -> str:
    try:
        split_listen(v)
    except ValueError as exc:
        raise PydanticCustomError("listen", str(exc)) from None
    return v


Duration = Annotated[str, AfterValidator(_duration)]
Cron = Annotated[str, AfterValidator(_cron)]
Listen = Annotated[str, AfterValidator(_listen)]


class Schedule(_Strict):
    """``slactl scheduler run``'s timings, checked on load so ``slactl validate`` catches them."""

    ingest_every: Duration = "5m"
    status_page_every: Duration = "5m"
    monthly_close: Cron = "0 2 1 * *"  # 5-field crontab in ``timezone``
    metrics_listen: Listen = "127.0.0.1:9464"

    @property
    def ingest_seconds(self) -> int:
        return durations.seconds(self.ingest_every)

    @property
    def status_page_seconds(self) -> int:
        return durations.seconds(self.status_page_every)

    @property
    def listen(self) -> tuple[str, int]:
        return split_listen(self.metrics_listen)


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

    def objective_for(self, service: str) -> float:
        """The objective burn-rate alerts protect: explicit, else the highest customer tier."""
        explicit = self.services[service].objective
        if explicit is not None:
            return explicit
        targets = [
            self.tiers[c.tier].uptime_target for c in self.customers.values() if service in c.services
        ]
        return max(targets) if targets else 99.9

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

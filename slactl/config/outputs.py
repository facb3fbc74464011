"""What slactl produces and for whom: alerts, dashboards, status page, reports, the issuer.

Kept apart from :mod:`slactl.config.models` so each module stays readable.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from slactl.config.values import HttpUrl, HttpUrlOrEmpty, Strict

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


class Alerts(Strict):
    infrastructure: bool = True
    runbook_base_url: HttpUrl | None = None
    # What ErrorBudgetBurn measures: the share of down minutes (the SLA's unit) or
    # the request error ratio.
    burn_on: Literal["minutes", "requests"] = "minutes"
    # standard exporter metric name -> the name your Prometheus has (see EXPORTER_METRICS)
    metric_names: MetricNames = Field(default_factory=dict)


class Company(Strict):
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


class Severity(Strict):
    """Incident severity by duration: minor below ``major_minutes``, critical from ``critical_minutes``."""

    major_minutes: int = Field(15, ge=1)
    critical_minutes: int = Field(60, ge=1)

    @model_validator(mode="after")
    def _order(self) -> Severity:
        if self.critical_minutes < self.major_minutes:
            raise ValueError("critical_minutes must be >= major_minutes")
        return self


class Incidents(Strict):
    severity: Severity = Severity()


class Report(Strict):
    history_months: int = Field(6, ge=0, le=120)
    # A PDF of the report beside its JSON, HTML and Markdown.  Off by default: laying
    # out every service's section costs more than the rest of the report together.
    pdf: bool = False


class StatusPage(Strict):
    title: str = "Status"
    url: HttpUrlOrEmpty = ""  # the page's public address, for summary.json's page.url and shortlinks
    incidents_dir: str = "incidents"
    days: int = Field(90, ge=1, le=366)


class BusinessDashboard(Strict):
    """Selectors of the business metrics the Business Metrics dashboard shows."""

    active_users: str = "active_users"
    tasks_created: str = "tasks_created_total"
    websocket_connections: str = "websocket_connections"


class Dashboards(Strict):
    business: BusinessDashboard = BusinessDashboard()
    # like alerts.metric_names, for the dashboards only; entries here win over those
    metric_names: MetricNames = Field(default_factory=dict)

"""The configuration file (SPEC section 1), validated completely on load.

A typo must fail at ``slactl validate`` and not at 3 AM, so every key is checked
(unknown keys rejected), every reference resolved (sources, tiers, services) and
every PromQL selector parsed.  Errors name the file, the key path and the problem.

This module is the package's public face: code outside ``slactl.config`` imports
from here (``slactl.config.load``, ``slactl.config.Config``, ...), and the modules
behind it may move without touching the rest of slactl.  ``loader`` reads a file,
``models``, ``ops`` and ``outputs`` hold its shape, ``values`` the rules keys
share, ``checks`` the rules across keys, ``messages`` the wording of pydantic's
errors, ``reference`` and ``docs`` the generated reference and JSON Schema.
"""

from __future__ import annotations

from slactl.config.checks import (
    check_environment,
    check_references,
    check_selector,
    check_values,
    environment_problems,
)
from slactl.config.loader import DEFAULT_FILE, ENV_VAR, find_config, load, parse
from slactl.config.models import (
    STORE_ENV,
    Availability,
    Config,
    CreditRow,
    Customer,
    Latency,
    Maintenance,
    MetricSpec,
    Selector,
    Service,
    Tier,
    percentile_q,
)
from slactl.config.ops import (
    BasicAuth,
    CloudWatchSource,
    PrometheusSource,
    Publish,
    PublishTarget,
    S3Target,
    SampleSource,
    Schedule,
    SourceConfig,
)
from slactl.config.outputs import (
    EXPORTER_METRICS,
    Alerts,
    BusinessDashboard,
    Company,
    Dashboards,
    Incidents,
    MetricNames,
    Report,
    Severity,
    StatusPage,
)

__all__ = [
    "DEFAULT_FILE",
    "ENV_VAR",
    "EXPORTER_METRICS",
    "STORE_ENV",
    "Alerts",
    "Availability",
    "BasicAuth",
    "BusinessDashboard",
    "CloudWatchSource",
    "Company",
    "Config",
    "CreditRow",
    "Customer",
    "Dashboards",
    "Incidents",
    "Latency",
    "Maintenance",
    "MetricNames",
    "MetricSpec",
    "PrometheusSource",
    "Publish",
    "PublishTarget",
    "Report",
    "S3Target",
    "SampleSource",
    "Schedule",
    "Selector",
    "Service",
    "Severity",
    "SourceConfig",
    "StatusPage",
    "Tier",
    "check_environment",
    "check_references",
    "check_selector",
    "check_values",
    "environment_problems",
    "find_config",
    "load",
    "parse",
    "percentile_q",
]

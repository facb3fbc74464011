"""What every generated dashboard shares: datasource variable, panels, grid, uids, thresholds.

Every panel and target points at the ``${datasource}`` variable (never a hard-wired
datasource uid) so one file imports into any Grafana.  Panels are laid out by
:class:`Grid`, which hands out unique ids and non-overlapping grid positions in a
fixed order, so the same config always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attr
from grafanalib.core import Dashboard as GDashboard
from grafanalib.core import DashboardLink as GDashboardLink
from grafanalib.core import (
    Panel,
    Stat,
    Target,
    Template,
    Templating,
    Text,
    Time,
    TimeSeries,
)

from slactl.config import Config
from slactl.dashboards.layout import GRID_WIDTH as GRID_WIDTH
from slactl.dashboards.layout import Grid as Grid
from slactl.dashboards.thresholds import BUDGET_STEPS as BUDGET_STEPS
from slactl.dashboards.thresholds import BURN_STEPS as BURN_STEPS
from slactl.dashboards.thresholds import Steps as Steps
from slactl.dashboards.thresholds import latency_steps as latency_steps
from slactl.dashboards.thresholds import num as num
from slactl.dashboards.thresholds import steps as steps
from slactl.dashboards.thresholds import uptime_steps as uptime_steps
from slactl.promql.exprs import promql_services

SCHEMA_VERSION = 39  # Grafana 10.4 / 11.x; grafanalib's default (12) predates panels' JSON model
DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
TAG = "slactl"
SLO_TAG = "slactl-slo"
UID_MAX = 40  # Grafana's limit

# --------------------------------------------------------------------------- names


def slug(name: str) -> str:
    """A lower-case ``a-z0-9-`` form of ``name`` for uids and file names."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "x"


def uid_for(*parts: str) -> str:
    """A stable Grafana uid from names: readable, and hashed only when it has to be."""
    text = "slactl-" + "-".join(slug(p) for p in parts)
    if len(text) <= UID_MAX and all(slug(p) == p for p in parts):
        return text
    digest = hashlib.sha1("\0".join(parts).encode()).hexdigest()[:8]
    return text[: UID_MAX - 9].rstrip("-") + "-" + digest


def overview_uid() -> str:
    return uid_for("sla-overview")


def detail_uid(service: str) -> str:
    return uid_for("slo", service)


def detail_url(service: str) -> str:
    """Link to a service's SLO detail keeping the time range and the datasource choice."""
    return f"/d/{detail_uid(service)}?${{__url_time_range}}&${{datasource:queryparam}}"


def prometheus_services(cfg: Config) -> list[str]:
    """Services whose selectors are PromQL: the ones these dashboards can query.

    The same choice as the rules make (the built-in sample source counts: its
    selectors are real ones), so a dashboard panel always has its recording rule.
    """
    return promql_services(cfg)[0]


def exporter_metrics(cfg: Config) -> Callable[[str], str]:
    """Standard exporter metric name → the name in the user's Prometheus.

    ``alerts.metric_names`` renames a metric for the rules and the dashboards (a panel
    should turn red on the series its alert fires on); ``dashboards.metric_names``
    overrides that for the dashboards alone.
    """
    names = {**cfg.alerts.metric_names, **cfg.dashboards.metric_names}
    return lambda standard: names.get(standard, standard)


def ref_id(i: int) -> str:
    """Grafana-style query ids: A..Z, AA, AB, ..."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def refid_override(ref: str, **props: Any) -> dict[str, Any]:
    """Field override for one query's series (thresholds per percentile, links per service).

    Written against the query id; :func:`stat` and :func:`timeseries` turn it into
    a match on the query's legend (see :func:`_by_legend`).
    """
    return {
        "matcher": {"id": "byFrameRefID", "options": ref},
        "properties": [{"id": k.replace("__", "."), "value": v} for k, v in props.items()],
    }


def _by_legend(
    overrides: Sequence[dict[str, Any]], queries: Sequence[tuple[str, str]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Overrides Grafana's dashboard schema accepts, and the links lifted out of them.

    The schema types a matcher's options and an override's value as objects, so a
    query-id matcher (``"A"``) and a list of links do not validate.  The series
    are matched by name instead (``byNames``: a query's literal legend is its
    series' display name), and per-series links become panel links.
    """
    legends = {ref_id(i): legend for i, (_, legend) in enumerate(queries)}
    out: list[dict[str, Any]] = []
    lifted: list[dict[str, Any]] = []
    for o in overrides:
        matcher = o["matcher"]
        if matcher["id"] == "byFrameRefID":
            legend = legends[matcher["options"]]
            if "{{" in legend or list(legends.values()).count(legend) != 1:
                raise ValueError(
                    f"query {matcher['options']}'s legend {legend!r} names no one series"
                )
            matcher = {"id": "byNames", "options": {"mode": "include", "names": [legend]}}
        props = []
        for prop in o["properties"]:
            if prop["id"] == "links":
                lifted += [link(item["title"], item["url"]) for item in prop["value"]]
            else:
                props.append(prop)
        if props:
            out.append({"matcher": matcher, "properties": props})
    return out, lifted


# --------------------------------------------------------------------------- panels


def target(
    expr: str, legend: str = "", *, ref: str = "A", instant: bool = False, fmt: str = "time_series"
) -> Target:
    return Target(
        expr=expr,
        legendFormat=legend,
        refId=ref,
        instant=instant,
        format=fmt,
        intervalFactor=1,
        datasource=DATASOURCE,
    )


def targets(queries: Sequence[tuple[str, str]], *, instant: bool = False) -> list[Target]:
    """``(expr, legend)`` pairs as targets A, B, C, ..."""
    return [target(e, leg, ref=ref_id(i), instant=instant) for i, (e, leg) in enumerate(queries)]


def link(title: str, url: str) -> dict[str, Any]:
    """A panel link, spelt out in full as Grafana's schema wants (it types them as dashboard links)."""
    return {
        "title": title,
        "url": url,
        "type": "link",
        "icon": "external link",
        "tooltip": "",
        "tags": [],
        "asDropdown": False,
        "targetBlank": False,
        "includeVars": False,
        "keepTime": False,
    }


def links(items: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    return [link(title, url) for title, url in items]


def stat(
    title: str,
    description: str,
    queries: Sequence[tuple[str, str]],
    *,
    unit: str,
    thresholds: Steps,
    decimals: int | None = None,
    overrides: Sequence[dict[str, Any]] = (),
    panel_links: Sequence[dict[str, Any]] = (),
    text_mode: str = "auto",
    instant: bool = True,
) -> Stat:
    """A stat of instant queries, coloured by thresholds (the figure an SRE glances at)."""
    fixed, lifted = _by_legend(overrides, queries)
    return Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=targets(queries, instant=instant),
        format=unit,
        decimals=decimals,
        thresholds=thresholds,
        color={"mode": "thresholds"},
        graphMode="none",
        reduceCalc="lastNotNull",
        noValue="No data",
        textMode=text_mode,
        overrides=fixed,
        links=[*panel_links, *lifted],
    )


def timeseries(
    title: str,
    description: str,
    queries: Sequence[tuple[str, str]],
    *,
    unit: str,
    thresholds: Steps | None = None,
    overrides: Sequence[dict[str, Any]] = (),
    bars: bool = False,
    interval: str | None = None,
    stacked: bool = False,
    panel_links: Sequence[dict[str, Any]] = (),
) -> TimeSeries:
    """A time series; given thresholds are drawn as lines so the target is visible."""
    fixed, lifted = _by_legend(overrides, queries)
    return TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=targets(queries),
        unit=unit,
        thresholds=thresholds or steps("green"),
        thresholdsStyleMode="line" if thresholds else "off",
        overrides=fixed,
        drawStyle="bars" if bars else "line",
        fillOpacity=60 if bars else 10,
        interval=interval,
        stacking={"mode": "normal", "group": "A"} if stacked else {},
        legendDisplayMode="list",
        tooltipMode="multi",
        links=[*panel_links, *lifted],
    )


def text(title: str, description: str, content: str) -> Text:
    return Text(title=title, description=description, content=content)


@attr.s
class Heatmap(Panel):
    """Grafana's (10+) heatmap panel over pre-bucketed Prometheus histograms.

    grafanalib's own ``Heatmap`` writes the old Angular model, which a schema 39
    dashboard would not migrate; this writes the current one.
    """

    unit: str = attr.ib(default="s")

    def to_json_data(self) -> dict[str, Any]:
        return self.panel_json(
            {
                "type": "heatmap",
                "fieldConfig": {"defaults": {"custom": {"scaleDistribution": {"type": "linear"}}}},
                "options": {
                    "calculate": False,
                    "cellGap": 1,
                    "color": {
                        "mode": "scheme",
                        "scheme": "Oranges",
                        "scale": "exponential",
                        "exponent": 0.5,
                        "steps": 64,
                        "reverse": False,
                        "fill": "dark-orange",
                    },
                    "filterValues": {"le": 1e-9},
                    "legend": {"show": True},
                    "rowsFrame": {"layout": "auto"},
                    "tooltip": {"mode": "single", "yHistogram": True},
                    "yAxis": {"axisPlacement": "left", "unit": self.unit, "reverse": False},
                },
            }
        )


def heatmap(title: str, description: str, expr: str, *, unit: str = "s") -> Heatmap:
    # grafanalib is untyped, so mypy's attrs plugin sees only ``unit``, not Panel's fields.
    return Heatmap(  # type: ignore[call-arg]
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=[target(expr, "{{le}}", fmt="heatmap")],
        unit=unit,
    )


# --------------------------------------------------------------------------- dashboards


def datasource_variable() -> Template:
    return Template(
        name="datasource", label="Data source", query="prometheus", type="datasource", refresh=1
    )


def instance_variable(metric: str) -> Template:
    """A multi-select ``instance`` filter from the series of ``metric``."""
    return Template(
        name="instance",
        label="Instance",
        query=f"label_values({metric}, instance)",
        dataSource=DATASOURCE,
        includeAll=True,
        multi=True,
        allValue=".+",
        default="$__all",
        refresh=2,
    )


def overview_link() -> GDashboardLink:
    return GDashboardLink(
        type="link",
        title="SLA overview",
        uri=f"/d/{overview_uid()}",
        icon="dashboard",
        tooltip="Every service's uptime, budget and latency this month",
        includeVars=True,
        keepTime=True,
    )


def tagged_links() -> list[GDashboardLink]:
    """Drop-downs to every SLO detail and every other slactl dashboard."""
    return [
        GDashboardLink(
            type="dashboards",
            title="SLO details",
            tags=[SLO_TAG],
            asDropdown=True,
            includeVars=True,
            keepTime=True,
        ),
        GDashboardLink(
            type="dashboards",
            title="slactl dashboards",
            tags=[TAG],
            asDropdown=True,
            includeVars=True,
            keepTime=True,
        ),
    ]


def dashboard(
    cfg: Config,
    *,
    title: str,
    uid: str,
    description: str,
    grid: Grid,
    variables: Sequence[Template] = (),
    tags: Sequence[str] = (),
    time: tuple[str, str] = ("now-6h", "now"),
    refresh: str = "1m",
    dash_links: Sequence[GDashboardLink] = (),
) -> GDashboard:
    """A dashboard with the datasource variable, the config's time zone and the shared links."""
    return GDashboard(
        title=title,
        uid=uid,
        description=description,
        tags=[TAG, *tags],
        panels=grid.panels,
        templating=Templating(list=[datasource_variable(), *variables]),
        links=[*dash_links, *tagged_links()],
        time=Time(*time),
        timezone="utc" if cfg.timezone == "UTC" else cfg.timezone,
        refresh=refresh,
        graphTooltip=1,
        schemaVersion=SCHEMA_VERSION,
        editable=True,
    )

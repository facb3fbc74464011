"""What every generated dashboard shares: datasource variable, panels, grid, uids, thresholds.

Every panel and target points at the ``${datasource}`` variable (never a hard-wired
datasource uid) so one file imports into any Grafana.  Panels are laid out by
:class:`Grid`, which hands out unique ids and non-overlapping grid positions in a
fixed order, so the same config always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

import attr
from grafanalib.core import Dashboard as GDashboard
from grafanalib.core import DashboardLink as GDashboardLink
from grafanalib.core import (
    DataLink,
    GridPos,
    Panel,
    RowPanel,
    Stat,
    Target,
    Template,
    Templating,
    Text,
    Time,
    TimeSeries,
)

from slactl.config import Config, PrometheusSource, Tier

SCHEMA_VERSION = 39  # Grafana 10.4 / 11.x; grafanalib's default (12) predates panels' JSON model
DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
TAG = "slactl"
SLO_TAG = "slactl-slo"
GRID_WIDTH = 24
UID_MAX = 40  # Grafana's limit

Steps = list[dict[str, Any]]


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
    """Services whose selectors are PromQL: the ones these dashboards can query."""
    return [
        n
        for n, s in cfg.services.items()
        if isinstance(cfg.sources.get(s.source), PrometheusSource)
    ]


def num(x: float) -> str:
    """A number for PromQL and JSON text: short, exact enough, never ``0.05000000000000004``."""
    return f"{x:.10g}"


def ref_id(i: int) -> str:
    """Grafana-style query ids: A..Z, AA, AB, ..."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


# --------------------------------------------------------------------------- thresholds


def steps(base: str, *points: tuple[float, str]) -> Steps:
    """Threshold steps: ``base`` colour below the first point, then each colour from its value."""
    return [{"color": base, "value": None}] + [{"color": c, "value": v} for v, c in points]


def uptime_steps(tiers: dict[str, Tier]) -> Steps:
    """Red below every tier, yellow while some tiers are met, green when all are."""
    targets = sorted({t.uptime_target for t in tiers.values()})
    if not targets:
        return steps("blue")
    colours = ["yellow"] * (len(targets) - 1) + ["green"]
    return steps("red", *zip(targets, colours, strict=True))


def latency_steps(target: float | None) -> Steps:
    return steps("green", (target, "red")) if target is not None else steps("green")


BURN_STEPS = steps("green", (1.0, "yellow"), (6.0, "orange"), (14.4, "red"))
BUDGET_STEPS = steps("red", (0.0, "orange"), (0.25, "green"))


def refid_override(ref: str, **props: Any) -> dict[str, Any]:
    """Field override for one query's series (thresholds per percentile, links per service)."""
    return {
        "matcher": {"id": "byFrameRefID", "options": ref},
        "properties": [{"id": k.replace("__", "."), "value": v} for k, v in props.items()],
    }


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


def links(items: Iterable[tuple[str, str]]) -> list[DataLink]:
    return [DataLink(title=title, linkUrl=url) for title, url in items]


def stat(
    title: str,
    description: str,
    queries: Sequence[tuple[str, str]],
    *,
    unit: str,
    thresholds: Steps,
    decimals: int | None = None,
    overrides: Sequence[dict[str, Any]] = (),
    panel_links: Sequence[DataLink] = (),
    text_mode: str = "auto",
    instant: bool = True,
) -> Stat:
    """A stat of instant queries, coloured by thresholds (the figure an SRE glances at)."""
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
        overrides=list(overrides),
        links=list(panel_links),
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
    panel_links: Sequence[DataLink] = (),
) -> TimeSeries:
    """A time series; given thresholds are drawn as lines so the target is visible."""
    return TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=targets(queries),
        unit=unit,
        thresholds=thresholds or steps("green"),
        thresholdsStyleMode="line" if thresholds else "off",
        overrides=list(overrides),
        drawStyle="bars" if bars else "line",
        fillOpacity=60 if bars else 10,
        interval=interval,
        stacking={"mode": "normal", "group": "A"} if stacked else {},
        legendDisplayMode="list",
        tooltipMode="multi",
        links=list(panel_links),
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
    return Heatmap(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=[target(expr, "{{le}}", fmt="heatmap")],
        unit=unit,
    )


# --------------------------------------------------------------------------- layout


class Grid:
    """Places panels left to right in 24 columns, wrapping; rows span the full width."""

    def __init__(self) -> None:
        self.panels: list[Panel] = []
        self._x = 0
        self._y = 0
        self._line_height = 0

    def _newline(self) -> None:
        self._y += self._line_height
        self._x = 0
        self._line_height = 0

    def _place(self, panel: Panel, w: int, h: int) -> None:
        self.panels.append(
            attr.evolve(
                panel, id=len(self.panels) + 1, gridPos=GridPos(h=h, w=w, x=self._x, y=self._y)
            )
        )
        self._x += w
        self._line_height = max(self._line_height, h)

    def row(self, title: str, description: str) -> None:
        if self._x:
            self._newline()
        self._place(RowPanel(title=title, description=description), GRID_WIDTH, 1)
        self._newline()

    def add(self, panel: Panel, w: int, h: int) -> None:
        if not 0 < w <= GRID_WIDTH:
            raise ValueError(f"panel width {w} is not in 1..{GRID_WIDTH}")
        if self._x + w > GRID_WIDTH:
            self._newline()
        self._place(panel, w, h)


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

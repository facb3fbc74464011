"""``slactl report monthly``: fill the store for the month, compute, render, write.

Everything is rendered in memory before the first file is written, so a source
that fails midway leaves the output folder as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from slactl.config import Config
from slactl.errors import UsageError
from slactl.model import Period, minute_to_iso
from slactl.pipeline.ingest import ingest, last_settled_minute
from slactl.pipeline.report import ServiceMinutes, monthly_report
from slactl.publish.files import write_all
from slactl.render.report import report_html, report_markdown, to_json
from slactl.sli.period import month_period
from slactl.sources.base import Injected
from slactl.store.sql import Store


@dataclass
class MonthlyResult:
    report: dict
    minutes: dict[str, ServiceMinutes]
    files: list[Path]
    pulled: dict[str, int]
    warnings: list[str]


def data_warnings(report: dict) -> list[str]:
    """Services without a single minute of data: almost always a selector or retention problem."""
    out = []
    for name, s in report["services"].items():
        m = s["minutes"]
        if m["total"] > m["excluded"] and not s["coverage_percent"]:
            out.append(
                f"service '{name}' has no data in {report['month']}: "
                "check its selectors and the source's retention"
            )
    return out


def measured_period(cfg: Config, month: str, now: datetime) -> tuple[Period, bool]:
    """The month, cut at the last settled minute while it is still running."""
    period = month_period(month, cfg.timezone)
    settled = last_settled_minute(now)
    if settled <= period.start:
        raise UsageError(f"month {month} has not started yet in {cfg.timezone}")
    if settled < period.end:
        return replace(period, end=settled), False
    return period, True


def compute_month(
    cfg: Config, store: Store, month: str, now: datetime, injected: Injected | None = None
) -> tuple[dict, dict[str, ServiceMinutes], dict[str, int]]:
    """Pull what the store lacks for ``month`` and compute its report dict."""
    period, complete = measured_period(cfg, month, now)
    pulled = ingest(cfg, store, period.start, period.end, now, injected=injected)
    report, minutes = monthly_report(cfg, store, period)
    if not complete:
        full = month_period(month, cfg.timezone)
        report["period"]["end"] = minute_to_iso(full.end)
        report["complete"] = False
        report["as_of"] = minute_to_iso(period.end)
    return report, minutes, pulled


def report_monthly(
    cfg: Config, store: Store, month: str, out: Path, now: datetime, injected: Injected | None = None
) -> MonthlyResult:
    report, minutes, pulled = compute_month(cfg, store, month, now, injected)
    stem = out / f"report-{month}"
    files = {
        stem.with_suffix(".json"): to_json(report),
        stem.with_suffix(".html"): report_html(report),
        stem.with_suffix(".md"): report_markdown(report),
    }
    write_all(files)
    return MonthlyResult(report, minutes, list(files), pulled, data_warnings(report))

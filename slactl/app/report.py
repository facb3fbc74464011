"""``slactl report monthly``: fill the store for the month, compute, render, write.

Everything is rendered in memory before the first file is written, so a source
that fails midway leaves the output folder as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from slactl.app.ingest import ingest, last_settled_minute
from slactl.app.measure import ServiceMinutes, measure_month
from slactl.config import Config
from slactl.errors import UsageError
from slactl.figures.doc import report_doc
from slactl.figures.month import MonthReport
from slactl.model import Period
from slactl.publish.files import write_all
from slactl.render.pdf import html_to_pdf
from slactl.render.report import report_html, report_markdown, to_json
from slactl.runtime import beside
from slactl.sli.period import month_period
from slactl.sources.base import Injected
from slactl.store.sql import Store


@dataclass
class MonthlyResult:
    report: dict  # the JSON document, as written
    figures: MonthReport
    minutes: dict[str, ServiceMinutes]
    files: list[Path]
    pulled: dict[str, int]
    warnings: list[str]


def data_warnings(figures: MonthReport, only: set[str] | None = None) -> list[str]:
    """Services without a single minute of data: almost always a selector or retention problem."""
    out = []
    for name, s in figures.services.items():
        if only is not None and name not in only:
            continue
        m = s.uptime.minutes
        if m.total > m.excluded and not s.coverage_percent:
            out.append(
                f"service '{name}' has no data in {figures.month}: "
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


def pull_and_measure(
    cfg: Config, store: Store, month: str, now: datetime, injected: Injected | None = None
) -> tuple[MonthReport, dict[str, ServiceMinutes], dict[str, int]]:
    """Pull what the store lacks for ``month`` and compute its typed figures."""
    period, complete = measured_period(cfg, month, now)
    pulled = ingest(cfg, store, period.start, period.end, now, injected=injected)
    figures, minutes = measure_month(cfg, store, period, complete=complete)
    return figures, minutes, pulled


def report_document(
    cfg: Config, store: Store, month: str, now: datetime, injected: Injected | None = None
) -> tuple[dict, dict[str, ServiceMinutes], dict[str, int]]:
    """:func:`pull_and_measure` with the figures as the report's JSON document."""
    figures, minutes, pulled = pull_and_measure(cfg, store, month, now, injected)
    return report_doc(figures), minutes, pulled


def report_monthly(
    cfg: Config,
    store: Store,
    month: str,
    out: Path,
    now: datetime,
    injected: Injected | None = None,
    *,
    pdf: bool | None = None,
) -> MonthlyResult:
    """Write the month's report; the PDF too when ``pdf`` (default: ``report.pdf``)."""
    figures, minutes, pulled = pull_and_measure(cfg, store, month, now, injected)
    stem = out / f"report-{month}"

    def the_rest() -> tuple[dict, bytes, bytes]:
        doc = report_doc(figures)
        return doc, to_json(doc), report_markdown(figures)

    # A large month: the HTML page is written by a second process meanwhile.
    html, (doc, json_text, markdown) = beside(lambda: report_html(figures), the_rest, items=len(figures.services))
    files = {
        stem.with_suffix(".json"): json_text,
        stem.with_suffix(".html"): html,
        stem.with_suffix(".md"): markdown,
    }
    if cfg.report.pdf if pdf is None else pdf:
        files[stem.with_suffix(".pdf")] = html_to_pdf(html)
    write_all(files)
    return MonthlyResult(doc, figures, minutes, list(files), pulled, data_warnings(figures))

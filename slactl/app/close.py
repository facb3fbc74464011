"""The monthly close and ``--publish``: a month's report and credits into ``publish.reports``.

Beside the status page's publishing (:mod:`slactl.app.statuspage`): the
scheduler's close, ``report monthly --publish`` and ``credits --publish`` all go
through :func:`publish_reports`, so they land in the same place.  A folder
target gets the files as ``report monthly --out`` writes them.  An S3 target
gets them under ``PREFIX/YYYY-MM/`` (the S3 publisher prunes what its last
manifest listed, so each month keeps its own prefix); publishing one part of a
month (only the report, say) keeps the month's other files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from slactl.app.credits import run_credits
from slactl.app.report import report_monthly
from slactl.config import Config
from slactl.sources.base import Injected
from slactl.store.sql import Store

# Writes a month's files into a folder; returns the files written and the warnings.
Producer = Callable[[Path], tuple[list[Path], list[str]]]


@dataclass
class Published:
    month: str
    where: str
    files: list[str]
    warnings: list[str]


def previous_month(now: datetime, zone: tzinfo) -> str:
    """The calendar month (in ``zone``) that ended last before ``now``."""
    last = now.astimezone(zone).replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def publish_reports(
    cfg: Config, month: str, produce: Producer, *, s3_client: Any = None, whole_month: bool = True
) -> Published:
    """Run ``produce`` into ``publish.reports`` (a folder, or a temp folder then S3)."""
    target = cfg.publish.reports
    if target.s3 is None:
        out = cfg.path(target.dir or "reports")
        written, warnings = produce(out)
        return Published(month, str(out), [str(p) for p in written], warnings)
    from slactl.publish.s3 import publish_s3  # boto3 only when S3 is used

    base = target.s3.prefix.strip("/")
    s3 = target.s3.model_copy(update={"prefix": f"{base}/{month}/" if base else f"{month}/"})
    with tempfile.TemporaryDirectory(prefix="slactl-close-") as tmp:
        _, warnings = produce(Path(tmp))
        files = {p.relative_to(tmp).as_posix(): p.read_bytes() for p in sorted(Path(tmp).rglob("*")) if p.is_file()}
        keys = publish_s3(files, s3, s3_client, keep_old=not whole_month)
    return Published(month, f"s3://{s3.bucket}/{s3.prefix}", keys, warnings)


def monthly_close(
    cfg: Config, store: Store, month: str, now: datetime, injected: Injected | None = None, *, s3_client: Any = None
) -> Published:
    """The month's report and credits, published together to ``publish.reports``."""

    def produce(out: Path) -> tuple[list[Path], list[str]]:
        report = report_monthly(cfg, store, month, out, now, injected)
        credits = run_credits(cfg, store, month, out, now, injected)
        return report.files + credits.files, list(dict.fromkeys(report.warnings + credits.warnings))

    return publish_reports(cfg, month, produce, s3_client=s3_client)

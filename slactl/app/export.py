"""``slactl export`` and the notebook API's DataFrames: minutes, incidents and credits.

With :mod:`slactl.app.export_files`, the only modules that use pandas
(imported on first use, so the base CLI never loads it).  Every frame is made from the typed figures the report and credits
compute (``MonthReport``, ``CreditsMonth``) and the same per-minute arrays, so
an export always equals the JSON of the same month.  Times are UTC
``datetime64[ns, UTC]``; money is :class:`~decimal.Decimal`.  XLSX cannot hold
a time zone, so there times are written as naive UTC.

``slactl export`` never holds a range of months as one frame: :func:`pieces`
yields the frame a piece at a time (a series group's month of minutes, a
month's incidents), and :mod:`slactl.app.export_files` writes each piece as it
comes, so a year of minutes takes no more memory than a month.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from slactl.app.credits import compute_credits
from slactl.app.export_files import Writer, staged, writing
from slactl.app.measure import ServiceMinutes
from slactl.app.report import data_warnings, pull_and_measure
from slactl.config import Config
from slactl.errors import UsageError
from slactl.figures.customer import CreditsMonth
from slactl.figures.month import MonthReport
from slactl.model import STATE_NAMES
from slactl.sla.credits import money
from slactl.sli import states
from slactl.sli.period import parse_month
from slactl.sources.base import Injected
from slactl.store.sql import Store, encode_group

if TYPE_CHECKING:
    import pandas as pd

WHATS = ("minutes", "incidents", "credits")
FORMATS = ("csv", "parquet", "xlsx")
MAX_MONTHS = 120
XLSX_MAX_ROWS = 1_048_576  # a sheet's rows, the header included
EXTRA_HINT = "pip install 'slactl[pandas]'"

MINUTE_COLUMNS = (
    "month", "service", "group", "minute", "state", "has_data", "good_ratio",
    "errors", "total", "probe_sum", "probe_count",
)  # fmt: skip
INCIDENT_COLUMNS = ("month", "scope", "service", "start", "end", "duration_minutes", "severity")
CREDIT_COLUMNS = (
    "month", "customer", "name", "tier", "currency", "monthly_fee", "uptime_percent",
    "minutes_up", "minutes_down", "minutes_no_data", "minutes_excluded", "credits_apply",
    "credit_percent", "credit_amount", "statement_number", "statement_date",
)  # fmt: skip


def pandas() -> Any:
    """pandas, or a usage error naming the extra that installs it (with pyarrow and openpyxl)."""
    try:
        import pandas as pd
    except ImportError:
        raise UsageError(f"exporting needs pandas, pyarrow and openpyxl: {EXTRA_HINT}") from None
    return pd


def _need(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise UsageError(f"this format needs {module}: {EXTRA_HINT}") from None


def month_range(first: str, last: str | None) -> list[str]:
    """Every calendar month from ``first`` to ``last`` (inclusive), oldest first."""
    y0, m0 = parse_month(first)
    y1, m1 = parse_month(last or first)
    a, b = y0 * 12 + m0 - 1, y1 * 12 + m1 - 1
    if a > b:
        raise UsageError(f"--month {first} is after --to {last}")
    if b - a >= MAX_MONTHS:
        raise UsageError(f"at most {MAX_MONTHS} months at once ({first} to {last} is {b - a + 1})")
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(a, b + 1)]


def file_name(what: str, months: list[str], fmt: str) -> str:
    """``WHAT-YYYY-MM.FORMAT``, or ``WHAT-YYYY-MM--YYYY-MM.FORMAT`` for a range."""
    span = months[0] if len(months) == 1 else f"{months[0]}--{months[-1]}"
    return f"{what}-{span}.{fmt}"


def _utc(pd: Any, minutes: np.ndarray) -> Any:
    return pd.to_datetime(np.asarray(minutes, dtype=np.int64) * 60, unit="s", utc=True)


def minute_pieces(cfg: Config, figures: MonthReport, minutes: dict[str, ServiceMinutes]) -> Iterator[pd.DataFrame]:
    """The rows of :func:`minutes_frame`, one frame per service and stored series group."""
    pd = pandas()
    for key in sorted(minutes):
        sm, svc = minutes[key], cfg.services[key]
        start, end = sm.start, sm.end
        groups = sm.groups  # read back from the store once per service (the report released them)
        for group in sorted(groups):
            ms = groups[group].window(start, end)
            ratio = ms.good_ratio()
            st = states.minute_states(ratio, sm.excluded, svc.slice_threshold, svc.no_data)
            n = end - start
            nan = np.full(n, np.nan)
            yield pd.DataFrame({
                "month": figures.month, "service": key, "group": encode_group(group),
                "minute": _utc(pd, np.arange(start, end)),
                "state": pd.Categorical.from_codes(st.astype(np.int8), [STATE_NAMES[i] for i in range(4)]),
                "has_data": ms.has_data.astype(bool), "good_ratio": ratio,
                "errors": ms.errors if ms.errors is not None else nan,
                "total": ms.total if ms.total is not None else nan,
                "probe_sum": ms.probe_sum if ms.probe_sum is not None else nan,
                "probe_count": ms.probe_count if ms.probe_count is not None else nan,
            })  # fmt: skip


def minutes_frame(cfg: Config, figures: MonthReport, minutes: dict[str, ServiceMinutes]) -> pd.DataFrame:
    """One row per minute and stored series group of every service, with its state by the service's rules."""
    pd = pandas()
    parts = list(minute_pieces(cfg, figures, minutes))
    if not parts:
        return pd.DataFrame({c: [] for c in MINUTE_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(MINUTE_COLUMNS)]


def incidents_frame(figures: MonthReport) -> pd.DataFrame:
    """One row per incident of every service, then the platform's (scope ``platform``, no service)."""
    pd = pandas()
    rows: list[tuple] = []
    for key in sorted(figures.services):
        for i in figures.services[key].uptime.incidents:
            rows.append((figures.month, "service", key, i.start, i.end, i.duration_minutes, i.severity))
    if figures.platform is not None:
        for i in figures.platform.incidents:
            rows.append((figures.month, "platform", None, i.start, i.end, i.duration_minutes, i.severity))
    df = pd.DataFrame(rows, columns=list(INCIDENT_COLUMNS))
    df["start"] = _utc(pd, df["start"].to_numpy(dtype=np.int64))
    df["end"] = _utc(pd, df["end"].to_numpy(dtype=np.int64))
    df["duration_minutes"] = df["duration_minutes"].astype("int64")
    return df


def _in_minor_units(amount: Decimal | None, digits: int) -> Decimal | None:
    """The amount as the ledger writes it (``1235`` JPY, ``12000.00`` USD), as a Decimal."""
    return None if amount is None else Decimal(money(amount, digits))


def credits_frame(month: CreditsMonth) -> pd.DataFrame:
    """One row per customer: the ledger of ``credits-YYYY-MM.json``, money as Decimal.

    Fee and credit carry the currency's minor-unit places, the same amounts
    (and, in CSV, the same text) as the JSON and the CSV ledger.
    """
    pd = pandas()
    rows = []
    for key in sorted(month.customers):
        c = month.customers[key]
        digits = c.credit.digits
        rows.append((
            month.month, key, c.name, c.tier, c.currency, _in_minor_units(c.fee, digits), c.uptime_percent,
            c.minutes.up, c.minutes.down, c.minutes.no_data, c.minutes.excluded, c.carries_credits,
            c.percent, _in_minor_units(c.amount, digits), c.number,
            None if month.statement_date is None else month.statement_date.isoformat(),
        ))  # fmt: skip
    df = pd.DataFrame(rows, columns=list(CREDIT_COLUMNS))
    df["uptime_percent"] = df["uptime_percent"].astype("float64")
    return df


def with_totals(df: pd.DataFrame) -> pd.DataFrame:
    """The ledger followed by one ``total`` row per customer and currency (fee and credit summed)."""
    pd = pandas()
    if df.empty:
        return df
    totals = []
    for (key, cur), part in df.groupby(["customer", "currency"], sort=True):
        amounts = [a for a in part["credit_amount"] if a is not None]
        totals.append({
            "month": "total", "customer": key, "name": part["name"].iloc[-1], "currency": cur,
            "monthly_fee": sum(part["monthly_fee"]), "credit_amount": sum(amounts) if amounts else None,
        })  # fmt: skip
    return pd.concat([df, pd.DataFrame(totals, columns=list(df.columns))], ignore_index=True)


@dataclass
class ExportResult:
    path: Path
    rows: int
    warnings: list[str] = field(default_factory=list)
    pulled: dict[str, int] = field(default_factory=dict)


def pieces(
    cfg: Config,
    store: Store,
    what: str,
    months: list[str],
    now: datetime,
    injected: Injected | None = None,
    warnings: list[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """The export's frame a piece at a time, oldest month first (pulling what the store lacks, as ``report`` does).

    Minutes come per service and series group of a month, incidents per month
    (empty ones too: together they are exactly the frame of the whole range),
    and credits as the one ledger of all the months (a row per customer and
    month, small).  Warnings are appended to ``warnings``.
    """
    pd = pandas()
    notes = warnings if warnings is not None else []
    if what == "credits":
        ledger = []
        for month in months:
            result = compute_credits(cfg, store, month, now, injected)
            ledger.append(credits_frame(result.figures))
            notes += result.warnings
        yield pd.concat(ledger, ignore_index=True)
        return
    for month in months:
        figures, minutes, _ = pull_and_measure(cfg, store, month, now, injected)
        notes += data_warnings(figures)
        if what == "incidents":
            yield incidents_frame(figures)
        else:
            empty = True
            for piece in minute_pieces(cfg, figures, minutes):
                empty = False
                yield piece
            if empty:
                yield pd.DataFrame({c: [] for c in MINUTE_COLUMNS})
        del figures, minutes  # the month's minutes go before the next month's are read


def frames(
    cfg: Config, store: Store, what: str, months: list[str], now: datetime, injected: Injected | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """One frame over the months and the warnings (for a notebook; ``export`` writes :func:`pieces` instead)."""
    warnings: list[str] = []
    parts = list(pieces(cfg, store, what, months, now, injected, warnings))
    return pandas().concat(parts, ignore_index=True), warnings


def run_export(
    cfg: Config,
    store: Store,
    what: str,
    first: str,
    last: str | None,
    fmt: str,
    out: Path,
    now: datetime,
    injected: Injected | None = None,
) -> ExportResult:
    """Compute the months one at a time and write each piece as it comes; the file appears whole, or not at all."""
    if what not in WHATS:
        raise UsageError(f"export what? {what!r} is not one of {', '.join(WHATS)}")
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    months = month_range(first, last)
    pandas()
    _need({"csv": "pandas", "parquet": "pyarrow", "xlsx": "openpyxl"}[fmt])
    path = out / file_name(what, months, fmt)
    warnings: list[str] = []
    rows = 0
    with ExitStack() as stack:
        writer: Writer | None = None
        for piece in pieces(cfg, store, what, months, now, injected, warnings):
            rows += len(piece)
            if fmt == "xlsx" and rows >= XLSX_MAX_ROWS:
                raise UsageError(
                    f"more than {XLSX_MAX_ROWS - 1:,} rows do not fit in one XLSX sheet: "
                    "export fewer months, or use --format parquet or csv"
                )
            if what == "credits" and fmt == "xlsx":
                piece = with_totals(piece)
            if writer is None:  # the folder and the file are made once there is something to write
                writer = stack.enter_context(writing(fmt, stack.enter_context(staged(path)), sheet=what))
            writer.add(piece)
    return ExportResult(path, rows, list(dict.fromkeys(warnings)))

"""``slactl export`` and the notebook API's DataFrames: minutes, incidents and credits.

The one module that uses pandas (imported on first use, so the base CLI never
loads it).  Every frame is made from the typed figures the report and credits
compute (``MonthReport``, ``CreditsMonth``) and the same per-minute arrays, so
an export always equals the JSON of the same month.  Times are UTC
``datetime64[ns, UTC]``; money is :class:`~decimal.Decimal`.  XLSX cannot hold
a time zone, so there times are written as naive UTC.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from slactl.app.credits import compute_credits
from slactl.app.measure import ServiceMinutes
from slactl.app.report import data_warnings, pull_and_measure
from slactl.config import Config
from slactl.errors import UsageError
from slactl.figures.customer import CreditsMonth
from slactl.figures.month import MonthReport
from slactl.model import STATE_NAMES
from slactl.publish.files import write_all
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


def minutes_frame(cfg: Config, figures: MonthReport, minutes: dict[str, ServiceMinutes]) -> pd.DataFrame:
    """One row per minute and stored series group of every service, with its state by the service's rules."""
    pd = pandas()
    parts = []
    for key in sorted(minutes):
        sm, svc = minutes[key], cfg.services[key]
        start, end = sm.combined.start, sm.combined.end
        for group in sorted(sm.groups):
            ms = sm.groups[group].window(start, end)
            ratio = ms.good_ratio()
            st = states.minute_states(ratio, sm.excluded, svc.slice_threshold, svc.no_data)
            n = end - start
            nan = np.full(n, np.nan)
            parts.append(pd.DataFrame({
                "month": figures.month, "service": key, "group": encode_group(group),
                "minute": _utc(pd, np.arange(start, end)),
                "state": pd.Categorical.from_codes(st.astype(np.int8), [STATE_NAMES[i] for i in range(4)]),
                "has_data": ms.has_data.astype(bool), "good_ratio": ratio,
                "errors": ms.errors if ms.errors is not None else nan,
                "total": ms.total if ms.total is not None else nan,
                "probe_sum": ms.probe_sum if ms.probe_sum is not None else nan,
                "probe_count": ms.probe_count if ms.probe_count is not None else nan,
            }))  # fmt: skip
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


def encode(df: pd.DataFrame, fmt: str, sheet: str) -> bytes:
    """The frame as file bytes: CSV (UTF-8, ISO times with ``+00:00``), Parquet, or XLSX (naive UTC)."""
    if fmt == "csv":
        return df.to_csv(index=False, lineterminator="\n").encode("utf-8")
    buf = io.BytesIO()
    if fmt == "parquet":
        _need("pyarrow")
        df.to_parquet(buf, index=False, engine="pyarrow")
        return buf.getvalue()
    _need("openpyxl")
    naive = df.copy()
    for col in naive.columns:
        if isinstance(naive[col].dtype, pandas().DatetimeTZDtype):
            naive[col] = naive[col].dt.tz_convert("UTC").dt.tz_localize(None)
        elif naive[col].dtype.name == "category":
            naive[col] = naive[col].astype(str)
    pd = pandas()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        naive.to_excel(writer, index=False, sheet_name=sheet)
        _text_not_formulas(writer.sheets[sheet], naive)
    return _stable_xlsx(buf.getvalue())


def _text_not_formulas(ws: Any, df: pd.DataFrame) -> None:
    """Keep user text such as ``=cmd|...`` a string: openpyxl stores any ``=...`` value as a formula."""
    for i, col in enumerate(df.columns, start=1):
        if df[col].dtype == object or str(df[col].dtype) in ("str", "string"):
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                if cell.data_type == "f":
                    cell.data_type = "s"


def _stable_xlsx(data: bytes) -> bytes:
    """The workbook with its write time and zip times fixed, so the same data gives the same bytes."""
    import re
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", body)
            dst.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


@dataclass
class ExportResult:
    path: Path
    rows: int
    warnings: list[str] = field(default_factory=list)
    pulled: dict[str, int] = field(default_factory=dict)


def frames(
    cfg: Config, store: Store, what: str, months: list[str], now: datetime, injected: Injected | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """One frame over the months (pulling what the store lacks, as ``report`` does) and the warnings."""
    pd = pandas()
    parts, warnings = [], []
    for month in months:
        if what == "credits":
            result = compute_credits(cfg, store, month, now, injected)
            parts.append(credits_frame(result.figures))
            warnings += result.warnings
            continue
        figures, minutes, _ = pull_and_measure(cfg, store, month, now, injected)
        parts.append(minutes_frame(cfg, figures, minutes) if what == "minutes" else incidents_frame(figures))
        warnings += data_warnings(figures)
    return pd.concat(parts, ignore_index=True), warnings


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
    """Compute the frame, encode it in memory, then write the one file atomically."""
    if what not in WHATS:
        raise UsageError(f"export what? {what!r} is not one of {', '.join(WHATS)}")
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    months = month_range(first, last)
    pandas()
    _need({"csv": "pandas", "parquet": "pyarrow", "xlsx": "openpyxl"}[fmt])
    df, warnings = frames(cfg, store, what, months, now, injected)
    rows = len(df)
    if fmt == "xlsx" and rows >= XLSX_MAX_ROWS:
        raise UsageError(
            f"{rows:,} rows do not fit in one XLSX sheet (at most {XLSX_MAX_ROWS - 1:,}): "
            "export fewer months, or use --format parquet or csv"
        )
    if what == "credits" and fmt == "xlsx":
        df = with_totals(df)
    path = out / file_name(what, months, fmt)
    write_all({path: encode(df, fmt, sheet=what)})
    return ExportResult(path, rows, list(dict.fromkeys(warnings)))


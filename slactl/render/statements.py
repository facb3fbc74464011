"""Customer credit statements (HTML) and the credits ledger (CSV).

Customer names, label values and maintenance reasons are user data that ends
up in documents sent to customers and imported by billing systems, so both
outputs are defensive: the HTML environment escapes everything (``autoescape``
is on for every template, whatever its file name), a statement's view is built
from one customer's figures only, and ledger cells that a spreadsheet would
run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from slactl.config import Config
from slactl.model import Period
from slactl.render.env import make_env
from slactl.render.report import fmt_num, fmt_pct
from slactl.sla import credits as sla
from slactl.sli.period import maintenance_mask

if TYPE_CHECKING:
    from slactl.pipeline.credits import CreditsResult, CustomerCredit

LEDGER_COLUMNS = (
    "month",
    "customer",
    "tier",
    "currency",
    "monthly_fee",
    "uptime_percent",
    "credit_percent",
    "credit_amount",
    "config_digest",
    "data_digest",
)
# Leading characters that make Excel, LibreOffice or Sheets treat a cell as a
# formula (OWASP "CSV injection"); tab and CR are included for the same reason.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_env = make_env()


def fmt_minutes(value: int) -> str:
    """Minutes as ``1 h 05 min`` when long enough to be hard to read as a bare count."""
    if value < 60:
        return f"{value} min"
    hours, minutes = divmod(value, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_when(iso: str) -> str:
    """``2026-01-04T00:10:00Z`` → ``2026-01-04 00:10 UTC``: shorter, still unambiguous."""
    if not iso.endswith("Z"):
        return iso
    text = iso[:-1].replace("T", " ")
    return text.removesuffix(":00") + " UTC"


_env.filters.update(pct=fmt_pct, num=fmt_num, mins=fmt_minutes, when=fmt_when)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(d: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: ``Decimal("1E+2")`` → ``"100"``."""
    return format(d.normalize(), "f") if d else "0"


def _maintenance(cfg: Config, c: CustomerCredit, p: Period) -> list[dict]:
    """Windows that excluded minutes of this customer's services, naming only those services."""
    own = [s.name for s in c.services]
    out = []
    for m in cfg.maintenance:
        touched = own if m.services is None else [s for s in own if s in m.services]
        minutes = int(maintenance_mask(p, [(m.start, m.end)]).sum()) if touched else 0
        if minutes:
            out.append(
                {"start": _iso(m.start), "end": _iso(m.end), "services": touched,
                 "reason": m.reason, "minutes": minutes}
            )  # fmt: skip
    return out


def _computation(c: CustomerCredit) -> dict:
    """The credit worked out line by line, as exact decimal strings."""
    up, down = c.counts["up"], c.counts["down"]
    uptime = None
    if up + down:
        exact = Decimal(100 * up) / Decimal(up + down)
        shown = exact.quantize(Decimal("0.000001"), rounding=ROUND_DOWN)  # truncated: keeps order
        uptime = f"{shown}{'' if shown == exact else '…'}"
    out: dict = {"up": up, "down": down, "uptime": uptime, "fee": sla.money(c.fee)}
    out["schedule"] = [
        {
            "below": _plain(sla.as_decimal(r.below)),
            "percent": _plain(r.percent),
            "matched": r is c.row,
        }
        for r in sorted(c.rows, key=lambda r: sla.as_decimal(r.below), reverse=True)
    ]
    out["row"] = None
    if c.row is not None:
        out["row"] = {
            "below": _plain(sla.as_decimal(c.row.below)),
            "percent": _plain(c.row.percent),
        }
    out["percent"] = out["exact"] = out["rounded"] = out["amount"] = None
    if c.percent is not None and c.amount is not None:
        exact = sla.exact_amount(c.fee, c.percent)
        out["percent"], out["exact"] = _plain(c.percent), sla.money(exact)
        out["rounded"] = sla.money(exact.quantize(sla.CENT, rounding=ROUND_HALF_UP))
        out["amount"] = sla.money(c.amount)
    out["cap"] = sla.money(sla.fee_cap(c.fee))
    out["capped"] = out["amount"] is not None and out["amount"] != out["rounded"]
    return out


def statement_view(result: CreditsResult, name: str, cfg: Config) -> dict:
    """What one customer's statement shows: that customer's figures and nothing of anyone else's.

    Label values are shown only for the labels the customer's own ``match``
    names, so a match selecting several groups never lists other tenants.
    """
    c, p = result.customers[name], result.period
    entry = result.doc["customers"][name]
    comp = _computation(c)
    services = []
    for s in c.services:
        labels = cfg.services[s.name].group_by
        shown = ", ".join(f"{k} = {v}" for k, v in sorted(c.match.items()) if k in labels)
        services.append(
            {"name": s.name, "selected": shown or "all series", **entry["services"][s.name]}
        )
    audit = {
        "config_digest": result.config_digest, "data_digest": c.data_digest,
        "encoding": result.doc["data_digest_encoding"], "start_minute": p.start, "end_minute": p.end,
    }  # fmt: skip
    return {
        "customer": name, "tier": c.tier, "target": c.target, "met": entry["met"],
        "month": p.month, "timezone": p.timezone, "period": result.doc["period"],
        "complete": result.complete, "as_of": result.doc.get("as_of"),
        "currency": c.currency, "monthly_fee": entry["monthly_fee"],
        "uptime_percent": c.uptime, "minutes": c.counts, "services": services,
        "maintenance": _maintenance(cfg, c, p), "credit_percent": comp["percent"],
        "credit_amount": comp["amount"], "computation": comp, "audit": audit,
    }  # fmt: skip


def statement_html(view: Mapping[str, object]) -> bytes:
    """One customer's statement page from :func:`statement_view`."""
    return _env.get_template("statement.html.j2").render(s=view).encode("utf-8")


def ledger_rows(result: CreditsResult) -> list[dict[str, str]]:
    """One row per customer, sorted by name, with the columns of the CSV ledger."""
    rows = []
    for name in sorted(result.customers):
        c, e = result.customers[name], result.doc["customers"][name]
        rows.append({
            "month": result.period.month, "customer": name, "tier": c.tier, "currency": c.currency,
            "monthly_fee": e["monthly_fee"], "uptime_percent": "" if c.uptime is None else repr(c.uptime),
            "credit_percent": "" if c.percent is None else _plain(c.percent),
            "credit_amount": e["credit_amount"] or "", "config_digest": result.config_digest,
            "data_digest": c.data_digest,
        })  # fmt: skip
    return rows


def safe_cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: formula-like values get a leading ``'``."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def ledger_csv(rows: Sequence[Mapping[str, str]]) -> bytes:
    """The ledger: a header row, then one row per customer, ``\\n`` line endings, UTF-8.

    Every cell goes through :func:`safe_cell`; the slactl-made figures never
    start with one of those characters, so only user text is ever changed.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(LEDGER_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(str(row[col])) for col in LEDGER_COLUMNS])
    return buf.getvalue().encode("utf-8")

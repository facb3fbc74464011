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
from decimal import ROUND_DOWN, Decimal

from slactl.figures.customer import CreditsMonth, CustomerMonth
from slactl.model import minute_to_iso
from slactl.money import format_day, format_exact, format_money, format_number
from slactl.render.env import make_env
from slactl.render.formats import fmt_duration, fmt_uptime, fmt_when
from slactl.sla import credits as sla

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


_env.filters.update(pct=fmt_uptime, mins=fmt_duration, when=fmt_when)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(d: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: ``Decimal("1E+2")`` → ``"100"``."""
    return format(d.normalize(), "f") if d else "0"


def _computation(c: CustomerMonth, locale: str) -> dict:
    """The credit's working (computed once, in ``sla``) as the strings a statement prints."""
    w = c.credit

    def cash(d: Decimal | None) -> str | None:
        return None if d is None or w.amount is None else format_money(d, c.currency, locale)

    uptime = None
    if w.uptime is not None:
        shown = w.uptime.quantize(Decimal("0.000001"), rounding=ROUND_DOWN)  # truncated: keeps order
        uptime = f"{format_number(shown, locale)}{'' if shown == w.uptime else '…'}"
    row = None if w.row is None else {"below": _num(w.row.below, locale), "percent": _num(w.row.percent, locale)}
    return {
        "up": format_number(w.up, locale), "down": format_number(w.down, locale), "uptime": uptime,
        "fee": format_money(w.fee, c.currency, locale),
        "schedule": [
            {"below": _num(r.below, locale), "percent": _num(r.percent, locale), "matched": r.matched}
            for r in w.schedule
        ],
        "row": row,
        "percent": None if w.percent is None or w.amount is None else _num(w.percent, locale),
        "exact": None if w.exact is None or w.amount is None else format_exact(w.exact, c.currency, locale),
        "rounded": cash(w.rounded), "amount": cash(w.amount),
        "cap": format_money(w.cap, c.currency, locale), "capped": w.capped,
    }  # fmt: skip


def _num(d: Decimal, locale: str) -> str:
    return format_number(Decimal(_plain(d)), locale)


def statement_view(month: CreditsMonth, c: CustomerMonth) -> dict:
    """What one customer's statement shows: that customer's figures and nothing of anyone else's.

    Label values are shown only for the labels the customer's own ``match``
    names (``ServiceShare.selected``), so a match selecting several groups
    never lists other tenants.  Money and dates are already text in the
    issuer's locale (``company.locale``), so the template only places them.
    """
    loc = month.company.locale
    services = [
        {
            "name": s.name, "selected": s.selected, "uptime_percent": s.uptime.uptime_percent,
            "minutes": s.uptime.minutes.as_dict(),
            "incidents": [
                {"start": minute_to_iso(i.start), "end": minute_to_iso(i.end),
                 "duration_minutes": i.duration_minutes, "severity": i.severity}
                for i in s.uptime.incidents
            ],
        }
        for s in c.services
    ]  # fmt: skip
    end = month.as_of if month.as_of is not None else month.end
    audit = {
        "config_digest": month.config_digest, "data_digest": c.data_digest,
        "encoding": month.digest_encoding, "start": minute_to_iso(month.start), "end": minute_to_iso(end),
    }  # fmt: skip
    maintenance = [
        {"start": _iso(m.start), "end": _iso(m.end), "services": list(m.services), "reason": m.reason,
         "minutes": m.minutes}
        for m in c.maintenance
    ]  # fmt: skip
    comp = _computation(c, loc)
    co = month.company
    dated = month.statement_date
    until = month.dispute_until
    return {
        "customer": c.name, "key": c.key, "contact": c.contact,
        "issuer": {"name": co.name, "address": list(co.address), "contact": co.contact},
        "number": c.number, "date": None if dated is None else format_day(dated, loc),
        "dispute_until": None if until is None else format_day(until, loc), "claim_days": co.claim_days,
        "tier": c.tier, "target": c.target, "met": c.met, "carries_credits": c.carries_credits,
        "month": month.month, "timezone": month.timezone,
        "period": {"start": minute_to_iso(month.start), "end": minute_to_iso(month.end)},
        "complete": month.complete, "as_of": None if month.as_of is None else minute_to_iso(month.as_of),
        "currency": c.currency, "monthly_fee": format_money(c.fee, c.currency, loc),
        "uptime_percent": c.uptime_percent, "minutes": c.minutes.as_dict(), "services": services,
        "maintenance": maintenance, "credit_percent": comp["percent"],
        "credit_amount": comp["amount"], "computation": comp, "audit": audit,
    }  # fmt: skip


def statement_html(view: Mapping[str, object]) -> bytes:
    """One customer's statement page from :func:`statement_view`."""
    return _env.get_template("statement.html.j2").render(s=view).encode("utf-8")


def ledger_rows(month: CreditsMonth) -> list[dict[str, str]]:
    """One row per customer, sorted by key, with the columns of the CSV ledger."""
    rows = []
    for key in sorted(month.customers):
        c = month.customers[key]
        rows.append({
            "month": month.month, "customer": key, "tier": c.tier, "currency": c.currency,
            "monthly_fee": sla.money(c.fee, c.credit.digits),
            "uptime_percent": "" if c.uptime_percent is None else repr(c.uptime_percent),
            "credit_percent": "" if c.percent is None else _plain(c.percent),
            "credit_amount": "" if c.amount is None else sla.money(c.amount, c.credit.digits),
            "config_digest": month.config_digest, "data_digest": c.data_digest,
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

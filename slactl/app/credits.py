"""``slactl credits``: per-customer composite uptime, credits, a ledger and statements (SPEC 2.8, 5).

Each customer is measured only on its own series: for every covered service the
stored groups its ``match`` selects (label values compared as data, never put
into a query) are combined and given that service's maintenance, threshold and
``no_data`` policy; the services' states then make the customer's minutes.
Everything is rendered in memory before the first file is written, so a failure
leaves the output folder as it was.

Statement files are ``statements/{safe}-{YYYY-MM}.html`` (and ``.pdf``).  ``safe``
is the customer's name when it is made only of ``[A-Za-z0-9._-]``, does not start
with a dot, is at most 80 characters and no other customer's name equals it
ignoring case (case-insensitive file systems); otherwise it is the name with
every other character replaced by ``_`` (cut to 80, a leading dot made ``_``)
followed by ``-`` and the first 8 hex digits of SHA-256 of the UTF-8 name.

A statement's number is ``SC-{YYYYMM}-{H}``: the month without its dash and
``H``, the first 10 hex digits (upper case) of SHA-256 of the UTF-8 customer
key.  It is the same on every rerun, differs between months, and two customers
of one config never share one (a clash, which 40 bits make very unlikely, is
refused).  Its date is the first day after the month in ``timezone`` unless
``credits --date`` gives another.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np

from slactl.app.measure import ServiceMinutes, company_of
from slactl.app.report import data_warnings, measured_period, pull_and_measure
from slactl.config import Config
from slactl.errors import DataError, UsageError
from slactl.figures import compute
from slactl.figures.customer import CreditsMonth, CustomerMonth, MaintenanceShare, ServiceShare
from slactl.figures.doc import credits_doc
from slactl.figures.month import MonthReport
from slactl.model import GroupKey, MinuteSeries, Period, combine, minute_to_iso
from slactl.money import minor_digits
from slactl.publish.files import write_all
from slactl.render.pdf import html_to_pdf
from slactl.render.report import to_json
from slactl.render.statements import ledger_csv, ledger_rows, statement_html, statement_view
from slactl.sla import credits as sla
from slactl.sla.verdicts import meets
from slactl.sli import states
from slactl.sli.period import maintenance_mask
from slactl.sources.base import Injected
from slactl.store.sql import Store, encode_group

DIGEST_ENCODING = "slactl-credits-data/1"
_RATIO_FIELDS = ("has_data", "errors", "total")
_PROBE_FIELDS = ("has_data", "probe_sum", "probe_count")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX_STEM = 80


@dataclass
class CreditsResult:
    doc: dict  # the credits JSON document, as written
    figures: CreditsMonth
    period: Period
    pulled: dict[str, int]
    warnings: list[str]
    files: list[Path] = field(default_factory=list)

    @property
    def customers(self) -> dict[str, CustomerMonth]:
        return self.figures.customers

    @property
    def complete(self) -> bool:
        return self.figures.complete

    @property
    def config_digest(self) -> str:
        return self.figures.config_digest


def customer_groups(
    groups: Iterable[GroupKey], match: Mapping[str, str], group_by: list[str]
) -> list[GroupKey]:
    """The stored groups of a service that belong to a customer, sorted.

    Without ``group_by`` the service is not split and all of it applies.  With
    it, a group belongs when its value of every ``group_by`` label the customer
    matches equals the match value exactly; labels of the match that this
    service does not split by are for the customer's other services.  A match
    naming none of the service's labels selects nothing (config validation
    rejects that), never everything.
    """
    if not group_by:
        return sorted(groups)
    wanted = {label: value for label, value in match.items() if label in group_by}
    if not wanted:
        return []
    return sorted(g for g in groups if all(dict(g).get(lbl) == val for lbl, val in wanted.items()))


def config_digest(cfg: Config) -> str:
    """SHA-256 (hex) of the config file's bytes, so a statement names the exact config used.

    The file is looked up as loaded, then next to the config's folder (the
    working directory may have changed).  A config not read from a file is
    digested as its canonical JSON (``to_json(cfg.model_dump(mode="json"))``).
    """
    if cfg.source_file:
        for path in (Path(cfg.source_file), cfg.base_dir / Path(cfg.source_file).name):
            try:
                return hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                continue
    return hashlib.sha256(to_json(cfg.model_dump(mode="json"))).hexdigest()


def data_digest(used: Mapping[str, Mapping[GroupKey, MinuteSeries]], start: int, end: int) -> str:
    """SHA-256 (hex) of exactly the per-minute inputs a customer's figures came from.

    Encoding ``slactl-credits-data/1``, all text UTF-8: the line
    ``slactl-credits-data/1\\t{start}\\t{end}\\n`` (epoch minutes of the measured
    period, end exclusive); then for each service in sorted name order, each of
    its selected groups in sorted order, each field in the order ``has_data,
    errors, total`` (ratio form) or ``has_data, probe_sum, probe_count`` (probe
    form): the line ``{service}\\t{group}\\t{field}\\n``, with ``group`` the compact
    JSON array of ``[label, value]`` pairs (``[]`` for an unsplit service), followed
    by the field's ``end - start`` values as little-endian float64 (``has_data`` as
    0.0/1.0).  Recompute it from the store with ``Store.load`` and this function.
    """
    h = hashlib.sha256(f"{DIGEST_ENCODING}\t{start}\t{end}\n".encode())
    for service in sorted(used):
        for group in sorted(used[service]):
            ms = used[service][group].window(start, end)
            arrays = {"has_data": ms.has_data.astype("<f8"), **ms.arrays()}
            for name in _RATIO_FIELDS if ms.kind == "ratio" else _PROBE_FIELDS:
                h.update(f"{service}\t{encode_group(group)}\t{name}\n".encode())
                h.update(np.ascontiguousarray(arrays[name], dtype="<f8").tobytes())
    return h.hexdigest()


def statement_stems(names: Iterable[str], month: str) -> dict[str, str]:
    """Safe, unique file stems ``{safe}-{month}`` for customer names (see the module doc)."""
    names = list(names)
    base = {}
    for n in names:
        b = _UNSAFE.sub("_", n)[:_MAX_STEM] or "_"
        base[n] = "_" + b[1:] if b.startswith(".") else b
    clash = Counter(n.casefold() for n in names if base[n] == n)
    stems = {}
    for n in names:
        b = base[n]
        if b != n or clash[b.casefold()] > 1:
            b = f"{b}-{hashlib.sha256(n.encode()).hexdigest()[:8]}"
        stems[n] = f"{b}-{month}"
    if len({s.casefold() for s in stems.values()}) != len(stems):
        raise DataError("two customers' statement file names collide; rename one of the customers")
    return stems


def statement_numbers(keys: Iterable[str], month: str) -> dict[str, str]:
    """Statement numbers ``SC-{YYYYMM}-{H}`` per customer key (see the module doc)."""
    out = {k: f"SC-{month.replace('-', '')}-{hashlib.sha256(k.encode()).hexdigest()[:10].upper()}" for k in keys}
    if len(set(out.values())) != len(out):
        raise DataError("two customers' statement numbers collide; rename one of the customer keys")
    return out


def parse_statement_date(text: str | None) -> date | None:
    """``--date YYYY-MM-DD`` as a date; a bad one is a usage error."""
    if text is None:
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--date {text!r} is not a date YYYY-MM-DD") from None


def first_day_after(period: Period) -> date:
    """The local calendar day on which the month's statements are dated by default."""
    y, m = (int(x) for x in period.month.split("-"))
    return date(y + m // 12, m % 12 + 1, 1)


def _selected(cfg: Config, service: str, match: Mapping[str, str]) -> str:
    """The customer's own label values for a split service; never another tenant's."""
    labels = cfg.services[service].group_by
    return ", ".join(f"{k} = {v}" for k, v in sorted(match.items()) if k in labels) or "all series"


def _measure_service(
    cfg: Config, name: str, cust_name: str, match: dict[str, str], sm: ServiceMinutes, month: str
) -> tuple[ServiceShare, np.ndarray, dict[GroupKey, MinuteSeries]]:
    svc = cfg.services[name]
    groups = sm.groups  # read back from the store: the report kept only the states
    picked = customer_groups(groups, match, svc.group_by)
    if svc.group_by and not picked:
        have = "no series at all" if not groups else f"{len(groups)} other group(s)"
        raise DataError(
            f"customer {cust_name!r} matches no series of service {name!r} in {month} "
            f"(match {dict(sorted(match.items()))!r}, group_by {svc.group_by}; the service has {have}): "
            "check the customer's match and the service's selectors"
        )
    start, end = sm.start, sm.end
    mine = {g: groups[g] for g in picked}
    del groups
    combined = combine(list(mine.values()), svc.availability.kind, start, end)
    st = states.minute_states(combined.good_ratio(), sm.excluded, svc.slice_threshold, svc.no_data)
    sev = cfg.incidents.severity
    up = compute.uptime_of(st, start, svc.incident_merge_gap_minutes, sev.major_minutes, sev.critical_minutes)
    share = ServiceShare(name, cfg.display_name(name), tuple(picked), _selected(cfg, name, match), up)
    return share, st, mine


def _maintenance(cfg: Config, services: list[str], p: Period) -> tuple[MaintenanceShare, ...]:
    """Windows that excluded minutes of these services, naming only those services."""
    out = []
    for m in cfg.maintenance:
        touched = services if m.services is None else [s for s in services if s in m.services]
        minutes = int(maintenance_mask(p, [(m.start, m.end)]).sum()) if touched else 0
        if minutes:
            out.append(MaintenanceShare(m.start, m.end, tuple(touched), m.reason, minutes))
    return tuple(out)


def _measure_customer(
    cfg: Config, name: str, minutes: dict[str, ServiceMinutes], period: Period, stem: str, number: str
) -> CustomerMonth:
    cust = cfg.customers[name]
    tier = cfg.tiers[cust.tier]
    measured = [
        _measure_service(cfg, s, name, cust.match, minutes[s], period.month)
        for s in dict.fromkeys(cust.services)
    ]
    services = tuple(m[0] for m in measured)
    counts = compute.minutes_of(sla.composite_states([m[1] for m in measured]))
    uptime = states.uptime_percent({"up": counts.up, "down": counts.down})
    used = {s.key: m[2] for s, m in zip(services, measured, strict=True)}
    return CustomerMonth(
        key=name, name=cfg.customer_name(name), contact=cust.contact, tier=cust.tier,
        target=tier.uptime_target, met=meets(uptime, tier.uptime_target), fee=cust.monthly_fee,
        currency=cust.currency, match=dict(cust.match), services=services, minutes=counts,
        uptime_percent=uptime,
        credit=sla.work_out(
            counts.up, counts.down, uptime, cust.monthly_fee, tier.credits, digits=minor_digits(cust.currency)
        ),
        maintenance=_maintenance(cfg, [s.key for s in services], period),
        data_digest=data_digest(used, period.start, period.end), stem=stem, number=number,
    )  # fmt: skip


def compute_credits(
    cfg: Config,
    store: Store,
    month: str,
    now: datetime,
    injected: Injected | None = None,
    statement_date: date | None = None,
    computed: tuple[MonthReport, dict[str, ServiceMinutes], dict[str, int]] | None = None,
) -> CreditsResult:
    """Pull what the store lacks for ``month`` and compute every customer's credit.

    ``computed`` is :func:`pull_and_measure`' result when the caller already has it
    (the notebook API), so the month is measured once.
    """
    period, complete = measured_period(cfg, month, now)
    figures, minutes, pulled = computed or pull_and_measure(cfg, store, month, now, injected)
    names = sorted(cfg.customers)
    stems = statement_stems(names, period.month)
    numbers = statement_numbers(names, period.month)
    month_fig = CreditsMonth(
        month=period.month, timezone=period.timezone, start=figures.start, end=figures.end,
        complete=complete, as_of=None if complete else period.end, company=company_of(cfg),
        config_digest=config_digest(cfg), digest_encoding=DIGEST_ENCODING,
        customers={n: _measure_customer(cfg, n, minutes, period, stems[n], numbers[n]) for n in names},
        statement_date=statement_date or first_day_after(period),
    )  # fmt: skip
    used = {s for c in cfg.customers.values() for s in c.services}
    warnings = data_warnings(figures, only=used)
    if not complete:
        warnings.append(
            f"{period.month} is still running: credits are provisional (as of {minute_to_iso(period.end)})"
        )
    for n, c in month_fig.customers.items():
        if c.uptime_percent is None:
            warnings.append(
                f"customer {n!r} has no measured minute in {period.month}: no credit computed"
            )
    return CreditsResult(credits_doc(month_fig), month_fig, period, pulled, warnings)


def run_credits(
    cfg: Config,
    store: Store,
    month: str,
    out: Path,
    now: datetime,
    injected: Injected | None = None,
    statement_date: date | None = None,
) -> CreditsResult:
    """Compute, render every file in memory, then write them all (JSON, CSV, statements)."""
    result = compute_credits(cfg, store, month, now, injected, statement_date)
    m = result.period.month
    files: dict[Path, bytes] = {
        out / f"credits-{m}.json": to_json(result.doc),
        out / f"credits-{m}.csv": ledger_csv(ledger_rows(result.figures)),
    }
    for c in result.customers.values():
        html = statement_html(statement_view(result.figures, c))
        files[out / "statements" / f"{c.stem}.html"] = html
        files[out / "statements" / f"{c.stem}.pdf"] = html_to_pdf(html)
    write_all(files)
    result.files = list(files)
    return result

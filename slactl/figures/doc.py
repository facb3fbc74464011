"""The report's JSON document (SPEC section 4) laid out from the typed figures.

Only plain Python values in a fixed order, numbers unrounded, so the same
figures always serialise to the same bytes.  Keys beyond the SPEC's come after
the SPEC's own in each object.
"""

from __future__ import annotations

from typing import Any

from slactl.figures.customer import CreditsMonth, CustomerMonth
from slactl.figures.month import HistoryMonth, Incident, MonthReport, ServiceMonth, Summary, Uptime
from slactl.model import minute_to_iso
from slactl.sla.credits import money, percent_json


def incident_doc(i: Incident) -> dict[str, Any]:
    return {
        "start": minute_to_iso(i.start),
        "end": minute_to_iso(i.end),
        "duration_minutes": i.duration_minutes,
        "severity": i.severity,
    }


def uptime_doc(u: Uptime) -> dict[str, Any]:
    return {
        "uptime_percent": u.uptime_percent,
        "minutes": u.minutes.as_dict(),
        "incidents": [incident_doc(i) for i in u.incidents],
        "incident_count": u.incident_count,
        "mttr_minutes": u.mttr_minutes,
    }


def summary_doc(s: Summary | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "uptime_percent": s.uptime_percent,
        "incident_count": s.incident_count,
        "mttr_minutes": s.mttr_minutes,
        "down_minutes": s.minutes.down,
        "incidents_by_severity": dict(s.severity),
    }


def history_doc(h: HistoryMonth) -> dict[str, Any]:
    return {
        "month": h.month,
        "platform": summary_doc(h.platform),
        "services": {k: summary_doc(v) for k, v in h.services.items()},
    }


def service_doc(s: ServiceMonth) -> dict[str, Any]:
    """One entry of ``services``: the SPEC's fields, then slactl's extensions."""
    u = s.uptime
    lat = s.latency
    return {
        "uptime_percent": u.uptime_percent,
        "minutes": u.minutes.as_dict(),
        "coverage_percent": s.coverage_percent,
        "incidents": [incident_doc(i) for i in u.incidents],
        "incident_count": u.incident_count,
        "mttr_minutes": u.mttr_minutes,
        "error_ratio": s.error_ratio,
        "latency_seconds": None if lat is None else {k: p.value for k, p in lat.items()},
        "latency_bounds_seconds": None
        if lat is None
        else {k: None if p.value is None else [p.lower, p.upper] for k, p in lat.items()},
        "tiers": {k: {"target": v.target, "met": v.met} for k, v in s.tiers.items()},
        "latency_targets": None
        if s.latency_targets is None
        else {k: {"target": v.target, "met": v.met, "certain": v.certain} for k, v in s.latency_targets.items()},
        # Extensions beyond the SPEC's fields:
        "name": s.name,
        "description": s.description,
        "group": s.group,
        "kind": s.kind,
        "objective": s.objective,
        "objective_source": s.objective_source,
        "slice_threshold": s.slice_threshold,
        "no_data_policy": s.no_data_policy,
        "throughput": None
        if s.throughput is None
        else {
            "mean_rps": s.throughput.mean_rps,
            "peak_rps": s.throughput.peak_rps,
            "peak_at": None if s.throughput.peak_at is None else minute_to_iso(s.throughput.peak_at),
        },
        "groups": [
            {"labels": dict(g.labels), **uptime_doc(g.uptime)} for g in s.groups
        ],
        "daily": [
            {"date": d.date, "uptime_percent": d.uptime_percent, "minutes": d.minutes.as_dict()} for d in s.daily
        ],
    }


def report_doc(r: MonthReport) -> dict[str, Any]:
    """The whole ``report-YYYY-MM.json`` document."""
    doc: dict[str, Any] = {
        "month": r.month,
        "timezone": r.timezone,
        "period": {"start": minute_to_iso(r.start), "end": minute_to_iso(r.end)},
        "services": {k: service_doc(s) for k, s in r.services.items()},
    }
    if not r.complete:
        doc["complete"] = False
        doc["as_of"] = None if r.as_of is None else minute_to_iso(r.as_of)
    doc["platform"] = None if r.platform is None else {
        **uptime_doc(r.platform),
        "incident_merge_gap_minutes": r.platform_merge_gap,
    }
    doc["history"] = [history_doc(h) for h in r.history]
    doc["incident_severity"] = {"major_minutes": r.severity_minutes[0], "critical_minutes": r.severity_minutes[1]}
    doc["company"] = {"name": r.company.name, "contact": r.company.contact}
    return doc


def customer_doc(c: CustomerMonth, m: CreditsMonth | None = None) -> dict[str, Any]:
    """One entry of ``customers`` (SPEC 5 fields first, then extensions, in a fixed order)."""
    w = c.credit
    return {
        "tier": c.tier,
        "uptime_percent": c.uptime_percent,
        "minutes": c.minutes.as_dict(),
        "credit_percent": percent_json(w.percent),
        "credit_amount": None if w.amount is None else money(w.amount, w.digits),
        "currency": c.currency,
        "services": {
            s.key: {
                "uptime_percent": s.uptime.uptime_percent,
                "minutes": s.uptime.minutes.as_dict(),
                "incidents": [incident_doc(i) for i in s.uptime.incidents],
                "groups": len(s.groups),
            }
            for s in c.services
        },
        "monthly_fee": money(c.fee, w.digits),
        "tier_target": c.target,
        "met": c.met,
        "credit_row": None if w.row is None else {"below": float(w.row.below), "percent": percent_json(w.row.percent)},
        "credits_apply": c.carries_credits,
        "statement": {
            "number": c.number,
            "date": None if m is None or m.statement_date is None else m.statement_date.isoformat(),
            "dispute_until": None if m is None or m.dispute_until is None else m.dispute_until.isoformat(),
            "html": f"statements/{c.stem}.html",
            "pdf": f"statements/{c.stem}.pdf",
        },
        "data_digest": c.data_digest,
        "name": c.name,
        "contact": c.contact,
    }


def credits_doc(m: CreditsMonth) -> dict[str, Any]:
    """The whole ``credits-YYYY-MM.json`` document."""
    doc: dict[str, Any] = {
        "month": m.month,
        "timezone": m.timezone,
        "period": {"start": minute_to_iso(m.start), "end": minute_to_iso(m.end)},
    }
    if not m.complete:
        doc["complete"] = False
        doc["as_of"] = None if m.as_of is None else minute_to_iso(m.as_of)
    doc["config_digest"], doc["data_digest_encoding"] = m.config_digest, m.digest_encoding
    doc["customers"] = {k: customer_doc(c, m) for k, c in m.customers.items()}
    return doc

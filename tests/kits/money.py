"""A month of money on the built-in sample source: three tiers, a tenant-grouped ratio service and a probe.

Shared by the statement and export tests, which differ only in customers,
company and extras.  ``customers`` maps a key to the fields of its config entry;
each customer is matched on ``tenant=<key>``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

TIERS = {
    "basic": {"uptime_target": 99.9, "credits": []},
    "professional": {"uptime_target": 99.95, "credits": [{"below": 99.95, "percent": 10}]},
    "enterprise": {"uptime_target": 99.99, "credits": [{"below": 99.99, "percent": 10}, {"below": 99.0, "percent": 30}]},
}
SERVICES = {
    "api": {"source": "gen", "group_by": ["tenant"],
            "availability": {"errors": 'http_requests_total{code=~"5.."}', "total": "http_requests_total"}},
    "auth": {"source": "gen", "availability": {"probe": "probe_success"}},
}  # fmt: skip


def write_money_config(folder: Path, seed: int, customers: dict[str, dict], **extra) -> Path:
    """``folder/slactl.yaml`` with ``customers`` (each matched on its tenant) and ``extra`` top-level keys."""
    doc = {
        "sources": {"gen": {"type": "sample", "seed": seed}},
        "store": "sqlite:///slactl.db",
        "tiers": TIERS,
        "services": SERVICES,
        "customers": {key: {**fields, "match": {"tenant": key}} for key, fields in customers.items()},
        **extra,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "slactl.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path

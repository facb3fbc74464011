"""`slactl credits` end to end on the built-in sample source, with hostile customer names.

Each statement must hold its own customer's data and nobody else's, escape
everything from the config, load in a browser without errors or outside
requests, and print to a PDF that renders.  The ledger must not be a way to run
formulas in a spreadsheet.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml
from kits import browser
from markupsafe import escape

from slactl.app.credits import (
    compute_credits,
    customer_groups,
    data_digest,
    run_credits,
    statement_stems,
)
from slactl.app.ingest import fingerprint
from slactl.config import load
from slactl.errors import DataError
from slactl.model import MinuteSeries
from slactl.money import format_money, minor_digits
from slactl.sla.credits import credit_amount, credit_percent
from slactl.sli.period import month_period
from slactl.store.sql import Store

MONTH = "2026-01"
NOW = datetime(2026, 2, 3, tzinfo=UTC)
REASON = 'Engine <b>upgrade</b> & "failover"'
# name: (tier, fee, currency, services, tenant label value)
CUSTOMERS = {
    'acme"}': ("enterprise", "31415.92", "USD", ["api", "auth"], 'acme"}'),
    "<script>alert(1)</script>": (
        "professional",
        "4999.99",
        "EUR",
        ["api", "db"],
        '<script>alert("t")</script>',
    ),
    "Ünïcödé 客户": ("standard", "777", "JPY", ["api"], "Ünïcödé 客户"),
    "=cmd|' /C calc'!A0": ("standard", "1234.57", "USD", ["api", "auth"], "=cmd|' /C calc'!A0"),
    "globex": ("standard", "8642.13", "GBP", ["auth"], None),
}
SPEC_KEYS = [
    "tier",
    "uptime_percent",
    "minutes",
    "credit_percent",
    "credit_amount",
    "currency",
    "services",
]


def write_config(folder: Path, customers: dict = CUSTOMERS) -> Path:
    tiers = {
        "standard": (99.9, [(99.9, 10), (99.0, 25), (95.0, 100)]),
        "professional": (99.95, [(99.95, 10), (99.0, 25), (95.0, 100)]),
        "enterprise": (99.99, [(99.99, 10), (99.0, 30), (95.0, 100)]),
    }
    doc = {
        "sources": {"gen": {"type": "sample", "seed": 7}},
        "store": "sqlite:///slactl.db",
        "tiers": {
            n: {"uptime_target": t, "credits": [{"below": b, "percent": p} for b, p in rows]}
            for n, (t, rows) in tiers.items()
        },
        "services": {
            "api": {
                "source": "gen",
                "availability": {
                    "errors": 'http_requests_total{code=~"5.."}',
                    "total": "http_requests_total",
                },
                "group_by": ["tenant"],
                "incident_merge_gap_minutes": 2,
            },
            "auth": {"source": "gen", "availability": {"probe": "probe_success"}},
            "db": {"source": "gen", "no_data": "down", "availability": {"probe": "pg_up"}},
        },
        "customers": {
            name: {
                "tier": tier,
                "monthly_fee": fee,
                "currency": cur,
                "services": svcs,
                **({"match": {"tenant": tenant}} if tenant is not None else {}),
            }
            for name, (tier, fee, cur, svcs, tenant) in customers.items()
        },  # fmt: skip
        "maintenance": [
            {
                "start": "2026-01-17T02:00:00Z",
                "end": "2026-01-17T04:00:00Z",
                "services": ["db"],
                "reason": REASON,
            }
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "slactl.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("credits")
    cfg = load(write_config(folder))
    store = Store(cfg.store_url)
    try:
        result = run_credits(cfg, store, MONTH, folder / "out", NOW)
        yield cfg, store, result, folder / "out"
    finally:
        store.close()


def statements(out: Path) -> dict[str, str]:
    """Customer name → its statement HTML, found through the JSON's statement paths."""
    doc = json.loads((out / f"credits-{MONTH}.json").read_text(encoding="utf-8"))
    return {
        n: (out / c["statement"]["html"]).read_text(encoding="utf-8")
        for n, c in doc["customers"].items()
    }


def test_writes_json_csv_and_a_statement_pair_per_customer(run):
    _, _, result, out = run
    assert result.warnings == []
    names = sorted(p.name for p in (out / "statements").iterdir())
    assert len(names) == 2 * len(CUSTOMERS)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+-2026-01\.(html|pdf)", n) for n in names), names
    assert "globex-2026-01.html" in names  # a clean name is kept as it is
    assert sorted(p.name for p in out.iterdir()) == [
        "credits-2026-01.csv",
        "credits-2026-01.json",
        "statements",
    ]
    assert set(result.files) == {out / "credits-2026-01.json", out / "credits-2026-01.csv"} | {
        out / "statements" / n for n in names
    }


def test_json_shape_and_values(run):
    cfg, _, _, out = run
    doc = json.loads((out / f"credits-{MONTH}.json").read_text(encoding="utf-8"))
    assert doc["month"] == MONTH and list(doc)[-1] == "customers"
    assert set(doc["customers"]) == set(CUSTOMERS)
    assert (
        doc["config_digest"]
        == hashlib.sha256((out.parent / "slactl.yaml").read_bytes()).hexdigest()
    )
    for name, c in doc["customers"].items():
        tier, fee, currency, services, _ = CUSTOMERS[name]
        assert list(c)[: len(SPEC_KEYS)] == SPEC_KEYS, name
        assert (c["tier"], c["currency"], Decimal(c["monthly_fee"])) == (tier, currency, Decimal(fee))
        m = c["minutes"]
        assert m["total"] == 44640 == m["up"] + m["down"] + m["no_data"] + m["excluded"]
        assert c["uptime_percent"] == pytest.approx(100 * m["up"] / (m["up"] + m["down"]))
        assert list(c["services"]) == services
        for s in c["services"].values():
            assert 0 <= s["uptime_percent"] <= 100 and s["minutes"]["total"] == 44640
            assert c["minutes"]["down"] >= s["minutes"]["down"] or s["minutes"]["excluded"] > 0
        rows = cfg.tiers[tier].credits
        percent = credit_percent(c["uptime_percent"], rows)
        assert c["credit_percent"] == int(percent) and isinstance(c["credit_percent"], int)
        digits = minor_digits(currency)  # SPEC v3: the currency's minor unit (JPY none, USD two)
        assert c["credit_amount"] == str(credit_amount(Decimal(fee), percent, digits))
        assert re.fullmatch(r"\d+" + (rf"\.\d{{{digits}}}" if digits else ""), c["credit_amount"])
        assert c["met"] == (c["uptime_percent"] >= c["tier_target"])
        assert re.fullmatch(r"[0-9a-f]{64}", c["data_digest"])
    # Every customer of this month has a distinct data digest (different series).
    assert len({c["data_digest"] for c in doc["customers"].values()}) == len(CUSTOMERS)
    db = doc["customers"]["<script>alert(1)</script>"]["services"]["db"]
    assert db["minutes"]["excluded"] == 120


def test_same_store_and_config_give_byte_identical_json_and_csv(run):
    cfg, store, _, out = run
    again = out.parent / "again"
    run_credits(cfg, store, MONTH, again, NOW)
    for name in (f"credits-{MONTH}.json", f"credits-{MONTH}.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes()
    first, second = statements(out), statements(again)
    assert first == second


def test_csv_ledger_is_a_safe_billing_import(run):
    _, _, _, out = run
    raw = (out / f"credits-{MONTH}.csv").read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    doc = json.loads((out / f"credits-{MONTH}.json").read_text(encoding="utf-8"))
    assert list(rows[0]) == [
        "month", "customer", "tier", "currency", "monthly_fee", "uptime_percent",
        "credit_percent", "credit_amount", "config_digest", "data_digest",
    ]  # fmt: skip
    assert [r["customer"].removeprefix("'") for r in rows] == sorted(CUSTOMERS)
    for r in rows:
        assert not r["customer"].startswith(("=", "+", "-", "@")), r
        c = doc["customers"][r["customer"].removeprefix("'")]
        assert r["month"] == MONTH and r["credit_amount"] == c["credit_amount"]
        assert float(r["uptime_percent"]) == c["uptime_percent"]
        assert Decimal(r["credit_percent"]) == Decimal(str(c["credit_percent"]))
        assert (r["data_digest"], r["config_digest"]) == (c["data_digest"], doc["config_digest"])
    assert "'=cmd|' /C calc'!A0" in [r["customer"] for r in rows]


def test_each_statement_holds_only_its_own_customer(run):
    _, _, _, out = run
    doc = json.loads((out / f"credits-{MONTH}.json").read_text(encoding="utf-8"))
    pages = statements(out)
    for name, page in pages.items():
        own = doc["customers"][name]
        assert str(escape(name)) in page
        assert own["data_digest"] in page and doc["config_digest"] in page
        cur = own["currency"]
        assert format_money(Decimal(own["credit_amount"]), cur) in page
        assert format_money(Decimal(own["monthly_fee"]), cur) in page
        assert "<script" not in page.lower() and "<b>upgrade" not in page  # no data unescaped
        if name != str(escape(name)):
            assert name not in page
        for other, theirs in doc["customers"].items():
            if other == name:
                continue
            for form in {
                other,
                str(escape(other)),
                html.escape(other),
                html.escape(other, quote=False),
            }:
                assert form not in page, (name, other)
            assert theirs["data_digest"] not in page
            assert format_money(Decimal(theirs["monthly_fee"]), theirs["currency"]) not in page, (name, other)
            tenant = CUSTOMERS[other][4]
            if tenant is not None:
                assert str(escape(tenant)) not in page and tenant not in page
    # The maintenance reason shows, escaped, only to the customer whose service it excluded.
    assert str(escape(REASON)) in pages["<script>alert(1)</script>"]
    assert REASON not in pages["<script>alert(1)</script>"]
    assert all("Engine" not in p for n, p in pages.items() if "db" not in CUSTOMERS[n][3])


def test_statement_shows_the_credit_computation(run):
    _, _, result, out = run
    page = statements(out)["<script>alert(1)</script>"]
    c = result.customers["<script>alert(1)</script>"]
    up, down = c.minutes.up, c.minutes.down
    assert f"100 × {up:,} ÷ ({up:,} + {down:,})" in page
    assert (
        "€4,999.99 × " in page
        and "Rounded half-up to the currency's smallest unit" in page
        and "never exceeds the monthly fee" in page
    )
    assert "2026-01-17 02:00 UTC" in page  # the excluded maintenance window
    assert "slactl-credits-data/1" in page


def test_data_digest_can_be_recomputed_from_the_store(run):
    cfg, store, result, _ = run
    period = month_period(MONTH, "UTC")
    for name, c in result.customers.items():
        used = {}
        for svc in cfg.customers[name].services:
            groups = store.load(svc, period.start, period.end)
            picked = customer_groups(groups, cfg.customers[name].match, cfg.services[svc].group_by)
            used[svc] = {g: groups[g] for g in picked}
        assert data_digest(used, period.start, period.end) == c.data_digest


def test_customer_groups_compare_label_values_as_data():
    groups = [(("tenant", "acme"),), (("tenant", ".*"),), (("tenant", "internal"),)]
    assert customer_groups(groups, {"tenant": ".*"}, ["tenant"]) == [(("tenant", ".*"),)]
    assert customer_groups(groups, {"tenant": "ACME"}, ["tenant"]) == []
    assert customer_groups(groups, {"region": "eu"}, ["tenant"]) == []  # never everything
    assert customer_groups([()], {"tenant": "acme"}, []) == [()]  # an unsplit service applies whole
    two = [
        (("region", "eu"), ("tenant", "a")),
        (("region", "us"), ("tenant", "a")),
        (("region", "eu"), ("tenant", "b")),
    ]
    assert customer_groups(two, {"tenant": "a"}, ["tenant", "region"]) == two[:2]
    assert customer_groups(two, {"tenant": "a", "region": "eu"}, ["region", "tenant"]) == two[:1]


def test_statement_file_names_are_safe_and_unique():
    stems = statement_stems(["acme", "Acme", "a/b", "a_b", "..", "", "ok.name"], MONTH)
    assert stems["a_b"] == "a_b-2026-01" and stems["ok.name"] == "ok.name-2026-01"
    assert stems["a/b"].startswith("a_b-") and stems["acme"] != stems["Acme"]
    assert stems[".."].startswith("_.-") and stems[""].startswith("_-")
    assert len({s.casefold() for s in stems.values()}) == len(stems)
    assert all(
        re.fullmatch(r"[A-Za-z0-9._-]+", s) and not s.startswith(".") for s in stems.values()
    )


def prefilled(folder: Path, customers: dict, tenants: list[str], has_data: bool) -> tuple:
    """A config and a store already holding the month, with only the given api tenants."""
    cfg = load(write_config(folder, customers))
    store = Store(cfg.store_url)
    period = month_period(MONTH, "UTC")
    n = period.minutes
    for svc in ("api", "auth", "db"):
        kind = cfg.services[svc].availability.kind
        keys = [(("tenant", t),) for t in tenants] if svc == "api" else [()]
        groups = {}
        for key in keys:
            ms = MinuteSeries.empty(kind, period.start, n)
            ms.has_data[:] = has_data
            if kind == "ratio":
                ms.total = np.full(n, 100.0 if has_data else 0.0)
            else:
                ms.probe_sum, ms.probe_count = ms.has_data.astype(float), ms.has_data.astype(float)
            groups[key] = ms
        store.save(svc, fingerprint(cfg, svc), kind, period.start, period.end, groups)
    return cfg, store


def test_match_selecting_no_series_is_a_clear_error(tmp_path):
    customers = {"ghostco": ("standard", "10.00", "USD", ["api"], "ghost")}
    cfg, store = prefilled(tmp_path, customers, ["acme", "internal"], has_data=True)
    try:
        with pytest.raises(DataError) as err:
            run_credits(cfg, store, MONTH, tmp_path / "out", NOW)
    finally:
        store.close()
    message = str(err.value)
    assert (
        "'ghostco'" in message
        and "'api'" in message
        and "'ghost'" in message
        and "\n" not in message
    )
    assert not (tmp_path / "out").exists()  # nothing written half


def test_no_data_at_all_gives_null_credit_and_a_warning(tmp_path):
    customers = {"quiet": ("standard", "10.00", "USD", ["api"], "quiet")}
    cfg, store = prefilled(tmp_path, customers, ["quiet"], has_data=False)
    try:
        result = compute_credits(cfg, store, MONTH, NOW)
    finally:
        store.close()
    c = result.doc["customers"]["quiet"]
    assert (
        c["uptime_percent"] is None and c["credit_percent"] is None and c["credit_amount"] is None
    )
    assert c["minutes"]["no_data"] == 44640 and c["met"] is None
    assert any("quiet" in w and "no credit" in w for w in result.warnings)


def need(reason: str | None) -> None:
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.mark.parametrize("width", [1280, 390])
def test_statements_load_cleanly_in_chromium(run, tmp_path, width):
    need(browser.missing())
    _, _, result, out = run
    for name in ("<script>alert(1)</script>", 'acme"}'):
        page = out / "statements" / f"{result.customers[name].stem}.html"
        png = tmp_path / f"{result.customers[name].stem}-{width}.png"
        check = browser.render(page, png, width=width)
        assert (
            check.console_errors == [] and check.page_errors == [] and check.outside_requests == []
        )
        assert name in check.text  # shown as text, never run
        assert png.stat().st_size > 20_000


def test_pdf_statement_renders_to_an_image(run, tmp_path):
    need(
        None
        if shutil.which("pdftoppm")
        else "pdftoppm is not installed (apt-get install poppler-utils)"
    )
    _, _, result, out = run
    pdf = out / "statements" / f"{result.customers['Ünïcödé 客户'].stem}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    pngs = list(tmp_path.glob("page*.png"))
    assert len(pngs) == 1 and pngs[0].stat().st_size > 10_000
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Ünïcödé" in text and "globex" not in text and "acme" not in text


def test_pdf_failures_are_publish_errors():
    from slactl.errors import PublishError
    from slactl.render.pdf import html_to_pdf

    with pytest.raises(PublishError):
        html_to_pdf(b"\xff\xfe not utf-8")
    assert html_to_pdf(b"<p>ok</p>").startswith(b"%PDF-")

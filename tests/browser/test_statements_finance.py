"""Statements as a finance team sends them: issuer, legal name, number, date, deadline.

Several customers on the built-in sample source, checked in the HTML and in the
PDF's own text (poppler's ``pdftotext``) and pages (``pdftoppm``): each holds
its issuer and customer, a number no other statement has, the date and the
dispute deadline and contact, and nothing of another customer.  A tier without
credits says so instead of giving a verdict.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from kits.money import write_money_config
from markupsafe import escape

from slactl.app.credits import run_credits, statement_numbers
from slactl.config import load
from slactl.money import format_money
from slactl.store.sql import Store

MONTH = "2026-01"
NOW = datetime(2026, 2, 3, tzinfo=UTC)
ISSUER = {
    "name": "Generic <Corp> & Co",
    "address": ["1 Main St", "Springfield <IL>"],
    "contact": "billing@genericcorp.example",
    "claim_days": 45,
}
# key: (legal name, contact, tier, fee, currency, services)
CUSTOMERS = {
    "acme": ("ACME Corporation", "ap@acme.example", "enterprise", "12000.00", "USD", ["api", "auth"]),
    "globex": ('Globex <script>alert("x")</script> GmbH', "billing@globex.example", "professional", "4999.99",
               "EUR", ["api"]),
    "initech": ("Initech LLC", None, "basic", "800.00", "USD", ["api", "auth"]),
    "umbrella": ("Umbrella Holdings plc", "finance@umbrella.example", "enterprise", "123456.78", "GBP", ["api"]),
}  # fmt: skip


def write_config(folder: Path, locale: str | None = None) -> Path:
    customers = {
        key: {"name": name, **({"contact": contact} if contact else {}), "tier": tier, "monthly_fee": fee,
              "currency": cur, "services": svcs}
        for key, (name, contact, tier, fee, cur, svcs) in CUSTOMERS.items()
    }  # fmt: skip
    return write_money_config(folder, 11, customers, company=dict(ISSUER, **({"locale": locale} if locale else {})))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("finance")
    cfg = load(write_config(folder))
    store = Store(cfg.store_url)
    try:
        result = run_credits(cfg, store, MONTH, folder / "out", NOW)
        doc = json.loads((folder / "out" / f"credits-{MONTH}.json").read_text(encoding="utf-8"))
        yield cfg, store, result, folder / "out", doc
    finally:
        store.close()


def html_of(out: Path, doc: dict, key: str) -> str:
    return (out / doc["customers"][key]["statement"]["html"]).read_text(encoding="utf-8")


def pdf_pages(out: Path, doc: dict, key: str) -> list[str]:
    """The PDF's text, one string per page, as poppler extracts it."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext is not installed (poppler-utils)")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out / doc["customers"][key]["statement"]["pdf"]), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return text.split("\f")


def test_statement_numbers_are_stable_and_unique_per_customer_and_month():
    jan = statement_numbers(["acme", "globex", "a" * 300], "2026-01")
    feb = statement_numbers(["acme", "globex"], "2026-02")
    assert jan == statement_numbers(["globex", "a" * 300, "acme"], "2026-01")
    assert len(set(jan.values())) == 3 and not set(jan.values()) & set(feb.values())
    assert jan["acme"].startswith("SC-202601-") and feb["acme"].startswith("SC-202602-")
    assert jan["acme"][10:] == feb["acme"][10:]


def test_json_carries_number_date_and_deadline(run):
    _, _, _, _, doc = run
    numbers = {c["statement"]["number"] for c in doc["customers"].values()}
    assert len(numbers) == len(CUSTOMERS)
    for c in doc["customers"].values():
        assert c["statement"]["date"] == "2026-02-01"
        assert c["statement"]["dispute_until"] == "2026-03-18"  # 45 days later
    assert doc["customers"]["initech"]["credits_apply"] is False
    assert doc["customers"]["acme"]["credits_apply"] is True


@pytest.mark.parametrize("key", list(CUSTOMERS))
def test_html_has_issuer_customer_number_date_deadline_and_nobody_else(run, key):
    _, _, _, out, doc = run
    page = html_of(out, doc, key)
    own = doc["customers"][key]
    name, contact = CUSTOMERS[key][0], CUSTOMERS[key][1]
    assert str(escape(ISSUER["name"])) in page and "Generic <Corp>" not in page
    assert "1 Main St" in page and str(escape("Springfield <IL>")) in page
    assert ISSUER["contact"] in page
    assert str(escape(name)) in page and "<script>" not in page
    if contact:
        assert contact in page
    assert own["statement"]["number"] in page
    assert "February 1, 2026" in page and "March 18, 2026" in page and "45 days" in page
    assert format_money(Decimal(own["monthly_fee"]), own["currency"]) in page
    assert "epoch" not in page and "recompute it from the same configuration" not in page
    for other, theirs in doc["customers"].items():
        if other == key:
            continue
        assert str(escape(CUSTOMERS[other][0])) not in page
        assert theirs["statement"]["number"] not in page and theirs["data_digest"] not in page
        assert format_money(Decimal(theirs["monthly_fee"]), theirs["currency"]) not in page
        if CUSTOMERS[other][1]:
            assert CUSTOMERS[other][1] not in page


@pytest.mark.parametrize("key", list(CUSTOMERS))
def test_pdf_text_has_the_same_facts_and_the_computation_on_one_page(run, key):
    _, _, _, out, doc = run
    pages = pdf_pages(out, doc, key)
    text = "\n".join(pages)
    own = doc["customers"][key]
    flat = " ".join(text.split())
    assert "Generic <Corp> & Co" in flat and "Springfield <IL>" in flat
    assert " ".join(CUSTOMERS[key][0].split()) in flat
    assert own["statement"]["number"] in flat and "February 1, 2026" in flat and "March 18, 2026" in flat
    assert ISSUER["contact"] in flat
    for other, theirs in doc["customers"].items():
        if other != key:
            assert CUSTOMERS[other][0] not in flat and theirs["statement"]["number"] not in flat
    # The computation, from its heading to the amount due, is on one page.
    start = [i for i, p in enumerate(pages) if "Credit computation" in p]
    assert len(start) == 1
    comp = pages[start[0]]
    tail = comp[comp.index("Credit computation"):]
    if own["credits_apply"]:
        assert "Credit due:" in " ".join(tail.split())
        assert format_money(Decimal(own["credit_amount"]), own["currency"]) in tail
    else:
        assert "carries no service credits" in " ".join(tail.split())
    # The audit digests are in the appendix on a later page.
    audit = [i for i, p in enumerate(pages) if own["data_digest"][:16] in p]
    assert audit and audit[0] > start[0]


def test_pdf_pages_render_as_images(run, tmp_path):
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm is not installed (poppler-utils)")
    _, _, _, out, doc = run
    pdf = out / doc["customers"]["globex"]["statement"]["pdf"]
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "p")], check=True, timeout=120)
    pngs = sorted(tmp_path.glob("p*.png"))
    assert 2 <= len(pngs) <= 4
    assert pngs[0].stat().st_size > 10_000


def test_a_tier_without_credits_says_so_and_gives_no_verdict(run):
    _, _, result, out, doc = run
    page = html_of(out, doc, "initech")
    assert "carries no service credits" in page
    assert "target missed" not in page and "target met" not in page
    assert "not below any threshold" not in page
    assert doc["customers"]["initech"]["credit_amount"] == "0.00"
    assert not result.customers["initech"].carries_credits


def test_the_combined_row_leaves_out_only_minutes_without_any_data(run):
    """The customer rule: a customer's minute is up when any service is up and none down.

    The footnote under the combined row must say exactly that, and the counts
    must agree: the combined minutes without data are never more than any one
    service's.
    """
    _, _, result, out, doc = run
    page = html_of(out, doc, "acme")
    assert "left out only when no service has data" in page
    c = result.customers["acme"]
    for s in c.services:
        assert c.minutes.no_data <= s.uptime.minutes.no_data + s.uptime.minutes.excluded
    assert c.minutes.up + c.minutes.down + c.minutes.no_data + c.minutes.excluded == c.minutes.total


def test_statement_date_option_is_reproducible_and_moves_the_deadline(run, tmp_path):
    cfg, store, _, _, _ = run
    a = run_credits(cfg, store, MONTH, tmp_path / "a", NOW, statement_date=date(2026, 2, 10))
    b = run_credits(cfg, store, MONTH, tmp_path / "b", NOW, statement_date=date(2026, 2, 10))
    for pa, pb in zip(sorted(a.files), sorted(b.files), strict=True):
        if pa.suffix != ".pdf":
            assert pa.read_bytes() == pb.read_bytes(), pa.name
    page = (tmp_path / "a" / "statements" / f"{a.customers['acme'].stem}.html").read_text(encoding="utf-8")
    assert "February 10, 2026" in page and "March 27, 2026" in page


def test_locale_changes_how_money_is_written(tmp_path):
    cfg = load(write_config(tmp_path, locale="de_DE"))
    store = Store(cfg.store_url)
    try:
        run_credits(cfg, store, MONTH, tmp_path / "out", NOW)
    finally:
        store.close()
    doc = json.loads((tmp_path / "out" / f"credits-{MONTH}.json").read_text(encoding="utf-8"))
    page = html_of(tmp_path / "out", doc, "acme")
    assert "12.000,00" in page and "1. Februar 2026" in page
    assert doc["customers"]["acme"]["monthly_fee"] == "12000.00"  # JSON stays locale-free


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slactl", "--config", str(folder / "slactl.yaml"), *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"locale": "xx_NOPE"}, "company.locale"),
    ],
)
def test_bad_company_settings_are_one_line_exit_2(tmp_path, change, needle):
    path = write_config(tmp_path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["company"].update(change)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    done = _cli(tmp_path, "validate")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and needle in done.stderr


def test_bad_statement_date_is_one_line_exit_2(tmp_path):
    write_config(tmp_path)
    done = _cli(tmp_path, "credits", "--month", MONTH, "--date", "2026-02-30", "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "--date" in done.stderr
    assert not (tmp_path / "out").exists()

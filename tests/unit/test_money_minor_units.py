"""Money in the currency's minor unit (ISO 4217): one half-up rounding, one amount in every document.

JPY has no minor digits, KWD and BHD three, CLF four, EUR and USD two.  Each
case sits on a half (…5 exactly), where half-up and Babel's half-even part
ways, and is followed from the pure arithmetic through the credits JSON, the
CSV ledger, the statement, the run's summary line and the export frame: all
must show the same amount.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from slactl import money
from slactl.app.summary import credits_summary
from slactl.config import CreditRow
from slactl.figures.customer import CreditsMonth, CustomerMonth
from slactl.figures.doc import credits_doc
from slactl.figures.month import Company, Minutes
from slactl.render.statements import ledger_csv, ledger_rows, statement_html, statement_view
from slactl.sla import credits as sla

D = Decimal
MONTH = "2026-01"
START = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) // 60
END = int(datetime(2026, 2, 1, tzinfo=UTC).timestamp()) // 60

# currency, fee, percent, the credit as every document writes it, and as Babel's half-even would round it.
CASES = [
    ("JPY", "12345", "10", "1235", "1234"),  # 1234.5
    ("JPY", "25", "10", "3", "2"),  # 2.5
    ("KWD", "1000.125", "10", "100.013", "100.012"),  # 100.0125
    ("KWD", "1000.105", "10", "100.011", "100.010"),  # 100.0105
    ("BHD", "12.345", "10", "1.235", "1.234"),  # 1.2345
    ("BHD", "0.005", "10", "0.001", "0.000"),  # 0.0005
    ("CLF", "100.0005", "10", "10.0001", "10.0000"),  # 10.00005
    ("CLF", "1.2345", "50", "0.6173", "0.6172"),  # 0.61725
    ("EUR", "0.05", "10", "0.01", "0.00"),  # 0.005
    ("EUR", "4999.99", "10", "500.00", "500.00"),  # 499.999
    ("USD", "0.25", "10", "0.03", "0.02"),  # 0.025
    ("USD", "12000.00", "10", "1200.00", "1200.00"),
]


def test_minor_digits_are_iso_4217():
    assert {c: money.minor_digits(c) for c in ("JPY", "KWD", "BHD", "CLF", "EUR", "USD")} == {
        "JPY": 0, "KWD": 3, "BHD": 3, "CLF": 4, "EUR": 2, "USD": 2,
    }  # fmt: skip


@pytest.mark.parametrize(("cur", "fee", "percent", "text", "half_even"), CASES)
def test_one_half_up_rounding_to_the_minor_unit(cur, fee, percent, text, half_even):
    digits = money.minor_digits(cur)
    exact = sla.exact_amount(D(fee), D(percent))
    assert exact.quantize(money.quantum(cur), rounding=ROUND_HALF_EVEN) == D(half_even)
    amount = sla.credit_amount(D(fee), D(percent), digits)
    assert str(amount) == text and sla.money(amount, digits) == text
    w = sla.work_out(100, 1, 99.0, D(fee), [CreditRow(below=100, percent=D(percent))], digits=digits)
    assert (w.exact, str(w.rounded), str(w.amount), w.digits) == (exact, text, text, digits)
    assert not money.finer_than_minor_unit(w.amount, cur)


def customer(key: str, cur: str, fee: str, percent: str) -> CustomerMonth:
    digits = money.minor_digits(cur)
    work = sla.work_out(44000, 100, 99.8, D(fee), [CreditRow(below=99.9, percent=D(percent))], digits=digits)
    return CustomerMonth(
        key=key, name=key.title(), contact=None, tier="standard", target=99.9, met=False, fee=D(fee),
        currency=cur, match={}, services=(), minutes=Minutes(44640, 44000, 100, 540, 0), uptime_percent=99.8,
        credit=work, maintenance=(), data_digest="0" * 64, stem=f"{key}-{MONTH}", number=f"SC-202601-{key.upper()}",
    )  # fmt: skip


def month_of(*customers: CustomerMonth, locale: str = "en_US") -> CreditsMonth:
    return CreditsMonth(
        month=MONTH, timezone="UTC", start=START, end=END, complete=True, as_of=None,
        company=Company("Generic Corp", locale=locale), config_digest="f" * 64,
        digest_encoding="slactl-credits-data/1", customers={c.key: c for c in customers},
        statement_date=date(2026, 2, 1),
    )  # fmt: skip


def ledger(month: CreditsMonth) -> dict[str, dict[str, str]]:
    return {r["customer"]: r for r in csv.DictReader(io.StringIO(ledger_csv(ledger_rows(month)).decode()))}


@pytest.mark.parametrize(("cur", "fee", "percent", "text", "half_even"), CASES)
def test_every_document_shows_the_one_amount(cur, fee, percent, text, half_even):
    c = customer("acme", cur, fee, percent)
    m = month_of(c)
    fee_text = sla.money(D(fee), money.minor_digits(cur))
    doc = credits_doc(m)["customers"]["acme"]
    assert (doc["credit_amount"], doc["monthly_fee"]) == (text, fee_text)
    row = ledger(m)["acme"]
    assert (row["credit_amount"], row["monthly_fee"]) == (text, fee_text)
    view = statement_view(m, c)
    shown = money.format_money(D(text), cur)
    assert view["credit_amount"] == view["computation"]["amount"] == view["computation"]["rounded"] == shown
    assert text.lstrip("0").lstrip(".") in shown.replace(",", "")
    assert shown in statement_html(view).decode()
    grouped = f"{D(text):,f}"
    summary = credits_summary(credits_doc(m), {})
    assert f"({grouped} {cur})" in summary or D(text) == 0
    if D(text) == 0:
        assert "none owed a credit" in summary


def test_yen_statement_reads_1235_yen_not_half_even():
    c = customer("acme", "JPY", "12345", "10")
    view = statement_view(month_of(c), c)
    assert view["credit_amount"] == "¥1,235"
    assert view["computation"]["exact"] == "¥1,234.5"
    assert view["monthly_fee"] == view["computation"]["fee"] == view["computation"]["cap"] == "¥12,345"
    assert "1,234.50" not in statement_html(view).decode()


def test_export_frame_holds_the_ledger_amounts(tmp_path):
    pytest.importorskip("pandas")
    from slactl.app.export import credits_frame, with_totals
    from slactl.app.export_files import writing

    cases = {f"c{i}": case for i, case in enumerate(CASES)}
    m = month_of(*(customer(k, cur, fee, pct) for k, (cur, fee, pct, _, _) in cases.items()))
    rows = ledger(m)
    df = credits_frame(m)
    for _, r in df.iterrows():
        assert str(r["credit_amount"]) == rows[r["customer"]]["credit_amount"] == cases[r["customer"]][3]
        assert str(r["monthly_fee"]) == rows[r["customer"]]["monthly_fee"]
    with writing("csv", tmp_path / "credits.csv", "credits") as out:
        out.add(df)
    exported = {r["customer"]: r for r in csv.DictReader(io.StringIO((tmp_path / "credits.csv").read_text()))}
    for key, (_, _, _, text, _) in cases.items():
        assert exported[key]["credit_amount"] == text
    totals = with_totals(df)
    yen = totals[(totals["month"] == "total") & (totals["customer"] == "c0")]
    assert str(yen["credit_amount"].iloc[0]) == "1235"


def test_all_currencies_in_one_summary_line():
    m = month_of(customer("a", "JPY", "12345", "10"), customer("b", "KWD", "1000.125", "10"),
                 customer("c", "USD", "12000.00", "10"), customer("d", "JPY", "25", "10"))  # fmt: skip
    line = credits_summary(credits_doc(m), {"api": 0})
    assert "4 owed a credit (1,238 JPY, 100.013 KWD, 1,200.00 USD)" in line


def test_a_zero_credit_in_yen_has_no_places_and_no_sign():
    c = customer("acme", "JPY", "0", "10")
    doc = credits_doc(month_of(c))["customers"]["acme"]
    assert doc["credit_amount"] == "0" and doc["monthly_fee"] == "0"
    assert sla.money(D("-0.00")) == "0.00" and sla.money(D("-0"), 0) == "0"
    w = sla.work_out(1, 1, 50.0, D("-0.00"), [CreditRow(below=99, percent=D(10))], digits=2)
    figures = (w.fee, w.exact, w.rounded, w.amount, w.cap)
    assert not any(x.is_signed() for x in figures if x is not None)
    assert [sla.money(x) for x in figures if x is not None] == ["0.00"] * 5


def test_babel_never_rounds_a_second_time():
    assert money.format_money(D("1235"), "JPY") == "¥1,235"
    assert money.format_money(D("100.013"), "KWD") == "KWD100.013"
    assert money.format_money(D("10.0001"), "CLF").endswith("10.0001")
    for amount, cur in ((D("1234.5"), "JPY"), (D("100.0125"), "KWD"), (D("0.025"), "USD")):
        with pytest.raises(ValueError, match="minor units"):
            money.format_money(amount, cur)


def test_long_amounts_are_neither_rounded_nor_an_error():
    # Babel quantizes in the default 28-digit context: 32 digits used to raise InvalidOperation.
    big = D("100000000000000000000000000000.00")
    assert money.format_money(big, "USD") == "$100,000,000,000,000,000,000,000,000,000.00"
    long_exact = D("123456789012345.678901234567891234")
    assert money.format_exact(long_exact, "USD") == "$123,456,789,012,345.678901234567891234"
    # normalize() would round this to 28 digits first and lose the half yen.
    assert money.finer_than_minor_unit(D("1234567890123456789012345678901.5"), "JPY")
    assert not money.finer_than_minor_unit(D("1234567890123456789012345678901.000"), "JPY")
    assert sla.credit_amount(D("999999999999999.9999"), D("33.3333"), 4) == D("333333000000000.0000")


def test_credits_pipeline_in_every_currency(tmp_path):
    """Through ``compute_credits`` on the sample source: the app passes each currency's minor unit."""
    from kits.money import TIERS, write_money_config

    from slactl.app.credits import compute_credits
    from slactl.config import load
    from slactl.store.sql import Store

    picked = {"yen": CASES[0], "dinar": CASES[2], "bahrain": CASES[4], "unidad": CASES[6], "euro": CASES[8],
              "dollar": CASES[10]}  # fmt: skip
    # Every month of the sample source has an outage of the probe service, so uptime < 100.
    tiers = {**TIERS, "flat": {"uptime_target": 100, "credits": [{"below": 100, "percent": 10}]}}
    customers = {
        key: {"tier": "flat", "monthly_fee": fee, "currency": cur, "services": ["api", "auth"]}
        for key, (cur, fee, _, _, _) in picked.items()
    }
    cfg = load(write_money_config(tmp_path, 7, customers, tiers=tiers))
    store = Store(cfg.store_url)
    try:
        result = compute_credits(cfg, store, MONTH, datetime(2026, 2, 3, tzinfo=UTC))
    finally:
        store.close()
    rows = ledger(result.figures)
    for key, (cur, _, _, text, _) in picked.items():
        c = result.figures.customers[key]
        assert c.percent == 10, (key, c.uptime_percent)
        assert result.doc["customers"][key]["credit_amount"] == rows[key]["credit_amount"] == text
        assert statement_view(result.figures, c)["credit_amount"] == money.format_money(D(text), cur)
    line = credits_summary(result.doc, result.pulled)
    assert "(1.235 BHD, 10.0001 CLF, 0.01 EUR, 1,235 JPY, 100.013 KWD, 0.03 USD)" in line

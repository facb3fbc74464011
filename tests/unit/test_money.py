"""Money input is refused at load time when it could not be invoiced as written."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from slactl import money
from slactl.cli.main import main
from slactl.config import load
from slactl.sla import credits as sla

BASE = """
sources:
  prom: {{type: prometheus, url: "http://127.0.0.1:9090"}}
tiers:
  enterprise:
    uptime_target: 99.99
    credits: [{credits}]
services:
  api:
    source: prom
    availability: {{probe: 'probe_success{{job="api"}}'}}
customers:
  acme: {{tier: enterprise, monthly_fee: "{fee}", currency: {currency}, services: [api]}}
"""


def run_validate(tmp_path: Path, capsys, *, fee="12000.00", currency="USD",
                 credits="{below: 99.99, percent: 10}") -> tuple[int, str]:
    cfg = tmp_path / "slactl.yaml"
    cfg.write_text(BASE.format(fee=fee, currency=currency, credits=credits))
    rc = main(["--config", str(cfg), "validate"])
    return rc, capsys.readouterr().err


def test_good_money_validates(tmp_path, capsys):
    assert run_validate(tmp_path, capsys)[0] == 0
    assert run_validate(tmp_path, capsys, fee="1500", currency="JPY")[0] == 0
    assert run_validate(tmp_path, capsys, fee="10.125", currency="KWD")[0] == 0
    assert run_validate(tmp_path, capsys, fee="999999999999999.99")[0] == 0
    assert run_validate(tmp_path, capsys, fee="999999999999999.9999", currency="CLF")[0] == 0
    assert run_validate(tmp_path, capsys, fee="1500.000", currency="JPY")[0] == 0  # trailing zeros are not finer


@pytest.mark.parametrize("fee", ["-0.00", "-0", "0.00"])
def test_a_zero_fee_has_no_sign(tmp_path, capsys, fee):
    assert run_validate(tmp_path, capsys, fee=fee)[0] == 0
    cfg = load(tmp_path / "slactl.yaml")
    got = cfg.customers["acme"].monthly_fee
    assert got == 0 and not got.is_signed()
    assert sla.money(got) == "0.00"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"currency": "euro"}, ["customers.acme.currency", "ISO 4217", "'euro'"]),
        ({"currency": "usd"}, ["customers.acme.currency", "did you mean 'USD'"]),
        ({"currency": "XYZ"}, ["customers.acme.currency", "ISO 4217"]),
        ({"fee": "12000.005"}, ["customers.acme", "12000.005", "2 decimal places", "USD"]),
        ({"fee": "1500.5", "currency": "JPY"}, ["customers.acme", "smallest unit of JPY"]),
        ({"fee": "100.5", "currency": "JPY"}, ["customers.acme", "monthly_fee 100.5", "whole amounts"]),
        ({"fee": "1000.1255", "currency": "KWD"}, ["customers.acme", "3 decimal places", "KWD"]),
        ({"fee": "1.23456", "currency": "CLF"}, ["customers.acme", "4 decimal places", "CLF"]),
        ({"fee": "1e30"}, ["customers.acme.monthly_fee", "1E+30", "below 1,000,000,000,000,000"]),
        ({"fee": "1000000000000000", "currency": "JPY"}, ["customers.acme.monthly_fee", "too large"]),
        ({"fee": "-1"}, ["customers.acme.monthly_fee", "greater than or equal to 0"]),
        ({"fee": "-0.01"}, ["customers.acme.monthly_fee", "greater than or equal to 0"]),
        ({"fee": "NaN"}, ["customers.acme.monthly_fee"]),
        ({"fee": "Infinity"}, ["customers.acme.monthly_fee"]),
        ({"credits": "{below: 99.995, percent: 10}"}, ["tiers.enterprise", "above the tier's uptime_target"]),
    ],
)
def test_bad_money_is_one_line_exit_2(tmp_path, capsys, kwargs, words):
    rc, err = run_validate(tmp_path, capsys, **kwargs)
    assert rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "slactl.yaml" in err
    for word in words:
        assert word in err, (word, err)


def test_money_text_is_grouped_and_in_minor_units():
    assert money.format_money(Decimal("12000"), "USD") == "$12,000.00"
    assert money.format_money(Decimal("1200.5"), "EUR", "de_DE") == "1.200,50\xa0€"
    assert money.format_money(Decimal("1500"), "JPY") == "¥1,500"
    assert money.quantum("USD") == Decimal("0.01") and money.quantum("JPY") == Decimal("1")

"""Money input is refused at load time when it could not be invoiced as written."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from slactl import money
from slactl.cli.main import main

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


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"currency": "euro"}, ["customers.acme.currency", "ISO 4217", "'euro'"]),
        ({"currency": "usd"}, ["customers.acme.currency", "did you mean 'USD'"]),
        ({"currency": "XYZ"}, ["customers.acme.currency", "ISO 4217"]),
        ({"fee": "12000.005"}, ["customers.acme", "12000.005", "2 decimal places", "USD"]),
        ({"fee": "1500.5", "currency": "JPY"}, ["customers.acme", "smallest unit of JPY"]),
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

"""Rules the config shares across keys, each checked once and the same way wherever it applies.

Prometheus label names in ``group_by``, http(s) addresses on every URL key, and a
maintenance window's order (written with or without an offset): the edge cases
that two copies of each rule used to answer differently.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import slactl.config
from slactl.cli.main import main
from slactl.config import parse
from slactl.errors import ConfigError

BASE = """\
timezone: Asia/Kolkata
sources:
  prom: {type: prometheus, url: "http://127.0.0.1:9"}
  aws: {type: cloudwatch, region: us-east-1}
tiers:
  standard: {uptime_target: 99.9}
services:
  api:
    source: prom
    availability: {probe: up}
"""


def check(text: str, tmp_path: Path) -> slactl.config.Config:
    return parse(text, base_dir=tmp_path, source_file="slactl.yaml")


def refused(text: str, tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        check(text, tmp_path)
    return str(info.value)


# --------------------------------------------------------------------------- label names


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ("1abc", "not a Prometheus label name"),  # starts with a digit
        ("tenänt", "not a Prometheus label name"),  # str.isalnum() says yes; Prometheus says ASCII only
        ("tenant-id", "not a Prometheus label name"),
        ("", "not a Prometheus label name"),
        ("__x", "starting with __ are reserved"),
        ("__name__", "starting with __ are reserved"),
        ("le", "histograms keep their buckets in it"),
    ],
)
def test_group_by_refuses_what_prometheus_refuses(tmp_path, label, problem):
    msg = refused(BASE + f"    group_by: [{label!r}]\n", tmp_path)
    assert msg.startswith(f"slactl.yaml: services.api.group_by: {label!r} cannot be a group_by label: "), msg
    assert problem in msg, msg


@pytest.mark.parametrize("label", ["tenant", "_x", "Tenant_1", "a"])
def test_group_by_accepts_prometheus_label_names(tmp_path, label):
    assert check(BASE + f"    group_by: [{label}]\n", tmp_path).services["api"].group_by == [label]


# --------------------------------------------------------------------------- URLs

URL_KEYS = {
    "sources.prom.url": lambda u: BASE.replace('"http://127.0.0.1:9"', f'"{u}"'),
    "sources.aws.endpoint_url": lambda u: BASE.replace("region: us-east-1}", f'region: us-east-1, endpoint_url: "{u}"}}'),
    "status_page.url": lambda u: BASE + f'status_page: {{url: "{u}"}}\n',
    "alerts.runbook_base_url": lambda u: BASE + f'alerts: {{runbook_base_url: "{u}"}}\n',
    "publish.reports.s3.endpoint_url": lambda u: BASE + f'publish: {{reports: {{s3: {{bucket: b, endpoint_url: "{u}"}}}}}}\n',
}


@pytest.mark.parametrize("key", URL_KEYS)
@pytest.mark.parametrize("url", ["HTTP://host", "HTTPS://host:9090/x", "http://[::1]:9090", "https://u@host"])
def test_every_url_key_accepts_http_and_https_in_any_case(tmp_path, key, url):
    check(URL_KEYS[key](url), tmp_path)


@pytest.mark.parametrize("key", URL_KEYS)
@pytest.mark.parametrize("url", ["http://", "http:///path", "http://:9090", "host:9090", "ftp://host", "javascript:alert(1)",
                                 "http://host:port", "http://[::1"])  # fmt: skip
def test_every_url_key_refuses_the_same_way(tmp_path, key, url):
    msg = refused(URL_KEYS[key](url), tmp_path)
    assert msg == f"slactl.yaml: {key}: {url!r} is not an http:// or https:// URL with a host", msg


@pytest.mark.parametrize("key", URL_KEYS)
def test_every_url_key_refuses_spaces(tmp_path, key):
    msg = refused(URL_KEYS[key]("http://host/a b"), tmp_path)
    assert msg == f"slactl.yaml: {key}: the URL must not contain spaces, line breaks or control characters", msg


def test_prometheus_url_keeps_its_spelling_without_the_trailing_slash(tmp_path):
    cfg = check(URL_KEYS["sources.prom.url"]("HTTP://Prom.example:9090/"), tmp_path)
    assert cfg.sources["prom"].url == "HTTP://Prom.example:9090"


# --------------------------------------------------------------------------- maintenance order


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-01-18 02:00:00", "2026-01-18 02:00:00"),  # both in the config's zone
        ("2026-01-18T02:00:00Z", "2026-01-18T02:00:00Z"),  # both with an offset
        ("2026-01-18 02:00:00", "2026-01-17T20:30:00Z"),  # the same instant, one in Kolkata (+05:30)
        ("2026-01-17T20:30:00Z", "2026-01-18 02:00:00"),
        ("2026-01-18 03:00:00", "2026-01-18 02:00:00"),  # reversed
        ("2026-01-17T21:00:00Z", "2026-01-18 02:15:00"),  # a later date on the wall, 15 minutes earlier
    ],
)
def test_maintenance_end_must_be_after_start(tmp_path, start, end):
    msg = refused(BASE + f"maintenance:\n  - {{start: {start}, end: {end}}}\n", tmp_path)
    assert msg == "slactl.yaml: maintenance[0]: end must be after start", msg


def test_maintenance_of_one_minute_is_accepted(tmp_path):
    cfg = check(BASE + "maintenance:\n  - {start: 2026-01-18 02:00:00, end: 2026-01-17T20:31:00Z}\n", tmp_path)
    window = cfg.maintenance[0]
    assert (window.end - window.start).total_seconds() == 60


def test_rule_messages_reach_the_cli_as_one_line(tmp_path, capsys):
    path = tmp_path / "slactl.yaml"
    path.write_text(BASE + "    group_by: [__x]\n", encoding="utf-8")
    assert main(["--config", str(path), "validate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: services.api.group_by: '__x' cannot be a group_by label" in err


# --------------------------------------------------------------------------- the package's face


def test_the_package_exports_what_it_lists():
    for name in slactl.config.__all__:
        assert getattr(slactl.config, name) is not None, name
    assert slactl.config.load is slactl.config.loader.load

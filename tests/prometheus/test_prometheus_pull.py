"""How slactl asks a real Prometheus for a month: fused queries, honest failures, late data.

One TSDB holds two days of February 2026: probes of several instances (one
whose name only an unanchored regex would take) and request counters of two
services with a restart inside a minute.  Services overlap on purpose, so one
query per metric and range function has to be split back among them exactly as
Prometheus would select.  Faults come from a loopback proxy in front of the real
server: warnings with half the answer missing, ranges refused as too large, a
slow server, samples that arrive late.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from kits.flaky import FlakyProxy
from kits.prometheus import OpenMetrics

from slactl.app.ingest import ingest
from slactl.cli.main import main
from slactl.config import load
from slactl.sources.prometheus import plan as promplan
from slactl.store.sql import Store

pytestmark = pytest.mark.prometheus

T0 = int(datetime(2026, 2, 1, tzinfo=UTC).timestamp())
DAYS = 2
END = T0 + DAYS * 86400
INSTANCES = {  # instance -> (labels, outage minutes [a, b))
    "a.example": ({"env": "prod"}, (100, 110)),
    "xa.example": ({"env": "prod"}, (200, 230)),
    "b.example": ({"env": "staging"}, (300, 305)),
    "c.example": ({"env": "prod", "region": "eu"}, (400, 460)),
}
PROBES = {
    "p_a": 'probe_success{job="blackbox",instance="a.example"}',
    "p_b": 'probe_success{instance="b.example"}',
    "p_re": 'probe_success{instance=~"a.*"}',  # anchored: not xa.example
    "p_not": 'probe_success{instance!~"a.*|b.*",env!="staging"}',
    "p_noregion": 'probe_success{region=""}',
}
COUNTERS = {
    "api": ('http_requests_total{service="api",code=~"5.."}', 'http_requests_total{service="api"}'),
    "shop": ('http_requests_total{service="shop",code=~"5.."}', 'http_requests_total{service="shop"}'),
}


def scenario_series() -> list[tuple[str, str, dict[str, str], list[tuple[float, float]]]]:
    """``(type, name, labels, samples)`` of every series, times in seconds."""
    out = []
    for inst, (labels, (a, b)) in INSTANCES.items():
        samples = [(T0 + 15 + 30 * k, 0.0 if a <= k // 2 < b else 1.0) for k in range(DAYS * 2880)]
        out.append(("gauge", "probe_success", {"job": "blackbox", "instance": inst, **labels}, samples))
    for service, bad in (("api", range(500, 520)), ("shop", range(900, 905))):
        ok, err = [], []
        o = e = 0.0
        for k in range(-3, DAYS * 1440):
            o += 100
            e += 40 if k in bad else 1
            if service == "api" and k == 700:
                o, e = 30.0, 1.0  # a restart: the counters start again from zero
            ok.append((T0 + 20 + 60 * k, o))
            err.append((T0 + 20 + 60 * k, e))
        out.append(("counter", "http_requests_total", {"service": service, "code": "200"}, ok))
        out.append(("counter", "http_requests_total", {"service": service, "code": "503"}, err))
    return out


def _openmetrics() -> OpenMetrics:
    om = OpenMetrics()
    for kind, name, labels, samples in scenario_series():
        (om.gauge if kind == "gauge" else om.counter)(name, labels, samples)
    return om


@pytest.fixture(scope="module")
def prom(make_prometheus) -> str:
    return make_prometheus(_openmetrics())


def write_config(path: Path, url: str, names: list[str] | None = None, **source) -> Path:
    services: dict = {}
    for name, sel in PROBES.items():
        services[name] = {"source": "prom", "availability": {"probe": sel}}
    for name, (errors, total) in COUNTERS.items():
        services[name] = {"source": "prom", "availability": {"errors": errors, "total": total}}
    if names is not None:
        services = {n: services[n] for n in names}
    cfg = {
        "sources": {"prom": {"type": "prometheus", "url": url, "timeout_seconds": 10, **source}},
        "tiers": {"standard": {"uptime_target": 99.9}},
        "services": services,
    }
    path.mkdir(parents=True, exist_ok=True)
    (path / "slactl.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path / "slactl.yaml"


def report(cfg: Path, *extra: str) -> tuple[int, dict]:
    out = cfg.parent / "out"
    rc = main(["--config", str(cfg), "report", "monthly", "--month", "2026-02", "--out", str(out), *extra])
    path = out / "report-2026-02.json"
    return rc, json.loads(path.read_text()) if rc == 0 else {}


@pytest.fixture(scope="module")
def fused(prom, tmp_path_factory) -> tuple[dict, list[dict[str, str]]]:
    """The report of every service in one pull, and the forms the server saw."""
    with FlakyProxy(prom) as proxy:
        rc, doc = report(write_config(tmp_path_factory.mktemp("fused"), proxy.url))
    assert rc == 0
    return doc, proxy.forms


# ----------------------------------------------------------------- planning


def test_selectors_parse_into_matchers_the_server_would_apply():
    sel = promplan.parse('probe_success{instance=~"a.*",env!="staging",region=""}')
    assert sel.metric == "probe_success"
    assert sel.accepts({"instance": "a.example", "env": "prod"})
    assert not sel.accepts({"instance": "xa.example", "env": "prod"})  # =~ is anchored
    assert not sel.accepts({"instance": "a.example", "env": "staging"})
    assert not sel.accepts({"instance": "a.example", "region": "eu"})  # "" matches only a missing label
    assert promplan.parse('{__name__="up",job="x"}').metric == "up"
    for alone in ('up{job="a" or job="b"}', "up offset 5m", '{__name__=~"up|down"}', 'up{job=~"\\\\z"}'):
        assert promplan.parse(alone).metric is None, alone


def test_a_union_selects_every_member_and_little_else():
    union = promplan.Union("http_requests_total")
    for errors, total in COUNTERS.values():
        union.members += [promplan.parse(errors), promplan.parse(total)]
    assert union.selector() == 'http_requests_total{service=~"api|shop"}'
    union.members.append(promplan.parse('http_requests_total{service="we\\"b.x"}'))
    assert union.selector() == 'http_requests_total{service=~"api|shop|we\\"b\\\\.x"}'


def test_one_query_per_metric_and_function(fused):
    doc, forms = fused
    ranges = {f["query"] for f in forms if "step" in f}
    assert len([q for q in ranges if q.startswith("avg_over_time(probe_success")]) == 1
    assert len([q for q in ranges if q.startswith("last_over_time(http_requests_total")]) == 1
    assert len(ranges) == 3  # the probes, the counters' last samples, their restart flags
    assert all(f.get("partial_response") == "false" for f in forms)


@pytest.mark.parametrize("names", [[n] for n in [*PROBES, *COUNTERS]])
def test_fused_figures_equal_one_service_at_a_time(fused, prom, tmp_path, names):
    rc, alone = report(write_config(tmp_path, prom, names))
    assert rc == 0
    assert alone["services"][names[0]] == fused[0]["services"][names[0]]


def test_a_pull_cut_into_slices_gives_the_same_report(fused, prom, tmp_path, monkeypatch):
    """A pull too large for one fetch goes in slices of whole days, the next pulled while one is saved."""
    from slactl.app import ingest as ingest_mod

    budget = 3 * 1440 * (len(PROBES) + len(COUNTERS))  # three days of every service per slice
    monkeypatch.setattr(ingest_mod, "SERVICE_MINUTES_PER_FETCH", budget)
    fetches: list[int] = []
    real = ingest_mod.fetched

    def counted(source, batches):
        fetches.append(len(batches))
        yield from real(source, batches)

    monkeypatch.setattr(ingest_mod, "fetched", counted)
    cfg = write_config(tmp_path, prom)
    rc, sliced = report(cfg)
    assert rc == 0 and fetches and fetches[0] >= 9  # 28 days in slices of three
    assert sliced["services"] == fused[0]["services"]
    store = Store(load(cfg).store_url)
    try:
        for name in [*PROBES, *COUNTERS]:
            pulls = store.pulls(name, 0, 2**40)
            assert len(pulls) == 1 and pulls[0][3]["queries"], pulls  # one record: the slices were asked alike
    finally:
        store.close()


def test_the_figures_are_the_ones_written(fused):
    s = fused[0]["services"]
    assert s["p_a"]["minutes"]["down"] == 10
    assert s["p_re"]["minutes"]["down"] == 10  # a.example only
    assert s["p_b"]["minutes"]["down"] == 5
    assert s["p_not"]["minutes"]["down"] == 30 + 60  # xa.example and c.example
    assert s["p_noregion"]["minutes"]["down"] == 10 + 30 + 5  # a, xa, b: one probe down is a down minute
    assert s["api"]["minutes"]["down"] == 20 and s["shop"]["minutes"]["down"] == 5


# ----------------------------------------------------------------- honest answers


def half_with_warnings(times: int):
    """The first ``times`` range answers lose half their series and points and say so."""
    left = [times]

    def rewrite(path, form, status, body):
        if "query_range" not in path or status != 200 or left[0] <= 0:
            return None
        left[0] -= 1
        doc = json.loads(body)
        result = doc["data"]["result"]
        doc["data"]["result"] = [dict(r, values=r["values"][: len(r["values"]) // 2]) for r in result[: len(result) // 2]]
        doc["warnings"] = ["store 127.0.0.2:10901 unavailable: partial response"]
        return 200, json.dumps(doc).encode()

    return rewrite


def test_a_partial_answer_is_asked_again(fused, prom, tmp_path):
    with FlakyProxy(prom, rewrite=half_with_warnings(2)) as proxy:
        rc, doc = report(write_config(tmp_path, proxy.url))
    assert rc == 0
    assert doc["services"] == fused[0]["services"]


def test_a_persistent_partial_answer_fails_and_stores_nothing(fused, prom, tmp_path, capsys):
    with FlakyProxy(prom, rewrite=half_with_warnings(10_000)) as proxy:
        cfg = write_config(tmp_path, proxy.url, ["p_a", "api"], retries=1)
        rc, _ = report(cfg)
    assert rc == 1
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "answered only in part" in lines[0] and "partial response" in lines[0]
    rc, doc = report(write_config(tmp_path, prom, ["p_a", "api"]))
    assert rc == 0
    assert doc["services"] == {n: fused[0]["services"][n] for n in ("p_a", "api")}


@pytest.mark.parametrize(
    "status,error",
    [
        (422, "query processing would load too many samples into memory in query execution"),
        (400, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution"),
        (413, "request entity too large"),
    ],
)
def test_a_range_refused_as_too_large_is_split_not_lost(fused, prom, tmp_path, status, error):
    def refuse_long(path, form, code, body):
        if "query_range" in path and float(form["end"]) - float(form["start"]) > 5 * 3600:
            return status, json.dumps({"status": "error", "errorType": "execution", "error": error}).encode()
        return None

    with FlakyProxy(prom, rewrite=refuse_long) as proxy:
        rc, doc = report(write_config(tmp_path, proxy.url))
    assert rc == 0
    assert doc["services"] == fused[0]["services"]
    spans = [float(f["end"]) - float(f["start"]) for f in proxy.forms if "step" in f]
    assert max(spans) > 5 * 3600 and min(spans) <= 5 * 3600


def test_the_whole_pull_has_a_deadline(prom, tmp_path, capsys):
    with FlakyProxy(prom, delay=3) as proxy:
        rc, _ = report(write_config(tmp_path, proxy.url, ["p_a"]), "--timeout", "1")
    assert rc == 1
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "did not finish within 1s" in lines[0] and "--timeout" in lines[0]


def test_each_stored_range_says_where_it_came_from(fused, prom, tmp_path):
    cfg = write_config(tmp_path, prom, ["p_a", "p_b"])
    assert report(cfg)[0] == 0
    store = Store(load(cfg).store_url)
    try:
        [(start, end, pulled_at, prov)] = store.pulls("p_a", 0, 2**40)
    finally:
        store.close()
    assert (start, end) == (T0 // 60, T0 // 60 + 28 * 1440)
    assert pulled_at > T0
    assert prov["url"] == prom and prov["source"] == "prom"
    assert prov["selectors"] == [PROBES["p_a"]]
    assert prov["queries"] == ['avg_over_time(probe_success{instance=~"a\\\\.example|b\\\\.example"}[59999ms])']


# ----------------------------------------------------------------- late data


def test_minutes_without_data_are_pulled_again_while_young(prom, tmp_path):
    """A remote-write backend shows the last half hour late: the next ingest picks it up."""
    cut = END - 1800

    def late(path, form, code, body):
        if "query_range" not in path or code != 200:
            return None
        doc = json.loads(body)
        for r in doc["data"]["result"]:
            r["values"] = [p for p in r["values"] if p[0] < cut]
        return 200, json.dumps(doc).encode()

    first = datetime.fromtimestamp(END + 120, tz=UTC)
    later = datetime.fromtimestamp(END + 300, tz=UTC)
    counts = {}
    for window in (180, 0):
        with FlakyProxy(prom, rewrite=late) as proxy:
            cfg = load(write_config(tmp_path / str(window), proxy.url, ["p_a"], late_window_minutes=window))
            store = Store(cfg.store_url)
            ingest(cfg, store, T0 // 60, END // 60, first)
        cfg = load(write_config(tmp_path / str(window), prom, ["p_a"], late_window_minutes=window))
        ingest(cfg, store, T0 // 60, END // 60, later)
        [ms] = store.load("p_a", T0 // 60, END // 60).values()
        store.close()
        counts[window] = int(ms.has_data.sum())
    assert counts == {180: DAYS * 1440, 0: DAYS * 1440 - 30}


def test_selectors_that_pin_different_labels_are_not_fused_into_a_query_for_everything():
    union = promplan.Union("http_requests_total")
    texts = [
        'http_requests_total{service="api"}',
        'http_requests_total{service="shop",code="500"}',
        'http_requests_total{job="batch"}',
        'http_requests_total{code=~"5.."}',
    ]
    for i, t in enumerate(texts):
        sel = promplan.parse(t)
        union.members.append(sel)
        union.users.append((f"s{i}", "total", sel))
    parts = promplan.partition(union)
    assert [p.selector() for p in parts] == [
        'http_requests_total{service=~"api|shop"}',
        'http_requests_total{job="batch"}',
        'http_requests_total{code=~"5.."}',
    ]
    assert [[u[0] for u in p.users] for p in parts] == [["s0", "s1"], ["s2"], ["s3"]]
    everything = promplan.Union("up", [promplan.parse('up{job="a"}'), promplan.parse("up")])
    assert [p.selector() for p in promplan.partition(everything)] == ["up"]  # read whole anyway: one query

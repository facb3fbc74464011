"""The real-Prometheus test kit: OpenMetrics text, promtool backfill, query_range."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
import pytest
from kits.prometheus import OpenMetrics

T0 = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp())  # 1767571200
DAYS = 3
STEP = 60
N = DAYS * 86400 // STEP  # samples per series
RESET_AT = 1000  # sample index where the counter restarts from 0
DOWN = range(2000, 2030)  # sample indexes where the gauge is 0
ODD_PATH = 'a\\b"c\nd'  # needs all three OpenMetrics escapes


def counter_value(i: int) -> float:
    return 7.0 * i if i < RESET_AT else 7.0 * (i - RESET_AT)


def gauge_value(i: int) -> float:
    return 0.0 if i in DOWN else 1.0


def test_openmetrics_text(tmp_path):
    om = OpenMetrics()
    om.counter("req_total", {"path": ODD_PATH, "code": "200"}, [(T0 + 60, 2), (T0 + 0.5, 1)])
    om.gauge("up", {}, [(T0, 1), (T0 + 59.999, math.nan), (T0 + 120, math.inf)])
    om.gauge("lat_bucket", {"le": "+Inf"}, [(T0, 3)])
    om.counter("req_total", {"path": "/x", "code": "500"}, [(T0, 0)])
    text = om.write(tmp_path / "x.om").read_text()
    assert text.splitlines() == [
        "# TYPE req counter",
        'req_total{code="200",path="a\\\\b\\"c\\nd"} 1.0 1767571200.500',
        'req_total{code="200",path="a\\\\b\\"c\\nd"} 2.0 1767571260.000',
        'req_total{code="500",path="/x"} 0.0 1767571200.000',
        "# TYPE up gauge",
        "up 1.0 1767571200.000",
        "up NaN 1767571259.999",
        "up +Inf 1767571320.000",
        "# TYPE lat_bucket gauge",
        'lat_bucket{le="+Inf"} 3.0 1767571200.000',
        "# EOF",
    ]


def test_openmetrics_rejects_bad_input(tmp_path):
    om = OpenMetrics()
    om.gauge("g", {}, ((t, 1) for t in (T0, T0 + 60, T0 + 30)))
    with pytest.raises(ValueError, match="strictly increasing"):
        om.write(tmp_path / "x.om")
    with pytest.raises(ValueError, match="duplicate series"):
        om.gauge("g", {}, [])
    with pytest.raises(ValueError, match="already a gauge"):
        om.counter("g_total", {}, [])
    with pytest.raises(ValueError, match="invalid label name"):
        om.gauge("h", {"__name__": "x"}, [])


@pytest.mark.prometheus
def test_backfilled_counter_and_gauge_via_query_range(make_prometheus):
    om = OpenMetrics()
    om.counter(
        "slactl_requests_total",
        {"job": "api", "path": ODD_PATH},
        ((T0 + i * STEP, counter_value(i)) for i in range(N)),
    )
    om.gauge("slactl_up", {"job": "api"}, ((T0 + i * STEP, gauge_value(i)) for i in range(N)))
    url = make_prometheus(om)

    with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:

        def query_range(query: str, start: str, end: str, step: int) -> list[dict]:
            resp = client.get(
                "/api/v1/query_range",
                params={"query": query, "start": start, "end": end, "step": step},
            )
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert body["status"] == "success"
            assert body["data"]["resultType"] == "matrix"
            return body["data"]["result"]

        build = client.get("/api/v1/status/buildinfo").json()
        assert build["status"] == "success" and build["data"]["version"]

        # Every raw sample comes back, over the whole 3 days (4321 steps).
        end = T0 + N * STEP
        [up] = query_range("slactl_up", str(T0), str(end), STEP)
        assert up["metric"] == {"__name__": "slactl_up", "job": "api"}
        got = {float(t): float(v) for t, v in up["values"]}
        assert len(got) == N + 1
        for i in range(N):
            assert got[T0 + i * STEP] == gauge_value(i)
        assert got[end] == gauge_value(N - 1)  # within the 5m lookback

        # Millisecond-precision steps; the [1m] window is closed on both ends.
        start_ms = f"{T0 + 59}.999"
        [reqs] = query_range(
            "last_over_time(slactl_requests_total[1m])", start_ms, f"{end - 1}.999", STEP
        )
        assert reqs["metric"] == {
            "__name__": "slactl_requests_total",
            "job": "api",
            "path": ODD_PATH,
        }
        assert len(reqs["values"]) == N
        for k, (t, v) in enumerate(reqs["values"]):
            assert t == pytest.approx(T0 + 59.999 + k * STEP, abs=1e-6)
            assert float(v) == counter_value(k)

        # A sparse expression only yields the steps where it holds.
        [resets] = query_range("resets(slactl_requests_total[1m]) > 0", str(T0), str(end), STEP)
        assert resets["values"] == [[T0 + RESET_AT * STEP, "1"]]
        [down] = query_range("slactl_up == 0", str(T0), str(end), STEP)
        assert [t for t, _ in down["values"]] == [T0 + i * STEP for i in DOWN]

        # Hourly steps give the same gauge values.
        hourly = query_range("slactl_up", str(T0), str(end), 3600)[0]["values"]
        assert [float(v) for _, v in hourly] == [gauge_value(min(h * 60, N - 1)) for h in range(73)]

"""End to end: months cut in a configured time zone, against a real Prometheus.

Asia/Kolkata (+05:30, a half-hour zone): February 2026 is
[2026-01-31T18:30Z, 2026-02-28T18:30Z).  America/New_York: March 2026 holds the
start of daylight saving time (March 8, 02:00 EST -> 03:00 EDT), so it is
[2026-03-01T05:00Z, 2026-04-01T04:00Z), 44,580 minutes.  One TSDB holds an hour
of traffic around each month edge, with outages that cross the edges, and one
around the DST change; each zone gets its own config and store.  Expected
figures come from the plain loops of ``test_prometheus_figures``.
"""

from __future__ import annotations

import json

import pytest
from kits.prometheus import OpenMetrics
from test_prometheus_figures import (
    MINUTE_MS,
    TIERS,
    Counter,
    assert_service,
    every,
    excluded_minutes,
    expected_service,
    iso,
    minute,
    ms,
    no_queries,
    run_report,
    to_openmetrics,
)

pytestmark = pytest.mark.prometheus

KOLKATA = ("2026-01-31T18:30:00Z", "2026-02-28T18:30:00Z")
NEW_YORK = ("2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z")

# (first minute, end) of an hour of traffic, and its outage [start, end), UTC
WINDOWS = [
    ("2026-01-31T18:00:00Z", "2026-01-31T19:00:00Z", "18:20", "18:40"),  # Kolkata start
    ("2026-02-14T10:00:00Z", "2026-02-14T11:00:00Z", "10:15", "10:20"),
    ("2026-02-28T18:00:00Z", "2026-02-28T19:00:00Z", "18:20", "18:45"),  # Kolkata end
    ("2026-03-01T04:30:00Z", "2026-03-01T05:30:00Z", "04:50", "05:10"),  # New York start
    ("2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z", "06:55", "07:05"),  # DST: 07:00Z
    ("2026-04-01T03:30:00Z", "2026-04-01T04:30:00Z", "03:50", "04:10"),  # New York end
]

ZONES = {
    "kolkata": {
        "timezone": "Asia/Kolkata",
        "month": "2026-02",
        "period": KOLKATA,
        "minutes": 28 * 1440,
        # 10:15Z-10:18Z, written in the zone's own offset
        "maintenance": [("2026-02-14T15:45:00+05:30", "2026-02-14T15:48:00+05:30")],
    },
    "new_york": {
        "timezone": "America/New_York",
        "month": "2026-03",
        "period": NEW_YORK,
        "minutes": 31 * 1440 - 60,
        "maintenance": [
            # 06:58Z-07:02Z: starts in EST, ends in EDT
            ("2026-03-08T01:58:00-05:00", "2026-03-08T03:02:00-04:00"),
            # 03:55Z-04:30Z: crosses the month's end
            ("2026-03-31T23:55:00-04:00", "2026-04-01T00:30:00-04:00"),
        ],
    },
}

BUCKETS = ["0.1", "0.5", "+Inf"]


def in_a_month(m: int) -> bool:
    return any(minute(a) <= m < minute(b) for a, b in (KOLKATA, NEW_YORK))


def build() -> dict[str, list[Counter]]:
    req = Counter("edge_requests_total", {"job": "edge"})
    err = Counter("edge_errors_total", {"job": "edge"})
    hist = [Counter("edge_latency_seconds_bucket", {"job": "edge", "le": le}) for le in BUCKETS]
    for first, end, down_from, down_to in WINDOWS:
        for t in every(first, end):
            hhmm = iso(t // MINUTE_MS)[11:16]
            req.add(t, 100)
            err.add(t, 50 if down_from <= hhmm < down_to else 0)
            # Fast inside the months, all slow outside: a month edge cut in the
            # wrong place moves the percentiles.
            per_bucket = [80, 16, 4] if in_a_month(t // MINUTE_MS) else [0, 0, 50]
            for j, c in enumerate(hist):
                c.add(t, sum(per_bucket[: j + 1]))
    return {"total": [req], "errors": [err], "histogram": hist}


def config(url: str, zone: dict) -> dict:
    edge = {
        "source": "prom",
        "availability": {
            "errors": 'edge_errors_total{job="edge"}',
            "total": 'edge_requests_total{job="edge"}',
        },
        "latency": {"histogram": 'edge_latency_seconds_bucket{job="edge"}'},
    }
    return {
        "timezone": zone["timezone"],
        "sources": {"prom": {"type": "prometheus", "url": url}},
        "tiers": TIERS,
        "latency_targets_seconds": {"p50": 0.05, "p95": 0.2, "p99": 0.5},
        "services": {"edge": edge, "edge_strict": {**edge, "no_data": "down"}},
        "maintenance": [{"start": s, "end": e} for s, e in zone["maintenance"]],
    }


def expected(data: dict, zone: dict) -> dict[str, dict]:
    start, end = (minute(t) for t in zone["period"])
    excluded = excluded_minutes(zone["maintenance"], start, end)
    common = {"start": start, "end": end, "excluded": excluded, **data}
    return {
        "edge": expected_service(**common),
        "edge_strict": expected_service(**common, no_data="down"),
    }


# =========================================================================== fixtures


@pytest.fixture(scope="module")
def data() -> dict[str, list[Counter]]:
    return build()


@pytest.fixture(scope="module")
def prom_url(data, make_prometheus) -> str:
    om: OpenMetrics = to_openmetrics([c for cs in data.values() for c in cs])
    return make_prometheus(om)


@pytest.fixture(scope="module")
def runs(prom_url, tmp_path_factory) -> dict[str, tuple]:
    out = {}
    for name, zone in ZONES.items():
        workdir = tmp_path_factory.mktemp(name)
        rc, raw = run_report(workdir, config(prom_url, zone), zone["month"])
        assert rc == 0, name
        out[name] = (workdir, raw)
    return out


# =========================================================================== tests


def test_scenario_is_what_it_claims(data):
    def spans(exp):
        return [(i["start"], i["end"]) for i in exp["incidents"]]

    k = expected(data, ZONES["kolkata"])
    assert spans(k["edge"]) == [
        ("2026-01-31T18:30:00Z", "2026-01-31T18:40:00Z"),  # clipped to the month's start
        ("2026-02-14T10:18:00Z", "2026-02-14T10:20:00Z"),  # 10:15-10:18 maintenance
        ("2026-02-28T18:20:00Z", "2026-02-28T18:30:00Z"),  # clipped to the month's end
    ]
    assert k["edge"]["minutes"] == {
        "total": 40320,
        "up": 30 + 57 + 30 - 2 - 10 - 10,
        "down": 10 + 2 + 10,
        "no_data": 40320 - 30 - 60 - 30,
        "excluded": 3,
    }
    assert spans(k["edge_strict"]) == [
        ("2026-01-31T18:30:00Z", "2026-01-31T18:40:00Z"),
        ("2026-01-31T19:00:00Z", "2026-02-14T10:00:00Z"),
        ("2026-02-14T10:18:00Z", "2026-02-14T10:20:00Z"),
        ("2026-02-14T11:00:00Z", "2026-02-28T18:00:00Z"),
        ("2026-02-28T18:20:00Z", "2026-02-28T18:30:00Z"),
    ]
    ny = expected(data, ZONES["new_york"])
    assert spans(ny["edge"]) == [
        ("2026-03-01T05:00:00Z", "2026-03-01T05:10:00Z"),
        ("2026-03-08T06:55:00Z", "2026-03-08T06:58:00Z"),  # across 02:00 EST = 03:00 EDT
        ("2026-03-08T07:02:00Z", "2026-03-08T07:05:00Z"),
        ("2026-04-01T03:50:00Z", "2026-04-01T03:55:00Z"),  # maintenance to the end
    ]
    assert ny["edge"]["minutes"]["total"] == 44580
    assert ny["edge"]["minutes"]["excluded"] == 4 + 5
    assert spans(ny["edge_strict"])[-2:] == [
        ("2026-03-08T07:30:00Z", "2026-04-01T03:30:00Z"),
        ("2026-04-01T03:50:00Z", "2026-04-01T03:55:00Z"),
    ]
    # Only in-month minutes are fast: all three percentiles below 0.5 s.
    assert k["edge"]["latency_bounds_seconds"] == {
        "p50": [0.0, 0.1],
        "p95": [0.1, 0.5],
        "p99": [0.5, None],
    }


@pytest.mark.parametrize("zone", list(ZONES))
def test_report_header(runs, zone):
    report = json.loads(runs[zone][1])
    z = ZONES[zone]
    assert report["month"] == z["month"]
    assert report["timezone"] == z["timezone"]
    assert report["period"] == {"start": z["period"][0], "end": z["period"][1]}
    assert list(report["services"]) == ["edge", "edge_strict"]
    for figures in report["services"].values():
        assert figures["minutes"]["total"] == z["minutes"]


@pytest.mark.parametrize("service", ["edge", "edge_strict"])
@pytest.mark.parametrize("zone", list(ZONES))
def test_service_figures(runs, data, zone, service):
    report = json.loads(runs[zone][1])
    assert_service(report["services"][service], expected(data, ZONES[zone])[service])


@pytest.mark.parametrize("zone", list(ZONES))
def test_second_run_is_byte_identical_without_queries(runs, zone, monkeypatch):
    workdir, raw = runs[zone]
    attempted = no_queries(monkeypatch)
    rc, again = run_report(workdir, {}, ZONES[zone]["month"], out_name="again")
    assert attempted == []
    assert rc == 0
    assert again == raw


def test_period_edges_match_the_zone_rules():
    """The literal edges above, re-derived from the offsets the zones had then."""
    assert ms(KOLKATA[0]) == ms("2026-02-01T00:00:00+05:30")
    assert ms(KOLKATA[1]) == ms("2026-03-01T00:00:00+05:30")
    assert ms(NEW_YORK[0]) == ms("2026-03-01T00:00:00-05:00")  # EST
    assert ms(NEW_YORK[1]) == ms("2026-04-01T00:00:00-04:00")  # EDT
    assert (ms(NEW_YORK[1]) - ms(NEW_YORK[0])) // MINUTE_MS == 44580

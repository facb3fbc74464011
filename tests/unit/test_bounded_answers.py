"""What a server sends is bounded and quoted, never trusted: answer sizes, error lines, odd shapes.

In-process only: answers come from ``httpx.MockTransport`` handlers, so these run
without a socket.  The same limits against real loopback servers that trickle or
never stop are in ``tests/e2e/test_hostile_servers.py``.
"""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from slactl.app.scheduled import bounded_pulls
from slactl.app.silences import push as push_silences
from slactl.config import PrometheusSource, parse
from slactl.errors import PublishError, QueryError, SourceError
from slactl.promql.connection import Body, Budget, error_text, one_line
from slactl.publish.alertmanager import Alertmanager, silence_problem
from slactl.publish.grafana import GrafanaClient
from slactl.sources.base import Injected
from slactl.sources.prometheus.client import PromAPI

NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
)
CONFIG = """
sources:
  prom: {type: prometheus, url: "http://127.0.0.1:9"}
tiers:
  standard: {uptime_target: 99.9}
services:
  api:
    source: prom
    availability: {probe: 'up{job="api"}'}
maintenance:
  - {start: 2036-03-01T02:00:00Z, end: 2036-03-01T04:00:00Z, services: [api], reason: Upgrade}
"""
API_MATCHERS = [{"name": "service", "value": "api", "isRegex": False, "isEqual": True}]


def _refuse(why: str) -> SourceError:
    return SourceError(f"test server {why}")


# ----------------------------------------------------------------------------- Body


def test_a_body_past_its_limit_is_refused_while_it_streams():
    body = Body(limit=1000, refuse=_refuse)
    assert body.feed(b"x" * 600)
    with pytest.raises(SourceError, match="sent more than 1,000 bytes"):
        body.feed(b"x" * 600)


def test_a_gzip_bomb_counts_what_it_inflates_to():
    bomb = gzip.compress(b" " * (8 << 20))  # 8 MiB of spaces in ~8 KiB
    assert len(bomb) < 64 * 1024
    body = Body(limit=1 << 20, refuse=_refuse, encoding="gzip")
    with pytest.raises(SourceError, match="sent more than 1 MiB"):
        body.feed(bomb)
    assert body.size <= 1 << 20


def test_gzip_and_both_kinds_of_deflate_are_read():
    data = b'{"status":"success"}' * 100
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    for encoding, packed in (
        ("gzip", gzip.compress(data)),
        ("deflate", zlib.compress(data)),
        ("deflate", raw.compress(data) + raw.flush()),
        ("", data),
    ):
        body = Body(limit=1 << 20, refuse=_refuse, encoding=encoding)
        for i in range(0, len(packed), 7):
            assert body.feed(packed[i : i + 7])
        assert body.content() == data, encoding


def test_an_encoding_it_cannot_read_is_refused_and_broken_gzip_is_unreadable():
    with pytest.raises(SourceError, match="Content-Encoding: br"):
        Body(limit=100, refuse=_refuse, encoding="br")
    with pytest.raises(ValueError, match="cannot be read"):
        Body(limit=100, refuse=_refuse, encoding="gzip").feed(b"\x1f\x8bnot really gzip")


def test_an_error_answer_is_cut_not_refused():
    body = Body(limit=100, refuse=_refuse, truncate=True)
    assert body.feed(b"a" * 60)
    assert not body.feed(b"b" * 60)
    assert body.content() == b"a" * 60 + b"b" * 40


def test_answers_in_flight_share_one_budget_and_give_it_back():
    budget = Budget(1000)
    first, second = Body(limit=1000, refuse=_refuse, budget=budget), Body(limit=1000, refuse=_refuse, budget=budget)
    first.feed(b"x" * 700)
    with pytest.raises(SourceError, match="sent more than 1,000 bytes in answers at once"):
        second.feed(b"y" * 400)
    first.release()
    assert budget.held == 0
    assert second.feed(b"y" * 900)


def test_a_body_stops_at_its_deadline():
    body = Body(limit=100, refuse=_refuse, ends_at=time.monotonic() - 1)
    with pytest.raises(SourceError, match="in time"):
        body.feed(b"x")


# ----------------------------------------------------------------------------- error lines


def test_an_html_error_page_is_named_by_its_title_on_one_line():
    assert error_text(NGINX_502, "text/html") == "HTML error page: 502 Bad Gateway"
    page = b"<!DOCTYPE html>\n<html><body>\n<p>Upstream\n  timed out</p>\n</body></html>"
    assert error_text(page) == "HTML error page: Upstream timed out"


def test_a_long_or_odd_error_is_one_short_printable_line():
    text = error_text(b'{"status":"error","errorType":"bad_data","error":"' + b"x" * 100_000 + b'"}')
    assert text.startswith("bad_data xxx") and len(text) <= 200 and text.endswith("…")
    assert one_line("a\x1b[31mred\x1b[0m\n\tb\u2028c") == "a [31mred [0m b c"
    assert error_text(b'{"message":"Dashboard not found"}') == "Dashboard not found"
    assert error_text(b'"silence invalid: end before start"') == "silence invalid: end before start"
    assert error_text(b"[" * 100_000) == ("[" * 199) + "…"  # too deep for json: quoted as text


# ----------------------------------------------------------------------------- the Prometheus client


def _api(handler, **cfg) -> PromAPI:
    src = PrometheusSource(type="prometheus", url="http://prom.example:9090", retries=1, **cfg)
    return PromAPI("prom", src, base_dir=Path("."), transport=httpx.MockTransport(handler), sleep=_no_sleep)


async def _no_sleep(_seconds: float) -> None:
    return None


def _instant(api: PromAPI) -> list:
    async def go() -> list:
        async with api:
            return await api.instant("up", 1_700_000_000, "service 'api'")

    return asyncio.run(go())


def test_an_html_5xx_page_is_quoted_on_one_line():
    api = _api(lambda request: httpx.Response(502, content=NGINX_502, headers={"Content-Type": "text/html"}))
    with pytest.raises(SourceError) as err:
        _instant(api)
    message = str(err.value)
    assert "\n" not in message and "\r" not in message
    assert "HTTP 502: HTML error page: 502 Bad Gateway" in message and "<center>" not in message


def test_a_huge_error_line_is_cut():
    error = {"status": "error", "errorType": "bad_data", "error": "parse error: " + "x" * 100_000}
    api = _api(lambda request: httpx.Response(400, json=error))
    with pytest.raises(QueryError) as err:
        _instant(api)
    assert len(str(err.value)) < 400 and "bad_data parse error: xxx" in str(err.value)


def test_a_huge_error_inside_a_200_answer_is_cut_too():
    error = {"status": "error", "errorType": "execution", "error": "y" * 100_000}
    api = _api(lambda request: httpx.Response(200, json=error))
    with pytest.raises(QueryError) as err:
        _instant(api)
    assert len(str(err.value)) < 400


def test_an_answer_that_is_not_json_is_unreadable_not_unreachable():
    api = _api(lambda request: httpx.Response(200, content=b"<html>It works!</html>"))
    with pytest.raises(SourceError) as err:
        _instant(api)
    message = str(err.value)
    assert "sent an unreadable answer for service 'api'" in message and "after 2 attempts" in message
    assert "cannot reach" not in message and "cannot connect" not in message


def test_an_endless_answer_fails_at_the_limit_without_a_retry():
    calls = []

    async def endless():
        yield b'{"status":"success","data":{"resultType":"vector","result":['
        while True:
            yield b" " * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, content=endless())

    api = _api(handler, max_response_bytes=1 << 20)
    with pytest.raises(SourceError) as err:
        _instant(api)
    assert "sent more than 1 MiB for service 'api'" in str(err.value)
    assert "raise sources.prom.max_response_bytes" in str(err.value)
    assert len(calls) == 1  # the same query would bring the same bytes


def test_concurrent_answers_share_twice_the_limit():
    answer = b'{"status":"success","data":{"resultType":"vector","result":[]}}'

    async def slow_padded():
        for _ in range(10):
            await asyncio.sleep(0.01)
            yield b" " * 60_000
        yield answer

    async def four(api: PromAPI) -> list:
        async with api:
            return await asyncio.gather(*(api.instant("up", 1_700_000_000, f"q{i}") for i in range(4)))

    tight = _api(lambda request: httpx.Response(200, content=slow_padded()), max_response_bytes=1 << 20)
    with pytest.raises(SourceError, match="sent more than 2 MiB in answers at once"):
        asyncio.run(four(tight))
    roomy = _api(lambda request: httpx.Response(200, content=slow_padded()), max_response_bytes=2 << 20)
    assert asyncio.run(four(roomy)) == [[], [], [], []]
    assert roomy._budget.held == 0


def test_the_client_asks_for_what_it_can_inflate():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Accept-Encoding"])
        packed = gzip.compress(b'{"status":"success","data":{"resultType":"vector","result":[]}}')
        return httpx.Response(200, content=packed, headers={"Content-Encoding": "gzip"})

    assert _instant(_api(handler)) == []
    assert seen == ["gzip, deflate"]


# ----------------------------------------------------------------------------- Alertmanager and Grafana


def _push(listed: object) -> None:
    cfg = parse(CONFIG, base_dir=Path("."))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=listed)
        return httpx.Response(200, json={"silenceID": "new"})

    push_silences(cfg, "http://am.example:9093", datetime(2026, 2, 1, tzinfo=UTC), transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("listed", "said"),
    [
        ([1, "x"], "silence 0 of /api/v2/silences is not an object but a number"),
        ([None], "is not an object but null"),
        ([{"id": "a", "matchers": API_MATCHERS, "startsAt": "2036-03-01T02:00:00.000Z", "createdBy": "slactl",
           "comment": "Maintenance: Upgrade (slactl maintenance[0])", "status": {"state": "pending"}}], "has no endsAt"),
        ([{"id": "a", "matchers": API_MATCHERS, "startsAt": "x", "endsAt": "2036-03-01T04:00:00.000Z"}],
         "has a startsAt that is not a time"),
        ([{"id": "a", "matchers": "service=api", "startsAt": "2036-03-01T02:00:00.000Z",
           "endsAt": "2036-03-01T04:00:00.000Z"}], "has matchers that are not a list"),
        ([{"id": "a", "matchers": API_MATCHERS, "startsAt": "2036-03-01T02:00:00.000Z",
           "endsAt": "2036-03-01T04:00:00.000Z", "status": "expired"}], "has a status that is not an object"),
    ],
)  # fmt: skip
def test_odd_silences_listed_by_alertmanager_are_one_line(listed, said):
    with pytest.raises(PublishError) as err:
        _push(listed)
    assert said in str(err.value) and "\n" not in str(err.value)


def test_a_proper_silence_passes_the_check():
    good = {"id": "a", "matchers": API_MATCHERS, "startsAt": "2036-03-01T02:00:00.000Z",
            "endsAt": "2036-03-01T04:00:00.000Z", "createdBy": "slactl", "comment": "x", "status": {"state": "active"},
            "updatedAt": "2026-01-01T00:00:00.000Z"}  # fmt: skip
    assert silence_problem(good) is None
    _push([good])


def test_alertmanager_error_pages_are_named_not_pasted():
    transport = httpx.MockTransport(lambda r: httpx.Response(502, content=NGINX_502, headers={"Content-Type": "text/html"}))
    with Alertmanager("http://am.example:9093", transport=transport) as am, pytest.raises(PublishError) as err:
        am.silences()
    assert str(err.value) == (
        "Alertmanager at http://am.example:9093 refused GET /api/v2/silences (HTTP 502: HTML error page: 502 Bad Gateway)"
    )


def test_a_stalled_alertmanager_ends_at_the_command_deadline():
    def stall(request: httpx.Request) -> httpx.Response:
        time.sleep(3)
        return httpx.Response(200, json=[])

    t0 = time.monotonic()
    with Alertmanager("http://am.example:9093", transport=httpx.MockTransport(stall), timeout=0.5) as am:
        with pytest.raises(PublishError, match=r"ran out of its 0.5s at GET /api/v2/silences; give it longer with --timeout"):
            am.silences()
    assert time.monotonic() - t0 < 2


@pytest.mark.parametrize(
    "answer", ["a string", [1, 2], {"dashboard": [], "meta": {}}, {"dashboard": {"version": "seven"}, "meta": {}}]
)
def test_grafana_answers_of_the_wrong_shape_are_one_line(answer):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    with GrafanaClient("http://grafana.example", "tok", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(PublishError, match="Grafana at http://grafana.example answered"):
            client.push({"uid": "u1", "title": "One"}, "folder", "pushed")


def test_grafana_refusals_quote_its_message():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"message": "database is locked\n" + "z" * 5000})

    with GrafanaClient("http://grafana.example", "tok", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(PublishError) as err:
            client.ensure_folder("SLA")
    assert "HTTP 500 database is locked zzz" in str(err.value) and len(str(err.value)) < 400


# ----------------------------------------------------------------------------- the scheduler's pulls


def test_the_scheduler_bounds_every_pull_by_default():
    cfg = parse(CONFIG, base_dir=Path("."))
    assert bounded_pulls(cfg, None).timeout_seconds == 300
    cfg = parse(CONFIG + "schedule: {pull_timeout: 45s}\n", base_dir=Path("."))
    assert bounded_pulls(cfg, Injected(environ={})).timeout_seconds == 45
    assert bounded_pulls(cfg, Injected(timeout_seconds=7)).timeout_seconds == 7

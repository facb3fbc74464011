"""``slactl init`` against a hostile or broken server: nothing injected, nothing hung, one line when it fails.

A small HTTP server in the test plays Prometheus: its answers carry label
values chosen to inject YAML, series no selector can name, malformed JSON,
error pages, a body that never ends and one that arrives a byte a second.
``slactl`` runs as the user runs it, a process of its own, so its exit code,
its stderr, its wall time and its peak memory (``ru_maxrss``) are measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from kits.peak import wait_with_peak

INJECTION = "x\n  evil:\n    source: prom\n    availability:\n      probe: 'up{job=\"attacker\"}'\n  #"
ENV = {**os.environ, "NO_PROXY": "*", "no_proxy": "*"}
MIB = 2**20

# (status, body) for a path and its query; a body of None means the handler streams (see Hostile.mode).
Answer = Callable[[str, str], tuple[int, bytes | None]]


def ok(data: object) -> bytes:
    return json.dumps({"status": "success", "data": data}).encode()


def vector(rows: list[dict[str, object]]) -> bytes:
    return ok({"resultType": "vector", "result": [{"metric": m, "value": [0, "1"]} for m in rows]})


def prometheus(names: list[str], ratios=(), histograms=(), probes=(), ups=()) -> Answer:
    """Answers as a Prometheus holding these series would give them to init's queries."""

    def answer(path: str, query: str) -> tuple[int, bytes]:
        if path.endswith("/label/__name__/values"):
            return 200, ok(names)
        if "_seconds_bucket" in query:
            return 200, vector(list(histograms))
        if "by (__name__, job, code)" in query:
            return 200, vector(list(ratios))
        if "by (__name__, job," in query:
            return 200, vector([])
        if "probe_success" in query:
            return 200, vector(list(probes))
        if "count by (job) (up)" in query:
            return 200, vector(list(ups))
        return 400, b'{"status":"error","errorType":"bad_data","error":"unexpected query"}'

    return answer


class Hostile:
    """A loopback HTTP server answering with ``answer``, or misbehaving as ``mode`` says."""

    def __init__(self, answer: Answer | None = None, mode: str = "") -> None:
        self.answer, self.mode = answer, mode
        self.stop = threading.Event()
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # slactl gave up on the answer, as it should

            def do_GET(self) -> None:  # noqa: N802  (the stdlib's name)
                try:
                    hostile.serve(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, h: BaseHTTPRequestHandler) -> None:
        if self.mode == "trickle-headers":
            h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            self._trickle(h, b"a")
            return
        if self.mode in ("trickle-body", "endless"):
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            if self.mode == "trickle-body":
                h.wfile.write(b'1\r\n{\r\n')
                self._trickle(h, b'1\r\n \r\n')
            else:
                chunk = b"%x\r\n%s\r\n" % (MIB, b'"' * MIB)
                while not self.stop.is_set():
                    h.wfile.write(chunk)
            return
        assert self.answer is not None
        parsed = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(parsed.query)).get("query", "")
        status, body = self.answer(parsed.path, query)
        h.send_response(status)
        h.send_header("Content-Type", "text/html" if body and body.startswith(b"<") else "application/json")
        h.send_header("Content-Length", str(len(body or b"")))
        h.end_headers()
        h.wfile.write(body or b"")

    def _trickle(self, h: BaseHTTPRequestHandler, piece: bytes) -> None:
        while not self.stop.wait(1.0):
            h.wfile.write(piece)
            h.wfile.flush()

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Hostile]]:
    started: list[Hostile] = []

    def start(answer: Answer | None = None, mode: str = "") -> Hostile:
        started.append(Hostile(answer, mode))
        return started[-1]

    yield start
    for server in started:
        server.close()


class Run:
    def __init__(self, code: int, out: str, err: str, seconds: float, peak_mib: float) -> None:
        self.code, self.out, self.err, self.seconds, self.peak_mib = code, out, err, seconds, peak_mib


def slactl(*args: str, cwd: Path, limit: float = 120) -> Run:
    """Run ``python -m slactl ARGS``; its exit code, output, wall time and peak resident memory."""
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    start = time.monotonic()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen([sys.executable, "-m", "slactl", *args], cwd=cwd, stdout=fo, stderr=fe, env=ENV)
    status, peak, killed = wait_with_peak(proc.pid, limit=limit)
    if killed:
        raise AssertionError(f"slactl {' '.join(args)} still running after {limit:g} s")
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here
    return Run(proc.returncode, out.read_text(), err.read_text(), time.monotonic() - start, peak / (1024 * 1024))


def one_line(run: Run) -> str:
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    return lines[0]


# --------------------------------------------------------------------------- injected labels, odd series


def test_a_label_value_cannot_choose_what_is_measured(serve, tmp_path):
    server = serve(prometheus(
        ["probe_success", "up"],
        probes=[{"job": "blackbox", "instance": INJECTION}, {"job": "blackbox", "instance": "a\u2028evil2: {}"}],
        ups=[{"job": "blackbox"}, {"job": "node\x85evil3: x"}],
    ))  # fmt: skip
    run = slactl("init", "--prometheus", server.url, "--out", "slactl.yaml", cwd=tmp_path)
    assert run.code == 0, run.err
    check = slactl("--config", "slactl.yaml", "validate", cwd=tmp_path)
    assert check.code == 0, check.err
    assert "ok (3 services, 1 source, 0 customers)" in check.out
    services = yaml.safe_load((tmp_path / "slactl.yaml").read_text())["services"]
    probes = sorted(svc["availability"]["probe"] for svc in services.values())
    assert probes == sorted([
        'probe_success{job="blackbox",instance="x\\n  evil:\\n    source: prom\\n    availability:\\n'
        '      probe: \'up{job=\\"attacker\\"}\'\\n  #"}',
        'probe_success{job="blackbox",instance="a\\u2028evil2: {}"}',
        'up{job="node\\u0085evil3: x"}',
    ])  # fmt: skip


def test_series_no_selector_can_name_are_skipped_and_the_rest_written(serve, tmp_path):
    server = serve(prometheus(
        ["http.server.requests_total", "1xx_requests_total", "api_requests_total", "probe_success", "up"],
        ratios=[
            {"__name__": "http.server.requests_total", "job": "otel", "code": "500"},
            {"__name__": "1xx_requests_total", "job": "odd", "code": "200"},
            {"__name__": "api_requests_total", "job": "api", "code": "503"},
        ],
        probes=[{"job": "blackbox", "instance": "nul\x00inside"}],
        ups=[{"job": "inf"}],
    ))  # fmt: skip
    run = slactl("init", "--prometheus", server.url, "--out", "slactl.yaml", cwd=tmp_path)
    assert run.code == 0, run.err
    warnings = run.err.strip().splitlines()
    assert len(warnings) == 3, run.err
    assert warnings[0].startswith("slactl: warning: skipped 1xx_requests_total{job='odd'}: ")
    assert "starts with a digit" in warnings[0]
    assert warnings[1].startswith("slactl: warning: skipped http.server.requests_total{job='otel'}: ")
    assert "Prometheus 3 UTF-8 name" in warnings[1]
    assert warnings[2] == "slactl: warning: 2 series skipped; the others are in the config"
    assert "3 candidate services" in run.out
    check = slactl("--config", "slactl.yaml", "validate", cwd=tmp_path)
    assert check.code == 0 and "ok (3 services" in check.out, check.err
    services = yaml.safe_load((tmp_path / "slactl.yaml").read_text())["services"]
    selectors = sorted(svc["availability"].get("total") or svc["availability"]["probe"] for svc in services.values())
    assert selectors == ['api_requests_total{job="api"}', 'probe_success{job="blackbox",instance="nul\\u0000inside"}',
                         'up{job="inf"}']  # fmt: skip


# --------------------------------------------------------------------------- malformed answers


def _broken_query(body: bytes, status: int = 200) -> Answer:
    good = prometheus(["up"], ups=[{"job": "node"}])
    return lambda path, query: (status, body) if "up" in query else good(path, query)


MALFORMED = {
    "names-data-int": (lambda p, q: (200, ok(5)), "malformed answer to the list of metric names: Expected `array`, got `int` - at `$.data`"),
    "names-data-null": (lambda p, q: (200, ok(None)), "malformed answer to the list of metric names: Expected `array`, got `null` - at `$.data`"),
    "query-data-int": (_broken_query(ok(7)), "Expected `object`, got `int` - at `$.data`"),
    "metric-string": (_broken_query(ok({"resultType": "vector", "result": [{"metric": "up", "value": [0, "1"]}]})),
                      "Expected `object`, got `str` - at `$.data.result[0].metric`"),
    "metric-missing": (_broken_query(ok({"resultType": "vector", "result": [{"value": [0, "1"]}]})),
                       "Object missing required field `metric` - at `$.data.result[0]`"),
    "job-int": (_broken_query(vector([{"job": 3}])), "Expected `str`, got `int` - at `$.data.result[0].metric[...]`"),
    "invalid-json": (_broken_query(b'{"status": "success", "data": '), "with invalid JSON ("),
    "html-502": (_broken_query(b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<h1>Bad</h1>\n</body>\n</html>\n", 502),
                 "with HTTP 502: <html> <head><title>502 Bad Gateway</title></head> <body> <h1>Bad</h1> </body> </html>;"),
    "huge-400": (_broken_query(json.dumps({"status": "error", "errorType": "bad_data", "error": "x" * 100_000}).encode(), 400),
                 "refused the query 'count by (job) (up)' (HTTP 400): bad_data: xxxx"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_answer_is_one_line_naming_the_server_and_the_problem(case, serve, tmp_path):
    answer, said = MALFORMED[case]
    server = serve(answer)
    run = slactl("init", "--prometheus", server.url, "--out", "slactl.yaml", cwd=tmp_path)
    line = one_line(run)
    assert run.code == 1, run.err
    assert line.startswith(f"slactl: error: Prometheus at {server.url} "), line
    assert said in line and "cannot reach" not in line and "internal error" not in line
    assert len(line) < 600
    assert not (tmp_path / "slactl.yaml").exists()


# --------------------------------------------------------------------------- bounded in time and size


@pytest.mark.parametrize("mode", ["trickle-headers", "trickle-body"])
def test_a_byte_a_second_ends_at_the_deadline(mode, serve, tmp_path):
    server = serve(mode=mode)
    run = slactl("init", "--prometheus", server.url, "--timeout", "3", "--out", "slactl.yaml", cwd=tmp_path, limit=60)
    assert run.code == 1
    assert one_line(run) == (
        f"slactl: error: Prometheus at {server.url} did not finish answering within 3 s; "
        "check that the server is healthy, or give more time with --timeout"
    )
    assert run.seconds < 3 + 12  # the deadline, plus starting Python on a busy machine
    assert run.peak_mib < 500
    assert not (tmp_path / "slactl.yaml").exists()


def test_an_endless_body_stops_at_the_size_limit(serve, tmp_path):
    server = serve(mode="endless")
    run = slactl("init", "--prometheus", server.url, "--timeout", "30", "--out", "slactl.yaml", cwd=tmp_path, limit=90)
    assert run.code == 1
    assert one_line(run) == (
        f"slactl: error: Prometheus at {server.url} answered the list of metric names with more than 64 MiB; "
        "check that the URL is a Prometheus server"
    )
    assert run.peak_mib < 500, f"peak {run.peak_mib:.0f} MiB"
    assert run.seconds < 30 + 12


def test_millions_of_tiny_values_under_the_size_limit_are_refused_before_decoding(serve, tmp_path):
    """63 MiB of ``"ab",`` would be 13 million Python strings, a gigabyte; their number is bounded too."""
    blob = b'{"status":"success","data":[' + b'"ab",' * (63 * MIB // 5) + b'"ab"]}'
    server = serve(lambda path, query: (200, blob))
    run = slactl("init", "--prometheus", server.url, "--out", "slactl.yaml", cwd=tmp_path, limit=90)
    assert run.code == 1
    assert one_line(run) == (
        f"slactl: error: Prometheus at {server.url} answered the list of metric names with more than "
        "2,000,000 values; check that the URL is a Prometheus server"
    )
    assert run.peak_mib < 500, f"peak {run.peak_mib:.0f} MiB"

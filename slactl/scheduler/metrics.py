"""The scheduler's own metrics (prometheus_client) and its ``/metrics`` + ``/healthz`` server.

A registry of slactl's own, so nothing a library registers globally leaks in.
The per-task label is ``task``, not ``job``: Prometheus sets ``job`` on every
scraped series itself, and a ``job`` label in the exposition would be renamed
``exported_job`` on scrape.  Units are base units (``slactl_ingested_seconds_total``
counts seconds of metrics pulled, 60 per one-minute slice), so
``promtool check metrics`` has nothing to say.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Info,
    ProcessCollector,
    generate_latest,
)

from slactl import __version__
from slactl.errors import SlactlError
from slactl.redact import redact

log = logging.getLogger("slactl.scheduler")


class SelfMetrics:
    """Counters and gauges of the scheduler's tasks, its leadership and what it pulled."""

    def __init__(self, services: Iterable[str], tasks: Iterable[str]) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.runs = Counter("slactl_task_runs", "Scheduled task runs on this replica, finished either way.", ["task"], registry=r)
        self.failures = Counter("slactl_task_failures", "Scheduled task runs that failed.", ["task"], registry=r)
        self.skipped = Counter("slactl_task_skipped", "Task runs skipped: missed, or the previous run still going.", ["task"], registry=r)
        self.last_success = Gauge("slactl_task_last_success_timestamp_seconds", "When the task last succeeded (0: never).", ["task"], registry=r)
        self.last_duration = Gauge("slactl_task_last_duration_seconds", "How long the task's last run took.", ["task"], registry=r)
        self.ingested = Counter("slactl_ingested_seconds", "Seconds of metrics pulled into the store (60 per one-minute slice).", ["service"], registry=r)
        self.leader = Gauge("slactl_leader", "1 on the replica running the jobs, else 0.", registry=r)
        Info("slactl_build", "The running slactl.", registry=r).info({"version": __version__})
        ProcessCollector(registry=r)
        for task in tasks:
            for family in (self.runs, self.failures, self.skipped, self.last_success, self.last_duration):
                family.labels(task=task)
        for service in services:
            self.ingested.labels(service=service)

    def record(self, task: str, ok: bool, duration: float, at: float) -> None:
        self.runs.labels(task=task).inc()
        self.last_duration.labels(task=task).set(duration)
        if ok:
            self.last_success.labels(task=task).set(at)
        else:
            self.failures.labels(task=task).inc()

    def skip(self, task: str) -> None:
        self.skipped.labels(task=task).inc()

    def add_ingested(self, pulled: dict[str, int]) -> None:
        for service, minutes in pulled.items():
            self.ingested.labels(service=service).inc(60 * minutes)

    def value(self, name: str, **labels: str) -> float:
        """One sample's value (0 when absent), for health checks and tests."""
        return self.registry.get_sample_value(name, labels) or 0.0

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            status, ctype, data = 200, CONTENT_TYPE_LATEST, self.server.render()
        elif path == "/healthz":
            ok, why = self.server.health()
            status, ctype, data = (200 if ok else 503), "text/plain; charset=utf-8", (redact(why) + "\n").encode()
        else:
            status, ctype, data = 404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


class MetricsServer(ThreadingHTTPServer):
    """``/metrics`` and ``/healthz`` on a daemon thread; never blocks the jobs."""

    daemon_threads = True

    def __init__(self, listen: tuple[str, int], render: Callable[[], bytes], health: Callable[[], tuple[bool, str]]):
        self.render, self.health = render, health
        if ":" in listen[0]:
            self.address_family = socket.AF_INET6
        try:
            super().__init__(listen, _Handler)
        except OSError as exc:
            where, why = f"{listen[0]}:{listen[1]}", exc.strerror or exc
            raise SlactlError(f"cannot listen on {where} for /metrics: {why}; is another scheduler "
                              "running there? change schedule.metrics_listen") from exc  # fmt: skip
        threading.Thread(target=self.serve_forever, name="slactl-metrics", daemon=True).start()

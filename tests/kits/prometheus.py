"""Helpers for tests against a REAL Prometheus: OpenMetrics writer, backfill, server.

``OpenMetrics`` writes series as OpenMetrics text, ``backfill`` turns it into TSDB
blocks with ``promtool``, ``PrometheusServer`` runs ``prometheus`` over them on
127.0.0.1. The ``make_prometheus`` fixture in ``conftest.py`` combines the three.

Semantics checked against the real Prometheus 2.42.0 (Debian 2.42.0+ds), S being a
sample's timestamp; these are what slactl relies on:

a. Range selectors are CLOSED on both ends: ``x[1m]`` at T selects samples with
   T-60000ms <= t <= T (integer milliseconds). ``last_over_time(x[1m])`` sees a
   sample at S when evaluated at S, S+59.999 and S+60.000, not at S+60.001 or
   S-0.001; with samples every 60 s at whole minutes, ``count_over_time(x[1m])``
   at a whole minute is 2 (both edges), in instant and range queries alike.
   ``x[60s]`` is the same as ``x[1m]``. ``x[59999ms]`` at T is [T-59.999s, T], so
   at S+60.000 it no longer sees S: the left-open (T-60s, T] window of
   Prometheus 3 at millisecond resolution. (Instant selectors' 5m lookback is
   closed too: a sample at S is returned at S+300.000, not at S+300.001.)
b. ``query_range`` step timestamps are exactly start + k*step in milliseconds,
   k = 0 .. floor((end-start)/step): start=1767225659.999, step=60 gives
   1767225659.999, 1767225719.999, ... in the JSON (whole seconds print as
   integers, e.g. 1767225660, so parse them as floats). ``start``/``end``/``time``
   are rounded to the nearest millisecond (1767225659.9999 -> 1767225660).
c. The limit is checked as (end-start)/step > 11000 (integer division): 11,001
   points are ACCEPTED (HTTP 200). 11,002 points give HTTP 400 with
   ``{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution
   of 11,000 points per timeseries. Try decreasing the query resolution
   (?step=XX)"}`` (GET and POST alike). So one query spans at most 11000*step.
d. ``last_over_time`` KEEPS ``__name__``; ``count_over_time`` DROPS it (as do
   ``max_over_time``, ``rate``, ``resets``, and arithmetic like ``-x`` or
   ``x + 0``; a comparison filter ``x > 3`` keeps it).
e. Yes: ``/api/v1/query?query=x[1m]&time=T`` returns resultType ``matrix`` with the
   raw samples at their own timestamps, window closed as in (a): ``x[3m]`` at S+180
   with samples every minute from S returns 4 samples. A range selector in
   ``query_range`` is HTTP 400 bad_data ('invalid expression type "range vector"
   for range query, must be Scalar or instant Vector').
f. ``/api/v1/status/buildinfo`` -> ``{"status":"success","data":{"version":
   "2.42.0+ds","revision":"2.42.0+ds-5+deb12u1","branch":"debian/sid","buildUser":
   "...","buildDate":"20260604-00:58:54","goVersion":"go1.19.8"}}`` (note Debian's
   ``+ds`` suffix on the version).
g. Yes: ``resets(c[1m]) > 0`` over a range returns only the steps where it holds
   (e.g. two points out of 11); a series that never matches is absent, and no
   match at all is ``"result": []`` with status success.

Backfill (promtool 2.42): millisecond timestamps written as ``<sec>.<ms>`` come
back exact; an out-of-order sample of a series is silently DROPPED (exit 0), so
``OpenMetrics`` refuses them; the block table's MAX TIME is exclusive (last+1ms).
"""

from __future__ import annotations

import atexit
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "OpenMetrics",
    "PromkitError",
    "PrometheusServer",
    "backfill",
    "free_loopback_port",
    "missing_binaries",
]

_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_FLUSH_EVERY = 8192  # lines buffered before one writelines() call


class PromkitError(RuntimeError):
    """promtool or prometheus failed; the message carries their output."""


def missing_binaries() -> list[str]:
    """Names of the Prometheus binaries (`prometheus`, `promtool`) not on PATH."""
    return [b for b in ("promtool", "prometheus") if shutil.which(b) is None]


# --------------------------------------------------------------------------- OpenMetrics


def _escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_SPECIAL_VALUES = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}


@dataclass
class _Series:
    name: str
    labels: tuple[tuple[str, str], ...]
    samples: Iterable[tuple[float, float]]

    def prefix(self) -> str:
        if not self.labels:
            return self.name + " "
        body = ",".join(f'{k}="{_escape_label_value(v)}"' for k, v in self.labels)
        return f"{self.name}{{{body}}} "


@dataclass
class _Family:
    name: str
    type: str
    series: list[_Series] = field(default_factory=list)


class OpenMetrics:
    """Collects series and streams them as OpenMetrics text for promtool's backfill.

    Usage::

        om = OpenMetrics()
        om.counter("http_requests_total", {"code": "200"}, [(t0, 0), (t0 + 60, 5)])
        om.gauge("up", {"job": "api"}, ((t, 1) for t in range(t0, t1, 60)))
        om.write(tmp_path / "data.om")

    The metric name stored in the TSDB is always exactly ``name``: a counter
    ``foo_total`` is written as family ``# TYPE foo counter`` with samples
    ``foo_total{...}``; a counter not ending in ``_total`` gets a family of its
    own full name (promtool 2.42 accepts that, it does not check suffixes).

    Timestamps are seconds (int or float) and are rounded to whole
    milliseconds, written as ``<sec>.<ms:03d>``; promtool 2.42 parses those
    exactly (checked for every millisecond fraction). Values are floats; NaN
    and +/-Inf are written as ``NaN``, ``+Inf``, ``-Inf``. Stale markers cannot
    be expressed: a gap is simply a missing sample.

    Rules handled here so promtool accepts the file: one ``# TYPE`` line per
    family and all its series grouped under it, label values escaped (``\\``,
    ``"``, newline), labels sorted by name, ``# EOF`` last. Samples of a series
    must be strictly increasing in (millisecond) time: a list/tuple that is not
    is sorted on ``counter()``/``gauge()``; any other iterable (a generator,
    consumed lazily once by ``write()``) raises ``ValueError`` on the first
    out-of-order or duplicate timestamp. This matters: promtool 2.42 silently
    DROPS an out-of-order sample of a series (exit code 0, no message).

    Histograms: promtool 2.42 accepts bucket series written under any of
    ``# TYPE foo histogram`` (with only ``foo_bucket`` samples, no ``_sum`` or
    ``_count`` required), ``# TYPE foo_bucket gauge`` or ``# TYPE foo_bucket
    counter``, and the TSDB stores no type anyway. Write them as a gauge
    family named ``foo_bucket``: ``om.gauge("foo_bucket", {"le": "0.5"}, ...)``
    (plus ``foo_count``/``foo_sum`` as further gauges if wanted); give ``le``
    as a client library would, e.g. ``"0.5"``, ``"1"``, ``"+Inf"``.

    ``write()`` streams line by line (buffered); it never builds the file in
    memory. Throughput is roughly a million samples per second.
    """

    def __init__(self) -> None:
        self._families: dict[str, _Family] = {}
        self._keys: set[tuple[str, tuple[tuple[str, str], ...]]] = set()

    def counter(
        self,
        name: str,
        labels: Mapping[str, str] | None = None,
        samples: Iterable[tuple[float, float]] = (),
    ) -> None:
        """Add a counter series named ``name`` (normally ending in ``_total``)."""
        family = name[: -len("_total")] if name.endswith("_total") else name
        self._add(family, "counter", name, labels, samples)

    def gauge(
        self,
        name: str,
        labels: Mapping[str, str] | None = None,
        samples: Iterable[tuple[float, float]] = (),
    ) -> None:
        """Add a gauge series named ``name``."""
        self._add(name, "gauge", name, labels, samples)

    @property
    def series_count(self) -> int:
        return len(self._keys)

    def _add(
        self,
        family: str,
        mtype: str,
        name: str,
        labels: Mapping[str, str] | None,
        samples: Iterable[tuple[float, float]],
    ) -> None:
        if not _METRIC_NAME_RE.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        items: list[tuple[str, str]] = []
        for key, value in (labels or {}).items():
            if not _LABEL_NAME_RE.match(key) or key.startswith("__"):
                raise ValueError(f"invalid label name {key!r} for {name}")
            if not isinstance(value, str):
                raise TypeError(f"label {key!r} of {name} must be a str, got {value!r}")
            items.append((key, value))
        key_labels = tuple(sorted(items))
        key = (name, key_labels)
        if key in self._keys:
            raise ValueError(f"duplicate series {name}{dict(key_labels)}")
        fam = self._families.get(family)
        if fam is None:
            fam = self._families[family] = _Family(family, mtype)
        elif fam.type != mtype:
            raise ValueError(f"metric family {family!r} is already a {fam.type}, not a {mtype}")
        if isinstance(samples, Sequence):
            samples = _sorted_if_needed(samples)
        self._keys.add(key)
        fam.series.append(_Series(name, key_labels, samples))

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole exposition to ``path`` (streaming) and return the path."""
        path = Path(path)
        with open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
            for fam in self._families.values():
                out.write(f"# TYPE {fam.name} {fam.type}\n")
                for series in fam.series:
                    _write_series(out, series)
            out.write("# EOF\n")
        return path


def _sorted_if_needed(samples: Sequence[tuple[float, float]]) -> Sequence[tuple[float, float]]:
    prev = -math.inf
    for ts, _ in samples:
        if ts < prev:
            return sorted(samples, key=lambda s: s[0])
        prev = ts
    return samples


def _write_series(out, series: _Series) -> None:
    prefix = series.prefix()
    special = _SPECIAL_VALUES
    buf: list[str] = []
    append = buf.append
    prev_ms = -(1 << 62)
    for ts, value in series.samples:
        ms = round(ts * 1000)
        if ms <= prev_ms:
            raise ValueError(
                f"{prefix.strip()}: samples must be strictly increasing in time, "
                f"got {ms / 1000:.3f} after {prev_ms / 1000:.3f}"
            )
        prev_ms = ms
        text = repr(float(value))
        if text[-1] in "nf":  # nan, inf, -inf
            text = special[text]
        append(f"{prefix}{text} {ms // 1000}.{ms % 1000:03d}\n")
        if len(buf) >= _FLUSH_EVERY:
            out.writelines(buf)
            buf.clear()
    out.writelines(buf)


# --------------------------------------------------------------------------- backfill


def backfill(
    om_path: str | os.PathLike[str],
    tsdb_dir: str | os.PathLike[str],
    *,
    max_block_duration: str = "768h",
    promtool: str = "promtool",
) -> str:
    """Turn an OpenMetrics file into TSDB blocks in ``tsdb_dir``; return promtool's output.

    Runs ``promtool tsdb create-blocks-from openmetrics --max-block-duration=768h
    om_path tsdb_dir``. Blocks are aligned to multiples of the block duration
    since the epoch, so a month may give two blocks. Raises ``PromkitError``
    with promtool's output on failure.
    """
    Path(tsdb_dir).mkdir(parents=True, exist_ok=True)
    cmd = [
        promtool,
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        f"--max-block-duration={max_block_duration}",
        os.fspath(om_path),
        os.fspath(tsdb_dir),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except FileNotFoundError as exc:
        raise PromkitError(f"{promtool} not found on PATH (run `make prometheus`)") from exc
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise PromkitError(
            f"promtool backfill failed (exit {proc.returncode}): {' '.join(cmd)}\n{output}"
        )
    return output


# --------------------------------------------------------------------------- server


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Loopback only: never go through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class PrometheusServer:
    """A real ``prometheus`` process on 127.0.0.1 over an existing TSDB directory.

    Usage::

        with PrometheusServer(tsdb_dir) as prom:
            httpx.get(f"{prom.url}/api/v1/query", params={"query": "up"})

    Writes ``prometheus.yml`` into ``workdir`` (default: ``tsdb_dir``'s parent)
    with a ``global`` section and no scrape targets; ``extra_config`` is
    appended verbatim as top-level YAML (e.g. a ``scrape_configs:`` block; do
    not repeat ``global:``/``rule_files:``), ``rule_files`` are listed by
    absolute path. The server runs with ``--storage.tsdb.retention.time=100y``
    (so backfilled history is never deleted) and ``--web.enable-lifecycle``,
    its output goes to ``prometheus.log`` in ``workdir``, and startup waits for
    ``/-/ready`` for at most ``startup_timeout`` seconds, raising
    ``PromkitError`` with the log's tail otherwise. On exit: SIGTERM, then
    SIGKILL after ``stop_timeout`` seconds.
    """

    def __init__(
        self,
        tsdb_dir: str | os.PathLike[str],
        *,
        workdir: str | os.PathLike[str] | None = None,
        extra_config: str = "",
        rule_files: Iterable[str | os.PathLike[str]] = (),
        scrape_interval: str = "15s",
        evaluation_interval: str = "15s",
        extra_args: Sequence[str] = (),
        binary: str = "prometheus",
        startup_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.tsdb_dir = Path(tsdb_dir).resolve()
        self.workdir = Path(workdir).resolve() if workdir else self.tsdb_dir.parent
        self.config_path = self.workdir / "prometheus.yml"
        self.log_path = self.workdir / "prometheus.log"
        self.extra_config = extra_config
        self.rule_files = [Path(p).resolve() for p in rule_files]
        self.scrape_interval = scrape_interval
        self.evaluation_interval = evaluation_interval
        self.extra_args = list(extra_args)
        self.binary = binary
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("PrometheusServer is not started")
        return f"http://127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        lines = [
            "global:",
            f"  scrape_interval: {self.scrape_interval}",
            f"  evaluation_interval: {self.evaluation_interval}",
        ]
        if self.rule_files:
            lines.append("rule_files:")
            lines += [f"  - {_yaml_str(str(p))}" for p in self.rule_files]
        text = "\n".join(lines) + "\n"
        if self.extra_config:
            text += self.extra_config.rstrip("\n") + "\n"
        self.config_path.write_text(text, encoding="utf-8")

    def start(self) -> PrometheusServer:
        if self._proc is not None:
            raise RuntimeError("PrometheusServer already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tsdb_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        # The port is chosen by binding port 0 and released again; if someone
        # else grabs it in between, prometheus fails to bind: try a few ports.
        for attempt in range(3):
            self.port = free_loopback_port()
            self._spawn()
            try:
                self._wait_ready()
                return self
            except PromkitError:
                in_use = "address already in use" in _tail(self.log_path).lower()
                self.stop()
                if not in_use or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        cmd = [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.tsdb_dir}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=100y",
            "--web.enable-lifecycle",
            *self.extra_args,
        ]
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== {' '.join(cmd)}\n".encode())
            log.flush()
            try:
                self._proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                )
            except FileNotFoundError as exc:
                raise PromkitError(
                    f"{self.binary} not found on PATH (run `make prometheus`)"
                ) from exc
        atexit.register(self.stop)  # never leave a server behind a crashed run

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        last_error = ""
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise PromkitError(
                    f"prometheus exited with code {self._proc.returncode} during startup; "
                    f"log {self.log_path}:\n{_tail(self.log_path)}"
                )
            try:
                with _OPENER.open(f"{self.url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last_error = str(exc)
            time.sleep(0.1)
        raise PromkitError(
            f"prometheus not ready after {self.startup_timeout:.0f}s ({last_error}); "
            f"log {self.log_path}:\n{_tail(self.log_path)}"
        )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=self.stop_timeout)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _yaml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

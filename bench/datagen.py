"""Generate a scenario's samples and backfill them into a cached Prometheus TSDB.

Speed matters: the largest scenarios hold about 100 million samples. Each
series is computed with numpy and written as fixed-width OpenMetrics lines
built as one byte matrix (values and timestamps zero-padded, which promtool
parses like any number), so no Python loop runs per sample. The text is cut
into one file per 768-hour block window, so promtool reads each file once and
writes blocks that never overlap. The TSDB is cached under
``bench/.cache/<scenario key>/`` with a ``READY.json``; the text is deleted.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from scenarios import (
    BUCKETS,
    PROBES,
    Scenario,
    error_spells,
    probe_outages,
    restart_at,
    scrape_gaps,
)

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))

from kits.prometheus import backfill  # noqa: E402

CACHE = BENCH / ".cache"
BLOCK_S = 768 * 3600
VALUE_WIDTH = 12  # counters stay far below 10**12


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded ASCII digits, one row per value."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


class Writer:
    """Fixed-width OpenMetrics lines, split by block window into files of their own."""

    def __init__(self, folder: Path, sc: Scenario) -> None:
        self.folder = folder
        start_ms = sc.gen_start * 1000
        self.first = sc.gen_start // BLOCK_S
        last = (sc.gen_start + sc.gen_minutes * 60) // BLOCK_S
        self.files = [open(folder / f"w{w}.om", "wb", buffering=1 << 22) for w in range(self.first, last + 1)]
        self.minutes = np.arange(sc.gen_minutes, dtype=np.int64)
        self.start_ms = start_ms
        self.family: str | None = None
        self.samples = 0
        self.series = 0

    def family_start(self, family: str, mtype: str) -> None:
        for f in self.files:
            f.write(f"# TYPE {family} {mtype}\n".encode())

    def series_out(self, name: str, labels: dict[str, str], offset_ms: int, values: np.ndarray,
                   keep: np.ndarray | None = None) -> None:  # fmt: skip
        """Write one series: ``values[i]`` at minute ``i`` plus ``offset_ms``, where ``keep``."""
        body = ",".join(f'{k}="{labels[k]}"' for k in sorted(labels))
        prefix = np.frombuffer(f"{name}{{{body}}} ".encode(), dtype=np.uint8)
        ts_ms = self.start_ms + self.minutes * 60_000 + offset_ms
        vals = np.rint(values).astype(np.int64)
        if keep is not None:
            ts_ms, vals = ts_ms[keep], vals[keep]
        width = 1 if vals.max(initial=0) < 10 else VALUE_WIDTH
        n = len(vals)
        p = len(prefix)
        line = np.empty((n, p + width + 16), dtype=np.uint8)
        line[:, :p] = prefix
        line[:, p : p + width] = _digits(vals, width)
        line[:, p + width] = ord(" ")
        line[:, p + width + 1 : p + width + 11] = _digits(ts_ms // 1000, 10)
        line[:, p + width + 11] = ord(".")
        line[:, p + width + 12 : p + width + 15] = _digits(ts_ms % 1000, 3)
        line[:, -1] = ord("\n")
        window = ts_ms // 1000 // BLOCK_S - self.first
        cuts = np.searchsorted(window, np.arange(len(self.files) + 1))
        for w, f in enumerate(self.files):
            if cuts[w + 1] > cuts[w]:
                f.write(line[cuts[w] : cuts[w + 1]].tobytes())
        self.samples += n
        self.series += 1

    def close(self) -> list[Path]:
        paths = []
        for f in self.files:
            f.write(b"# EOF\n")
            f.close()
            paths.append(Path(f.name))
        return paths


def _offsets(count: int) -> np.ndarray:
    """A distinct scrape offset per series: 1.000 .. 57.999 s into the minute."""
    return 1000 + (np.arange(1, count + 1, dtype=np.int64) * 7919) % 57_000


def _lognormal_pvals(median: float, sigma: float) -> np.ndarray:
    cdf = [0.5 * (1 + math.erf((math.log(float(le)) - math.log(median)) / sigma / math.sqrt(2)))
           for le in BUCKETS[:-1]]  # fmt: skip
    p = np.diff(np.array([0.0, *cdf, 1.0]))
    return p / p.sum()


def _counter(increments: np.ndarray, base: float | np.ndarray, reset_at: int | None) -> np.ndarray:
    values = np.cumsum(increments, axis=0) + base
    if reset_at is not None:
        values[reset_at:] = np.cumsum(increments[reset_at:], axis=0)
    return values


def generate(sc: Scenario, folder: Path) -> tuple[list[Path], int, int]:
    """Write the scenario's OpenMetrics files; return them, the series and the sample count."""
    rng = np.random.default_rng(sc.seed)
    w = Writer(folder, sc)
    n = sc.gen_minutes
    offsets = iter(_offsets(sc.series).tolist())
    day_phase = 2 * np.pi * (w.minutes % 1440) / 1440

    w.family_start("probe_success", "gauge")
    for i, svc in enumerate(sc.names("p")):
        outages = probe_outages(sc, i)
        for probe in PROBES:
            up = (rng.random(n) >= 2e-4).astype(np.int64)
            for s in outages:
                up[s] = 0
            w.series_out("probe_success", {"service": svc, "probe": probe}, next(offsets), up)

    ratio_form = sc.names("h") + sc.names("r")
    per_service = []
    for i, svc in enumerate(ratio_form):
        keep = np.ones(n, dtype=bool)
        for s in scrape_gaps(sc, i):
            keep[s] = False
        rate = rng.uniform(20, 400) * (1 + 0.6 * np.sin(day_phase + rng.uniform(0, 2 * np.pi)))
        total_inc = rng.poisson(rate)
        p_err = np.full(n, 0.001)
        for s, p in error_spells(sc, i):
            p_err[s] = p
        err_inc = rng.binomial(total_inc, p_err)
        base = float(rng.integers(10**5, 10**7))
        reset = restart_at(sc, i) if svc.startswith("h") else None
        per_service.append((svc, keep, total_inc, err_inc, base, reset, next(offsets)))

    # Families one after another, as OpenMetrics wants; each service keeps its offset.
    w.family_start("app_requests", "counter")
    for svc, keep, total_inc, _e, base, reset, off in per_service:
        w.series_out("app_requests_total", {"service": svc, "instance": "i0"}, off,
                     _counter(total_inc, base, reset), keep)  # fmt: skip
    w.family_start("app_request_errors", "counter")
    for svc, keep, _t, err_inc, base, reset, off in per_service:
        w.series_out("app_request_errors_total", {"service": svc, "instance": "i0"}, off,
                     _counter(err_inc, math.floor(base * 0.001), reset), keep)  # fmt: skip
    w.family_start("app_request_duration_seconds_bucket", "gauge")
    for k, (svc, keep, total_inc, _e, base, reset, off) in enumerate(per_service):
        if not svc.startswith("h"):
            continue
        pvals = _lognormal_pvals(0.04 + 0.02 * (k % 5), 0.8)
        per_bucket = rng.multinomial(total_inc, pvals)
        cumulative = _counter(np.cumsum(per_bucket, axis=1), np.floor(base * np.cumsum(pvals)), reset)
        for j, le in enumerate(BUCKETS):
            w.series_out("app_request_duration_seconds_bucket", {"service": svc, "instance": "i0", "le": le},
                         off, cumulative[:, j], keep)  # fmt: skip
    return w.close(), w.series, w.samples


def ensure_tsdb(sc: Scenario, regenerate: bool = False, log=print) -> Path:
    """The cached TSDB of a scenario, generated and backfilled when missing."""
    folder = CACHE / sc.key
    ready = folder / "READY.json"
    if ready.is_file() and not regenerate:
        meta = json.loads(ready.read_text())
        log(f"{sc.name}: cached TSDB {folder.relative_to(BENCH.parent)} ({meta['samples']:,} samples)")
        return folder / "tsdb"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    t = time.perf_counter()
    paths, series, samples = generate(sc, folder)
    size = sum(p.stat().st_size for p in paths)
    gen_s = time.perf_counter() - t
    log(f"{sc.name}: generated {series:,} series, {samples:,} samples ({size / 1e9:.2f} GB text) in {gen_s:.0f} s")
    t = time.perf_counter()
    for p in paths:
        backfill(p, folder / "tsdb")
        p.unlink()
    fill_s = time.perf_counter() - t
    log(f"{sc.name}: backfilled in {fill_s:.0f} s")
    meta = {"series": series, "samples": samples, "generate_s": gen_s, "backfill_s": fill_s}
    ready.write_text(json.dumps(meta, indent=1))
    return folder / "tsdb"


if __name__ == "__main__":  # generate (or check) the caches: python bench/datagen.py s10 s200 ...
    from scenarios import SCENARIOS

    for name in sys.argv[1:] or list(SCENARIOS):
        ensure_tsdb(SCENARIOS[name])

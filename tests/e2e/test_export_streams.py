"""``slactl export`` of many months writes them one at a time: memory stays flat, the data is the months'.

A year of minutes of 120 services on the built-in sample source (about 63
million rows) used to be one DataFrame, encoded whole: 9 GB of memory for
twelve months.  Here the store is filled in-process once (January from the
sample source by the ordinary ingest, copied to the other months through the
store), then ``slactl export minutes --month 2025-01 --to
2025-12 --format parquet`` runs as its own process, whose peak resident size
(``ru_maxrss``, the kernel's VmHWM at exit) must stay under 1 GB, and the file
must hold, row for row, the twelve single-month exports one after the other.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from kits.peak import wait_with_peak

pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("pandas")

NOW = "2026-01-02T00:00:00Z"
SERVICES = 120
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]
PEAK_LIMIT = 1 << 30  # bytes


def _config(folder: Path) -> Path:
    services = {}
    for i in range(SERVICES):
        if i % 2:
            services[f"svc{i:03d}"] = {"source": "gen", "availability": {"probe": f'probe_success{{job="svc{i:03d}"}}'}}
        else:
            services[f"svc{i:03d}"] = {"source": "gen", "availability": {
                "errors": f'http_requests_total{{job="svc{i:03d}",code=~"5.."}}',
                "total": f'http_requests_total{{job="svc{i:03d}"}}'}}  # fmt: skip
    doc = {
        "sources": {"gen": {"type": "sample", "seed": 11}},
        "store": "sqlite:///slactl.db",
        "tiers": {"standard": {"uptime_target": 99.9}},
        "services": services,
    }
    path = folder / "slactl.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _minute(month: int) -> int:
    year, month = (2025, month) if month <= 12 else (2026, month - 12)
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp()) // 60


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> Path:
    """A store holding 2025 for 120 services, built quickly.

    January is pulled from the sample source by the ordinary ingest; every
    other month gets January's minutes saved again through the store's own
    ``save_many`` (as ingest saves), so the export reads a full year without
    generating eleven more months.
    """
    from slactl.app.ingest import fingerprint, ingest
    from slactl.config import load
    from slactl.store.sql import Store
    from slactl.store.write import Saving

    folder = tmp_path_factory.mktemp("year")
    cfg = load(_config(folder))
    store = Store(cfg.store_url)
    try:
        jan = _minute(1)
        ingest(cfg, store, jan, _minute(2), datetime.fromisoformat(NOW))
        for name, svc in cfg.services.items():
            groups = store.load(name, jan, _minute(2))
            items = []
            for m in range(2, 13):
                a, b = _minute(m), _minute(m + 1)
                moved = {g: replace(ms.window(jan, jan + b - a), start=a) for g, ms in groups.items()}
                items.append(Saving(name, fingerprint(cfg, name), svc.availability.kind, a, b, moved))
            store.save_many(items)
    finally:
        store.close()
    return folder


def _start(folder: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SLACTL_NOW": NOW}
    cmd = [sys.executable, "-m", "slactl", "--config", str(folder / "slactl.yaml"), "export", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], int]:
    """Wait for ``proc``; its result and its peak resident size in bytes.

    Its peak is its own (see ``kits.peak``), not the pytest worker's it was forked from.
    Its output is small (one line, or one error line), so the pipes cannot fill.
    """
    status, peak, killed = wait_with_peak(proc.pid, limit=timeout)
    if killed:
        raise AssertionError(f"slactl export did not finish in {timeout:g} s")
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.stdout is not None and proc.stderr is not None
    done = subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.read(), proc.stderr.read())
    return done, peak


def _rows(paths: list[Path]) -> Iterator[pa.RecordBatch]:
    """The files' rows in order, in batches, dictionary columns decoded (each row group has its own dictionary)."""
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1 << 20):
            yield pa.RecordBatch.from_arrays(
                [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns],
                names=batch.schema.names,
            )


def _same_rows(a: Iterator[pa.RecordBatch], b: Iterator[pa.RecordBatch]) -> int:
    """Compare two streams of rows whatever their batch sizes; the number of rows, or an AssertionError."""
    x, y = next(a, None), next(b, None)
    i = j = total = 0
    while x is not None and y is not None:
        n = min(len(x) - i, len(y) - j)
        left, right = x.slice(i, n), y.slice(j, n)
        assert left.schema.names == right.schema.names and left.equals(right), f"rows {total}..{total + n} differ"
        i, j, total = i + n, j + n, total + n
        if i == len(x):
            x, i = next(a, None), 0
        if j == len(y):
            y, j = next(b, None), 0
    assert x is None and y is None, f"one file has more rows than the other after {total}"
    return total


def test_a_year_of_120_services_streams_in_flat_memory_and_equals_its_months(year, tmp_path):
    from slactl.app.export import run_export
    from slactl.config import load
    from slactl.store.sql import Store

    big_out = tmp_path / "year"
    proc = _start(year, "minutes", "--month", MONTHS[0], "--to", MONTHS[-1], "--format", "parquet",
                  "--out", str(big_out))  # fmt: skip
    # Meanwhile (the machine's other core), the twelve months one by one, as `export --month M` writes them.
    cfg = load(year / "slactl.yaml")
    store = Store(cfg.store_url)
    try:
        singles = [
            run_export(cfg, store, "minutes", m, None, "parquet", tmp_path / "months", datetime.fromisoformat(NOW)).path
            for m in MONTHS
        ]
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        store.close()
    done, peak = _finish(proc)
    assert done.returncode == 0, done.stderr
    assert peak < PEAK_LIMIT, f"slactl export peaked at {peak / 2**20:.0f} MiB"
    big = Path(done.stdout.strip().splitlines()[-1])
    assert big.name == "minutes-2025-01--2025-12.parquet"

    rows = _same_rows(_rows([big]), _rows(singles))
    assert rows == SERVICES * 365 * 1440
    assert pq.ParquetFile(big).metadata.num_row_groups == -(-rows // (1024 * 1024))

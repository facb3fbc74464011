"""``slactl alerts backtest`` on a backfilled month with known incidents, checked independently.

The month (2026-01, UTC) has constant traffic of 100 requests a minute, scraped
at :30 of every minute, and three events a week or more apart:

* incident A: 20 minutes of 100% errors on Jan 5 at 10:00;
* incident B: 3 minutes of 100% errors on Jan 12 at 14:00;
* a burst of 4% errors for two hours on Jan 20 at 08:00: no minute is down
  (96% good >= the 95% slice threshold), so it is no incident, yet it burns
  budget fast enough to page: the noise a team would want to tune away.

The test computes each alert's condition itself from the counters' raw
increments (the samples a window holds, as Prometheus 2.x selects them), then
``for:``, firing intervals and matching as the README defines them, and
compares with what slactl's backtest got from Prometheus' ``query_range``.
The data keep every ratio well away from its threshold except where extrapolation
cannot matter (equal sample times for both counters), so both must agree exactly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from kits.prometheus import OpenMetrics

from slactl.cli.main import main
from slactl.model import minute_to_iso
from slactl.rules.burnrate import BURN_ALERTS, seconds

DATA_START = int(datetime(2025, 12, 27, tzinfo=UTC).timestamp() // 60)
MONTH_START = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() // 60)
MONTH_END = int(datetime(2026, 2, 1, tzinfo=UTC).timestamp() // 60)
DATA_END = MONTH_END + 10
A = int(datetime(2026, 1, 5, 10, 0, tzinfo=UTC).timestamp() // 60)
B = int(datetime(2026, 1, 12, 14, 0, tzinfo=UTC).timestamp() // 60)
F = int(datetime(2026, 1, 20, 8, 0, tzinfo=UTC).timestamp() // 60)
BUDGET = Decimal("0.001")  # objective 99.9


def increments() -> tuple[np.ndarray, np.ndarray]:
    """Errors and requests added in each minute from DATA_START (observed at :30)."""
    n = DATA_END - DATA_START
    total = np.full(n, 100.0)
    errors = np.zeros(n)
    errors[A - DATA_START : A - DATA_START + 20] = 100
    errors[B - DATA_START : B - DATA_START + 3] = 100
    errors[F - DATA_START : F - DATA_START + 120] = 4
    return errors, total


@pytest.fixture(scope="module")
def prom(make_prometheus) -> str:
    errors, total = increments()
    ce, ct = np.cumsum(errors), np.cumsum(total)
    times = [(DATA_START + i) * 60 + 30 for i in range(len(ce))]
    om = OpenMetrics()
    om.counter("http_requests_total", {"service": "api"}, list(zip(times, ct.tolist(), strict=True)))
    om.counter("http_errors_total", {"service": "api"}, list(zip(times, ce.tolist(), strict=True)))
    return make_prometheus(om)


def expected() -> dict[str, dict]:
    """The backtest, computed from the increments without PromQL."""
    errors, total = increments()
    ce, ct = np.cumsum(errors), np.cumsum(total)
    m = np.arange(len(ce))

    def ratio(window_minutes: int) -> np.ndarray:
        # Evaluated at minute end (m·60 + 59.999 s), a window of W minutes holds the
        # samples of minutes m−W+1 .. m, so its increase is that of minutes m−W+2 .. m.
        first = m - window_minutes + 1
        ok = first >= 0
        out = np.full(len(m), np.nan)
        out[ok] = (ce[m[ok]] - ce[first[ok]]) / (ct[m[ok]] - ct[first[ok]])
        return out

    incidents = [(A, A + 20), (B, B + 3)]
    result: dict[str, dict] = {}
    for alert in BURN_ALERTS:
        thr = float(alert.factor * BUDGET)
        cond = (ratio(seconds(alert.long) // 60) > thr) & (ratio(seconds(alert.short) // 60) > thr)
        hold = seconds(alert.hold) // 60
        steps = [DATA_START + int(i) for i in np.flatnonzero(cond) if DATA_START + i < MONTH_END]
        firings = []
        i = 0
        while i < len(steps):
            j = i
            while j + 1 < len(steps) and steps[j + 1] == steps[j] + 1:
                j += 1
            start, stop = steps[i], steps[j]
            if stop - start >= hold:
                resolved = stop + 2 if stop + 1 < MONTH_END else None
                firings.append((start + hold + 1, resolved, seconds(alert.short) // 60, alert))
            i = j + 1
        block = result.setdefault(alert.severity, {"firings": []})
        block["firings"] += firings
    for block in result.values():
        block["firings"].sort(key=lambda f: f[0])
        detections, used = [], set()
        for s, e in incidents:
            best = None
            for k, (fs, fe, grace, _) in enumerate(block["firings"]):
                at = max(fs, s)
                if at < e + grace and (fe is None or fe > at):
                    used.add(k)
                    best = at if best is None else min(best, at)
            detections.append((s, e, best))
        block["detections"] = detections
        block["unmatched"] = len(block["firings"]) - len(used)
    return result


def test_backtest_matches_an_independent_computation(prom, tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "slactl.yaml"
    cfg.write_text(
        f"""
sources:
  prom: {{type: prometheus, url: "{prom}"}}
tiers:
  standard: {{uptime_target: 99.9}}
services:
  api:
    source: prom
    availability:
      errors: http_errors_total{{service="api"}}
      total: http_requests_total{{service="api"}}
alerts: {{burn_on: requests}}
"""
    )
    monkeypatch.setenv("SLACTL_NOW", "2026-02-03T00:00:00Z")
    out = tmp_path / "backtest.json"
    assert main(["--config", str(cfg), "alerts", "backtest", "--month", "2026-01", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    got = json.loads(out.read_text())
    assert got["complete"] is True and got["period"]["start"] == "2026-01-01T00:00:00Z"
    api = got["services"]["api"]
    want = expected()
    for severity, block in want.items():
        mine = api["severities"][severity]
        assert [(f["long_window"], f["short_window"], f["fired_at"], f["resolved_at"]) for f in mine["firings"]] == [
            (a.long, a.short, minute_to_iso(s), None if e is None else minute_to_iso(e)) for s, e, _, a in block["firings"]
        ], severity
        assert [(d["start"], d["detected_at"]) for d in mine["detections"]] == [
            (minute_to_iso(s), None if at is None else minute_to_iso(at)) for s, _, at in block["detections"]
        ], severity
        assert mine["unmatched_firings"] == block["unmatched"]
        assert mine["incidents"] == 2
    # The figures a reader would look for, spelled out:
    page, ticket = api["severities"]["page"], api["severities"]["ticket"]
    assert [d["delay_minutes"] for d in page["detections"]] == [3, 3]  # 1h/5m: true at once, for: 2m
    assert [d["delay_minutes"] for d in ticket["detections"]] == [65, None]  # 1d/2h: 5 bad minutes, for: 1h
    assert (page["caught"], page["missed"], page["unmatched_firings"]) == (2, 0, 2)
    assert (ticket["caught"], ticket["missed"], ticket["unmatched_firings"]) == (1, 1, 2)
    assert "api      page" in printed and "[no incident]" in printed


"""The script a user would write instead of slactl: monthly uptimes with prometheus-api-client and pandas.

Run as ``python bench/user_script.py SPEC.json``; prints ``{month: {service: uptime}}``.
It asks for every series of a metric name in one range query a day (one
point a minute), builds pandas frames with ``MetricRangeDataFrame`` and applies
the usual rules: a probe minute is the mean over probes; a ratio minute is
``1 - errors/total`` from counter increases (a drop means a restart from zero);
a minute is down when that is below the slice threshold, minutes without data
are left out, and uptime = up / (up + down). Nothing here comes from slactl.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import pandas as pd
from prometheus_api_client import MetricRangeDataFrame, PrometheusConnect

MINUTE = timedelta(minutes=1)
CHUNK = timedelta(days=1)


def frame(prom: PrometheusConnect, query: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Points of ``query`` at each minute end in [start, end], indexed by the minute they describe."""
    result = prom.custom_query_range(query, start_time=start, end_time=end, step="60")
    if not result:
        return pd.DataFrame(columns=["service", "minute", "value"])
    df = MetricRangeDataFrame(result).reset_index()
    df["minute"] = df["timestamp"] - MINUTE
    return df


def increases(df: pd.DataFrame, first_minute: datetime) -> pd.Series:
    """Per service and minute: the counters' increase, summed over the service's series."""
    df = df.sort_values(["service", "instance", "minute"])
    prev = df.groupby(["service", "instance"])["value"].shift()
    inc = df["value"] - prev
    df["inc"] = inc.where(inc >= 0, df["value"])  # a drop: the counter restarted from zero
    df = df[df["minute"] >= pd.Timestamp(first_minute).tz_convert(None)]  # frames hold naive UTC
    return df.groupby(["service", "minute"])["inc"].sum()


def down_minutes(prom: PrometheusConnect, a: datetime, b: datetime, threshold: float) -> pd.Series:
    """A boolean per (service, minute) with data in [a, b): True when the minute is down."""
    last = b - MINUTE
    probes = frame(prom, "avg_over_time(probe_success[1m])", a + MINUTE, last + MINUTE)
    parts = []
    if len(probes):
        parts.append(probes.groupby(["service", "minute"])["value"].mean() < threshold)
    # One point earlier than the chunk: the last value before its first minute.
    total = frame(prom, "last_over_time(app_requests_total[1m])", a, last + MINUTE)
    if len(total):
        errors = frame(prom, "last_over_time(app_request_errors_total[1m])", a, last + MINUTE)
        req = increases(total, a)
        err = increases(errors, a).reindex(req.index, fill_value=0.0) if len(errors) else 0.0 * req
        good = (1 - err / req).where(req > 0, 1.0)
        parts.append(good < threshold)
    return pd.concat(parts) if parts else pd.Series(dtype=bool)


def main() -> None:
    spec = json.load(open(sys.argv[1]))
    prom = PrometheusConnect(url=spec["url"], disable_ssl=True)
    start = datetime.fromtimestamp(spec["start"], UTC)
    end = datetime.fromtimestamp(spec["end"], UTC)
    counts = []
    day = start
    while day < end:
        nxt = min(day + CHUNK, end)
        down = down_minutes(prom, day, nxt, spec["slice_threshold"]).rename("down").reset_index()
        down["month"] = down["minute"].dt.strftime("%Y-%m")
        counts.append(down.groupby(["month", "service"])["down"].agg(["sum", "count"]))
        day = nxt
    totals = pd.concat(counts).groupby(level=[0, 1]).sum()
    out: dict[str, dict[str, float]] = {}
    for (month, service), row in totals.iterrows():
        down, minutes = int(row["sum"]), int(row["count"])
        out.setdefault(month, {})[service] = 100 * (minutes - down) / minutes
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()

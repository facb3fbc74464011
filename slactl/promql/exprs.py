"""The SLI expressions of one service: error ratio, minute state, down-minute share, latency.

**Minute state** (``service:slactl_minute_down:state``), evaluated every minute by
a rule group with ``interval: 1m``: 1 when the minute ending at the evaluation
time ``T`` is down, 0 when it is up, no sample when it has no data (or the
``no_data`` policy's 0/1).  "The minute" is ``(T − 60 s, T]``, so consecutive
evaluations cover time without gap or overlap, each minute exactly once:

* ratio form: each counter's part of the minute is its last sample in the minute
  minus its last sample at or before ``T − 60 s`` (``X offset 1m``) — the
  increase counted in the minute in which it is first observed.  A drop means the
  counter restarted from zero, and a series with no earlier sample starts from
  zero; both then count their whole value.  Series are summed, an absent
  ``errors`` sum counts as 0, and the minute is down when ``1 − errors/total`` is
  below the ``slice_threshold``.  A minute with requests series but no requests
  is up (``0/0`` compares false); one without a ``total`` sample has no data.
* probe form: the mean of the probe samples in the minute (averaged over series)
  below the ``slice_threshold``.

Ranges are written one millisecond short (``59s999ms``): sample timestamps are
whole milliseconds, so the closed range ``[T − 59.999 s, T]`` of Prometheus 2 and
the left-open ``(T − 60 s, T]`` of Prometheus 3 hold exactly the same samples.

**Down-minute share** over a burn window ``w``: ``avg_over_time`` of the minute
states over ``w`` — the share of down minutes among the minutes with a state,
the SLA's own unit.  Minutes without a state (``no_data: ignore``) are left out;
a window with none gives no sample, so nothing fires without data.

**Error ratio** (``burn_on: requests`` and ``HighErrorRate``)::

    (sum(rate(ERRORS[w])) or vector(0)) / (sum(rate(TOTAL[w])) > 0)

an ``errors`` series that does not exist yet counts as zero errors, and a window
without requests gives no sample (not ``NaN``): nothing is recorded, nothing fires.
The probe form is ``1 − avg(avg_over_time(PROBE[w]))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from slactl.config import Config, PrometheusSource, SampleSource, Service
from slactl.promql.numbers import dec, exact, label_value, one_line

STATE_RECORD = "service:slactl_minute_down:state"
DOWN_SHARE_PREFIX = "service:slactl_down_minutes:ratio_rate"
ERROR_RATIO_PREFIX = "service:slactl_errors:ratio_rate"
MINUTE = "59s999ms"  # one minute less one millisecond: see the module docstring

_STEPS = (("d", 86400_000), ("h", 3600_000), ("m", 60_000), ("s", 1000), ("ms", 1))
_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3600_000, "d": 86400_000}


def promql_services(cfg: Config) -> tuple[list[str], dict[str, str]]:
    """Services whose selectors are PromQL (Prometheus and sample sources), and why the others are not.

    The built-in sample source generates the data a Prometheus would return for the
    same selectors, so its rules and dashboards are what a user gets once the source
    points at a real server.
    """
    names: list[str] = []
    skipped: dict[str, str] = {}
    for name, svc in cfg.services.items():
        src = cfg.sources[svc.source]
        if isinstance(src, PrometheusSource | SampleSource):
            names.append(name)
        else:
            skipped[name] = f"source '{svc.source}' is {src.type}: alert rules are generated for Prometheus sources only"
    return names, skipped


def short_range(window: str) -> str:
    """``"5m"`` → ``"4m59s999ms"``: the window less one millisecond (module docstring)."""
    left = int(window[:-1]) * _UNITS_MS[window[-1]] - 1
    parts = []
    for unit, size in _STEPS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def service_selector(service: str) -> str:
    return f'{{service="{label_value(service)}"}}'


def _sel(svc: Service, form: str) -> str:
    value = getattr(svc.availability, form)
    assert isinstance(value, str), f"{form} is not a PromQL selector"
    return value.strip()


def _agg(by: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(by)}) " if by else "sum"


# --------------------------------------------------------------------------- requests


def error_ratio(svc: Service, window: str, fn: str = "rate", by: tuple[str, ...] = ()) -> str:
    """Bad share over ``window`` with the no-traffic guard (module docstring), on several lines."""
    if svc.availability.kind == "probe":
        avg = f"avg by ({', '.join(by)}) " if by else "avg"
        return f"1 - {avg}(avg_over_time({_sel(svc, 'probe')}[{window}]))"
    errors = f"{_agg(by)}({fn}({_sel(svc, 'errors')}[{window}]))"
    total = f"{_agg(by)}({fn}({_sel(svc, 'total')}[{window}]))"
    zero = "vector(0)" if not by else f"0 * {total}"
    return f"({errors} or {zero})\n/\n({total} > 0)"


def one_line_condition(svc: Service, service: str, window: str, burn_on: str) -> str:
    """What a burn window's record holds, written inline (requests), or read from the minute states."""
    if burn_on == "minutes":
        return down_share(service, window)
    return one_line(error_ratio(svc, window))


def error_ratio_expr(svc: Service, window: str) -> str:
    """The recording rules' and ``HighErrorRate``'s error ratio (kept under its old name)."""
    return error_ratio(svc, window)


# --------------------------------------------------------------------------- minutes


def minute_increase(selector: str) -> str:
    """Per series, the counter's increase in the minute ending now (module docstring)."""
    last = f"last_over_time({selector}[{MINUTE}])"
    return f"({last} - {selector} offset 1m >= 0) or {last}"


def minute_state(svc: Service, maintenance: Sequence[tuple[int, int, str]] = ()) -> str:
    """1 when the minute ending now is down, 0 when up; no sample without data unless ``no_data`` fills it.

    ``maintenance`` holds ``(start, end, reason)`` in epoch seconds: a minute ending in
    ``(start, end]`` gets no state at all, as the report excludes it, so a window's
    down minutes never burn the budget after the window (and its silence) ended.
    """
    thr = exact(dec(svc.slice_threshold))
    if svc.availability.kind == "probe":
        expr = f"avg(avg_over_time({_sel(svc, 'probe')}[{MINUTE}])) < bool {thr}"
    else:
        errors = f"sum({minute_increase(_sel(svc, 'errors'))})"
        total = f"sum({minute_increase(_sel(svc, 'total'))})"
        expr = f"1 - (\n  ({errors} or vector(0))\n  /\n  {total}\n) < bool {thr}"
    fill = {"up": "0", "down": "1"}.get(svc.no_data)
    if fill is not None:
        expr = f"(\n{expr}\n) or vector({fill})"
    if maintenance:
        clauses = [
            f"(vector(time()) > {a} and vector(time()) <= {b})  # {' '.join(why.split()) or 'maintenance'}"
            for a, b, why in maintenance
        ]
        expr = f"(\n{expr}\n)\nunless on() (\n  " + "\n  or\n  ".join(clauses) + "\n)"
    return expr


def down_share(service: str, window: str) -> str:
    """The share of down minutes over ``window``, from the recorded minute states."""
    return f"avg_over_time({STATE_RECORD}{service_selector(service)}[{short_range(window)}])"


def down_share_record(window: str) -> str:
    return f"{DOWN_SHARE_PREFIX}{window}"


def error_ratio_record(window: str) -> str:
    return f"{ERROR_RATIO_PREFIX}{window}"


def burn_record(burn_on: str, window: str) -> str:
    """The recorded series an ``ErrorBudgetBurn`` window reads."""
    return down_share_record(window) if burn_on == "minutes" else error_ratio_record(window)


# --------------------------------------------------------------------------- latency


def quantile(histogram: str, q: Decimal | float, window: str, fn: str = "rate", by: tuple[str, ...] = ("le",)) -> str:
    """``histogram_quantile`` of the buckets' ``fn`` over ``window``, summed over series."""
    return f"histogram_quantile({exact(dec(q))}, sum by ({', '.join(by)}) ({fn}({histogram.strip()}[{window}])))"


def latency_missed(svc: Service, q: Decimal | float, target: float) -> str:
    """``LatencyTargetMissed``: the percentile over the last hour above its target."""
    assert svc.latency is not None and svc.latency.histogram is not None
    return f"{quantile(svc.latency.histogram, q, '1h')} > {exact(dec(target))}"

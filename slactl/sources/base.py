"""What every metrics source provides, and the registry that maps ``type:`` to one.

A source turns a service's definition into per-minute SLI inputs
(:class:`slactl.model.MinuteSeries`, one per group of series) for a range of
epoch minutes.  Sources are built by factories that take the source's config and
an :class:`Injected` bundle, so tests hand in real servers or fake transports and
clocks without patching.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from slactl.config import Config, Service
from slactl.errors import ConfigError
from slactl.model import GroupKey, MinuteSeries

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class FetchRequest:
    """Pull the minutes ``[start, end)`` of one service."""

    service: str
    spec: Service
    start: int
    end: int


# One answer per request, in the order of the requests: group → its minutes.  It may
# be a lazy iterator, so the caller can save each answer before the next is built.
FetchResult = Iterable[dict[GroupKey, MinuteSeries]]


class Source(Protocol):
    """A place per-minute SLI data comes from."""

    def fetch(self, requests: list[FetchRequest]) -> FetchResult:
        """Answer every request, in order (concurrently where the source can), or raise SourceError."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class RangeQuerier(Protocol):
    """A source that evaluates PromQL expressions minute by minute (the Prometheus source).

    ``alerts backtest`` with ``burn_on: requests`` asks it for each alert
    condition over a month, as the rules would have evaluated it.
    """

    def query_range(
        self, queries: Sequence[tuple[str, str]], start: int, end: int
    ) -> list[list[tuple[dict[str, str], np.ndarray]]]:
        """Per ``(expression, context)``: each series' labels and its value at the end of every minute of ``[start, end)``.

        NaN where the series had no value; ``context`` names the query in
        errors.  Raises SourceError when the server cannot answer.
        """
        ...


@dataclass
class Injected:
    """Things a source uses but does not choose: transports, clients, environment."""

    http_transport: Any = None  # an httpx.AsyncBaseTransport
    aws_client_factory: Callable[..., Any] | None = None  # (service_name, **kw) -> boto3 client
    environ: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The whole pull's budget in seconds (``--timeout``), and the time.monotonic()
    # it ends at, set by the pipeline when the pull starts; None: no deadline.
    timeout_seconds: float | None = None
    deadline: float | None = None


SourceFactory = Callable[[str, Any, Config, Injected], Source]
_REGISTRY: dict[str, SourceFactory] = {}
# Built-in types and the module that registers each: imported on first use only,
# so a Prometheus-only run never loads boto3.
BUILTIN: dict[str, str] = {
    "prometheus": "slactl.sources.prometheus.source",
    "cloudwatch": "slactl.sources.cloudwatch.source",
    "sample": "slactl.sources.sample",
}


def register(type_name: str) -> Callable[[SourceFactory], SourceFactory]:
    """Class decorator / function decorator adding a factory to the registry."""

    def deco(factory: SourceFactory) -> SourceFactory:
        _REGISTRY[type_name] = factory
        return factory

    return deco


def build(name: str, cfg: Config, injected: Injected | None = None) -> Source:
    """The source called ``name`` in the config."""
    src_cfg = cfg.sources[name]
    if src_cfg.type not in _REGISTRY and src_cfg.type in BUILTIN:
        importlib.import_module(BUILTIN[src_cfg.type])  # registers itself
    factory = _REGISTRY.get(src_cfg.type)
    if factory is None:
        raise ConfigError(f"source type {src_cfg.type!r} is not supported", path=cfg.source_file, key=f"sources.{name}.type")
    return factory(name, src_cfg, cfg, injected or Injected())


def provenance(source: Source, name: str, src_type: str, req: FetchRequest) -> dict[str, Any]:
    """Where the minutes of ``req`` came from: the source's own account when it gives one."""
    own = getattr(source, "provenance", None)
    if callable(own):
        return dict(own(req))
    return {"source": name, "type": src_type}


def group_key(labels: dict[str, str], group_by: list[str]) -> GroupKey:
    """The group a series belongs to: its values of the ``group_by`` labels."""
    return tuple((lbl, labels.get(lbl, "")) for lbl in sorted(group_by))

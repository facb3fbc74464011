"""The one PromQL room: every expression slactl evaluates or writes for Prometheus.

Rules, dashboards, the backtest and the HTTP adapters all take their PromQL and
their connection settings from here, so "the error ratio" or "a down minute"
means one thing wherever it appears.  The package is pure text and numbers: it
imports no HTTP or YAML library (the adapters build their clients from
:class:`~slactl.promql.connection.Connection`).

Layering: below ``rules`` and ``dashboards``, above the config model.
"""

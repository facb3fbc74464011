"""The Prometheus source: any server of the Prometheus HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics).

``source`` is the adapter the registry builds; ``plan`` fuses many services'
selectors into few queries; ``client`` speaks the HTTP API; ``counters`` turns
counters into exact per-minute increases; ``matrix`` decodes the answers;
``discovery`` finds candidate SLIs for ``slactl init``.
"""

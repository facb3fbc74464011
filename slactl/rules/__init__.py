"""rules layer: Prometheus rule files (burn-rate and threshold alerts) built from the config.

Everything here is pure text generation except :mod:`slactl.rules.promtool`, the
one adapter that runs Prometheus' ``promtool``.
"""

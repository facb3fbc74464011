"""Metrics sources: a Protocol (``base.Source``) and the built-in adapters.

Each built-in adapter registers itself when its module is imported, which
:func:`slactl.sources.base.build` does for the types a config uses only: a
Prometheus-only run never pays for importing the AWS SDK.
"""

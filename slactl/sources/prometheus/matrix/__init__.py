"""Decoding Prometheus ``query`` and ``query_range`` answers into numpy arrays."""

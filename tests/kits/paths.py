"""Where the checkout is, for tests that read its files: one place, so moving a test never breaks a path."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/kits/paths.py -> the checkout

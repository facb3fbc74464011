"""``python -m slactl``."""

from slactl.cli.main import run

run()

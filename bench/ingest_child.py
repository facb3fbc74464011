"""Ingest alone, as its own process: ``python bench/ingest_child.py CONFIG START END``.

slactl has no ``ingest`` command (the scheduler's ingest job and ``report`` both
call the pipeline's ``ingest``), so this child calls that same function over
``[START, END)`` (epoch seconds) on the config's store, with the clock pinned by
``SLACTL_NOW`` as the CLI does, with the CLI's process-wide settings
(:mod:`slactl.runtime`), and prints the minutes pulled.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime

from slactl import runtime
from slactl.app.ingest import ingest
from slactl.config import load
from slactl.store.sql import Store


def main() -> None:
    cfg = load(sys.argv[1])
    runtime.setup()
    start, end = int(sys.argv[2]) // 60, int(sys.argv[3]) // 60
    now = datetime.fromisoformat(os.environ["SLACTL_NOW"].replace("Z", "+00:00"))
    store = Store(cfg.store_url)
    try:
        pulled = ingest(cfg, store, start, end, now)
    finally:
        store.close()
    print(f"pulled {sum(pulled.values())} service-minutes of {len(pulled)} services")


if __name__ == "__main__":
    main()

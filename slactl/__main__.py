"""``python -m slactl``."""

import sys

from slactl.cli.main import main

sys.exit(main())

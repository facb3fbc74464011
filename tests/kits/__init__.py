"""Helpers shared by the test kinds (``from kits.prometheus import ...``); fixtures stay in ``conftest.py``."""

"""Shared test set-up: test helper modules (``malformed_corpus``, ``privacy``) import by name."""

import sys
from pathlib import Path

# pytest runs with --import-mode=importlib, which does not put tests/ on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))

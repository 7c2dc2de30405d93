"""Where the tests find the repository and their own data, wherever a test module sits."""

from pathlib import Path

#: The tests folder.
TESTS = Path(__file__).resolve().parents[1]
#: The repository root (the checkout).
REPO = TESTS.parent
#: Golden files (expected outputs compared byte for byte; tests/golden/README.md).
GOLDEN = TESTS / "golden"

"""Size limits of the code in cldstats/: a module over 800 lines or a function over 120 is split.

The aim is lower (about 600 and 80, CONTRIBUTING.md); these are the limits past which a module or
function has more than one job, whatever it does.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers.paths import REPO

MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 120


def function_lengths(source: str) -> dict[str, int]:
    """Lines of every function and method (``def`` line to the end of the body, decorators not
    counted), by qualified name."""
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                lengths[prefix + child.name] = child.end_lineno - child.lineno + 1
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(source), "")
    return lengths


def _modules() -> list[Path]:
    return sorted((REPO / "cldstats").rglob("*.py"))


def test_no_module_is_over_the_limit():
    over = {p.relative_to(REPO).as_posix(): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines: {over}"


def test_no_function_is_over_the_limit():
    over = {f"{p.relative_to(REPO).as_posix()}:{name}": n for p in _modules()
            for name, n in function_lengths(p.read_text(encoding="utf-8")).items() if n > MAX_FUNCTION_LINES}
    assert not over, f"functions over {MAX_FUNCTION_LINES} lines: {over}"


def test_function_lengths_count_methods_and_nested_functions():
    source = "def a():\n    def b():\n        return 1\n    return b\n\nclass C:\n    def m(self):\n        pass\n"
    assert function_lengths(source) == {"a": 4, "a.b": 2, "C.m": 2}

"""The import contract of the stage packages, read from the table in docs/architecture.md.

The table ("Packages and the import contract") is the one statement of which package may import
which: a wrong arrow in the code, or a package the table does not list, fails this test. The
checks, over every module of ``cldstats/`` (parsed, not imported):

* a package imports only itself and the packages its row allows;
* no import cycle between modules (module level, as Python runs them);
* no function-level import of a cldstats module (third-party lazy imports are allowed);
* no import of another module's private name (``from cldstats.x import _y``);
* inside a package, a sibling is imported by its module path, not through the package's
  ``__init__`` (which may not have finished running yet).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers.paths import REPO

PACKAGE_ROOT = REPO / "cldstats"
ARCHITECTURE = REPO / "docs" / "architecture.md"
#: Modules of the package root, which are not in a stage package: ``cldstats/__init__.py`` holds
#: only the version (part of the bottom layer); ``python -m cldstats`` and the command line may
#: import every stage.
TOP_LEVEL = {"cldstats": "core", "cldstats.__main__": "cli", "cldstats.cli": "cli"}


def contract_table(text: str) -> dict[str, set[str]]:
    """``package -> packages it may import`` from the markdown table after the heading
    ``## Packages and the import contract`` (columns: package, owns, may import)."""
    section = re.split(r"\n#+ ", text.split("## Packages and the import contract", 1)[1], maxsplit=1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    allowed = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        package = cells[0].strip("`")
        may = set(re.findall(r"`([a-z_]+)`", cells[-1]))
        allowed[package] = may | ({"*"} if "every package" in cells[-1] else set())
    return allowed


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> str:
    """The stage package a module belongs to (``cldstats.ingest.reader`` -> ``ingest``)."""
    return TOP_LEVEL.get(module) or module.split(".")[1]


def _imports(tree: ast.Module, module: str, is_package: bool):
    """(imported module, names, line, at module level) of every cldstats import in a module."""
    top_level = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            top_level.add(id(node))
        elif isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks and the like run at import
            top_level |= {id(n) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "cldstats":
                    yield alias.name, [], node.lineno, id(node) in top_level
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:  # relative import: resolve against the importing module
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            if target.split(".")[0] == "cldstats":
                yield target, [a.name for a in node.names], node.lineno, id(node) in top_level


def violations(sources: dict[str, tuple[str, bool]], allowed: dict[str, set[str]]) -> list[str]:
    """Every breach of the contract in ``sources`` (``module -> (source, is a package __init__)``)."""
    found: list[str] = []
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for module, (source, is_package) in sorted(sources.items()):
        stage = stage_of(module)
        if stage not in allowed:
            found.append(f"{module}: package {stage!r} is not in the contract table")
            continue
        for target, names, line, at_top in _imports(ast.parse(source), module, is_package):
            # `from cldstats.x import y` imports module cldstats.x.y when there is one.
            targets = [f"{target}.{n}" for n in names if f"{target}.{n}" in sources] or [target]
            where = f"{module}:{line}"
            for imported in targets:
                if imported not in sources:
                    found.append(f"{where}: imports {imported}, which is not a module of cldstats")
                    continue
                other = stage_of(imported)
                if other != stage and "*" not in allowed[stage] and other not in allowed[stage]:
                    found.append(f"{where}: {stage} may not import {other} ({imported})")
                if at_top:
                    graph[module].add(imported)
                if other == stage and imported == f"cldstats.{stage}" and module != imported and stage != "cli":
                    found.append(f"{where}: imports its own package's __init__; import the sibling module")
            if not at_top:
                found.append(f"{where}: function-level import of {', '.join(targets)}; import it at module level")
            private = [n for n in names
                       if n.startswith("_") and not n.endswith("__") and f"{target}.{n}" not in sources]
            if private and target != module:
                found.append(f"{where}: imports private name(s) {', '.join(private)} of {target}")
    found += [f"import cycle: {' -> '.join(cycle)}" for cycle in _cycles(graph)]
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules that import each other (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            # A package importing its own submodules from __init__ is how Python packages work.
            if len(group) > 1 and not _package_and_its_modules(group):
                groups.append(sorted(group) + [sorted(group)[0]])

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _package_and_its_modules(group: list[str]) -> bool:
    packages = [m for m in group if any(o.startswith(m + ".") for o in group)]
    return len(packages) == 1 and all(m == packages[0] or m.startswith(packages[0] + ".") for m in group)


def package_sources(root: Path = PACKAGE_ROOT) -> dict[str, tuple[str, bool]]:
    return {module_name(p, root): (p.read_text(encoding="utf-8"), p.name == "__init__.py")
            for p in sorted(root.rglob("*.py"))}


def test_the_code_keeps_the_import_contract():
    allowed = contract_table(ARCHITECTURE.read_text(encoding="utf-8"))
    assert {"core", "reference", "ingest", "quality", "measures", "disclosure", "publication", "pipeline",
            "tools", "cli"} <= set(allowed)
    found = violations(package_sources(), allowed)
    assert not found, "\n".join(found)


def test_every_stage_package_is_in_the_table_and_every_row_is_a_package():
    allowed = contract_table(ARCHITECTURE.read_text(encoding="utf-8"))
    packages = {p.name for p in PACKAGE_ROOT.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(allowed) - {"cli"}


TOY_CONTRACT = {"core": set(), "reference": {"core"}, "measures": {"core", "reference"},
                "publication": {"core", "reference", "measures"}, "cli": {"*"}}


def _toy(**modules: str) -> dict[str, tuple[str, bool]]:
    sources = {name.replace("__", "."): (source, False) for name, source in modules.items()}
    for package in {".".join(name.split(".")[:2]) for name in sources if name.count(".") > 1}:
        sources.setdefault(package, ("", True))
    sources.setdefault("cldstats", ("", True))
    return sources


@pytest.mark.parametrize(("modules", "expected"), [
    ({"cldstats__measures__engine": "from cldstats.publication import tables\n",
      "cldstats__publication__tables": ""}, "measures may not import publication"),
    ({"cldstats__measures__engine": "def f():\n    from cldstats.reference import lists\n",
      "cldstats__reference__lists": ""}, "function-level import of cldstats.reference"),
    ({"cldstats__measures__engine": "from cldstats.reference.lists import _hidden\n",
      "cldstats__reference__lists": ""}, "private name(s) _hidden"),
    ({"cldstats__measures__engine": "from cldstats.measures import areas\n",
      "cldstats__measures__areas": "from cldstats.measures import engine\n"}, "import cycle"),
    ({"cldstats__measures__engine": "from cldstats.measures import area_table\n"},
     "its own package's __init__"),
    ({"cldstats__extras__x": ""}, "'extras' is not in the contract table"),
])
def test_each_kind_of_breach_is_found(modules, expected):
    found = violations(_toy(**modules), TOY_CONTRACT)
    assert any(expected in line for line in found), found


def test_allowed_imports_are_not_breaches():
    sources = _toy(cldstats__publication__tables="from cldstats.measures import engine\nimport pandas\n"
                   "def f():\n    import matplotlib\n",
                   cldstats__measures__engine="from cldstats.reference.lists import councils\n",
                   cldstats__reference__lists="", cldstats__cli="from cldstats.publication import tables\n")
    assert violations(sources, TOY_CONTRACT) == []


def test_the_contract_table_is_read_as_written():
    table = ("## Packages and the import contract\n\n| package | owns | may import |\n|---|---|---|\n"
             "| `core` | errors | nothing |\n| `ingest` | files | `core`, `reference` |\n"
             "| `cli` | the command line | every package |\n\n## Next\n| `x` | y | `z` |\n")
    assert contract_table(table) == {"core": set(), "ingest": {"core", "reference"}, "cli": {"*"}}

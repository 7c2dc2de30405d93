"""docs/architecture.md lists every module of the package, and only those."""

import re

from tests.helpers.paths import REPO

PACKAGE = REPO / "cldstats"


def test_the_module_list_names_every_module_and_only_those():
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = re.split(r"\n#+ ", text.split("### Modules", 1)[1], maxsplit=1)[0]
    listed = set(re.findall(r"^\| `([a-z_/]+\.py)` \|", section, flags=re.M))
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
               if p.name != "__init__.py" and p.relative_to(PACKAGE).as_posix() != "__main__.py"}
    assert listed == modules, (f"not listed: {sorted(modules - listed)}; listed but gone: {sorted(listed - modules)}")

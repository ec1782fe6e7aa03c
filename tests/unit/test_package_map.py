"""docs/architecture.md's package map names every module of headwater/, and nothing that
is not there: the map is where a new engineer learns which layer a module is in."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "headwater"


def _mapped() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Package map\n", 1)[1].split("\n## ", 1)[0]
    modules: set[str] = set()
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[1].startswith("`"):
            continue
        package = cells[1].split("`")[1].removeprefix("headwater/")
        for name in re.findall(r"`([\w/]+\.py)`", cells[2]):
            modules.add(f"{package}{name}")
    return modules


def test_the_package_map_lists_every_module_and_only_those() -> None:
    on_disk = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    }
    mapped = {name for name in _mapped() if not name.endswith("__init__.py")}
    assert sorted(on_disk - mapped) == [], "modules the map does not list"
    assert sorted(mapped - on_disk) == [], "the map lists modules that do not exist"

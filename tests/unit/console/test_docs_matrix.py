"""docs/api.md shows the permission matrix the code enforces."""

from __future__ import annotations

from pathlib import Path

from headwater.core.access import PERMISSIONS, Permission, Role

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def documented_matrix() -> dict[str, list[str]]:
    text = DOC.read_text()
    section = text.split("### Permission matrix", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {
        row.split("|")[1].strip().strip("`"): [c.strip() for c in row.split("|")[2:-1]]
        for row in rows
    }


def test_docs_matrix_equals_the_code() -> None:
    expected = {p.value: ["yes" if p in PERMISSIONS[r] else "—" for r in Role] for p in Permission}
    assert documented_matrix() == expected

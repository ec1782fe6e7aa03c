"""Every JSON example in docs/api.md, docs/flows.md and docs/conditions.md is either sent
to the real private API or says why not, so the docs cannot promise a body the API
refuses.

A fenced ``json`` block is preceded by an HTML comment (invisible on the rendered page):

- ``<!-- example: POST /flows -->``: send it, expect 200 or 201;
- ``<!-- example: POST /flows as welcome-flow -->``: ... and let ``<welcome-flow id>``
  stand for the answer's ``id`` in other examples (they run once it is known);
- ``<!-- example: POST /segments -> 422 -->``: an example of what is refused;
- ``<!-- not run: reason -->``: not a private API body (the collector's answers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.console.conftest import Api

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[3] / "docs"
FILES = ("api.md", "flows.md", "conditions.md")
MARK = re.compile(r"<!-- (example|not run): (.+?) -->")
REQUEST = re.compile(
    r"(?P<method>GET|POST|PUT|PATCH|DELETE) (?P<path>/\S*)"
    r"(?: as (?P<name>[\w-]+))?(?: -> (?P<status>\d{3}))?"
)
PLACEHOLDER = re.compile(r"<([\w-]+) id>")


@dataclass(frozen=True)
class Example:
    where: str  # file:line, for the failure message
    method: str
    path: str
    body: str
    name: str | None
    status: int | None

    def needs(self) -> set[str]:
        return set(PLACEHOLDER.findall(self.path + self.body))


def _blocks(name: str) -> list[tuple[str, str | None, str]]:
    """(where, the comment before the block or None, the block) of every json block."""
    lines = (DOCS / name).read_text().splitlines()
    found = []
    for number, line in enumerate(lines):
        if line.strip() != "```json":
            continue
        end = next(i for i in range(number + 1, len(lines)) if lines[i].strip() == "```")
        before = next((lines[i] for i in range(number - 1, -1, -1) if lines[i].strip()), "")
        found.append((f"{name}:{number + 1}", before.strip(), "\n".join(lines[number + 1 : end])))
    return found


def examples() -> list[Example]:
    runnable = []
    for name in FILES:
        for where, before, body in _blocks(name):
            marked = MARK.fullmatch(before or "")
            assert marked, (
                f"{where}: mark the json block with <!-- example: ... --> or <!-- not run: ... -->"
            )
            if marked.group(1) == "not run":
                continue
            request = REQUEST.fullmatch(marked.group(2))
            assert request, f"{where}: cannot read {marked.group(2)!r} as METHOD /path"
            status = request.group("status")
            runnable.append(
                Example(
                    where,
                    request.group("method"),
                    request.group("path"),
                    body,
                    request.group("name"),
                    int(status) if status else None,
                )
            )
    return runnable


def test_every_json_block_of_the_docs_is_marked() -> None:
    found = examples()
    assert len(found) >= 6
    names = {e.name for e in found if e.name}
    assert set().union(*(e.needs() for e in found)) <= names, "a placeholder nobody defines"


async def _send(api: Api, admin: dict[str, str], example: Example, ids: dict[str, str]) -> str:
    """'' when the API answered as the example says, else what went wrong."""

    def fill(text: str) -> str:
        return PLACEHOLDER.sub(lambda m: ids[m.group(1)], text)

    try:
        body: Any = orjson.loads(fill(example.body))
    except orjson.JSONDecodeError as exc:
        return f"{example.where}: not JSON: {exc}"
    response = await api.http.request(example.method, fill(example.path), headers=admin, json=body)
    expected = (example.status,) if example.status else (200, 201)
    if response.status_code not in expected:
        sent = f"{example.method} {example.path}"
        return f"{example.where}: {sent} -> {response.status_code} {response.text}"
    if example.name:
        ids[example.name] = str(response.json()["id"])
    return ""


@pytest.mark.asyncio(loop_scope="session")
async def test_every_json_example_runs_against_the_private_api(api: Api) -> None:
    await api.tenant("docs_examples")
    admin = await api.token("admin@docs_examples.example")
    waiting, ids, problems = examples(), dict[str, str](), []
    while waiting:
        ready = [e for e in waiting if e.needs() <= ids.keys()]
        assert ready, f"examples waiting for ids nobody defines: {[e.where for e in waiting]}"
        for example in ready:
            problems.append(await _send(api, admin, example, ids))
        waiting = [e for e in waiting if e not in ready]
    assert [p for p in problems if p] == []

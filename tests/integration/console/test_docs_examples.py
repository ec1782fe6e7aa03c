"""Every JSON example in docs/api.md, docs/flows.md and docs/conditions.md is either sent
to the real private API or says why not, so the docs cannot promise a body the API
refuses.

A fenced ``json`` block is preceded by an HTML comment (invisible on the rendered page):

- ``<!-- example: POST /flows -->``: send it, expect 200 or 201;
- ``<!-- example: POST /flows as welcome-flow -->``: ... and let ``<welcome-flow id>``
  stand for the answer's ``id`` in other examples (they run once it is known);
- ``<!-- example: POST /segments -> 422 -->``: an example of what is refused;
- ``<!-- not run: reason -->``: not a private API body (the collector's answers).

The ``curl`` lines against ``$API`` that send a JSON body are sent too, with what the
docs elide filled from a real login: ``$TOKEN``, the refresh token ``eyJ...`` and
``$HEADWATER_TMS_KEY``.
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.console.conftest import TMS_KEY, Api

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[3] / "docs"
FILES = ("api.md", "flows.md", "conditions.md")
MARK = re.compile(r"<!-- (example|not run): (.+?) -->")
REQUEST = re.compile(
    r"(?P<method>GET|POST|PUT|PATCH|DELETE) (?P<path>/(?:[^\s<]|<[\w-]+ id>)*)"
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


@dataclass(frozen=True)
class Curl:
    where: str
    method: str
    path: str
    headers: dict[str, str]
    body: str


def _commands(name: str) -> list[tuple[str, str]]:
    """(where, command) of every curl command to the private API (``$API``) in the
    file's sh blocks, continuation lines joined."""
    lines = (DOCS / name).read_text().splitlines()
    found, inside, start, pending = [], False, 0, ""
    for number, line in enumerate(lines, start=1):
        if line.strip().startswith("```"):
            inside = line.strip() == "```sh"
            continue
        if not inside:
            continue
        if not pending:
            start = number
        pending += line.rstrip("\\") + " "
        if not line.endswith("\\"):
            if pending.lstrip().startswith("curl ") and "$API" in pending:
                found.append((f"{name}:{start}", pending))
            pending = ""
    return found


def curl_examples() -> list[Curl]:
    """The private API's curl commands that send JSON (form logins and GETs are not)."""
    runnable = []
    for name in FILES:
        for where, command in _commands(name):
            words = shlex.split(command, comments=True)
            method, headers, data, path = "", {}, [], None
            for flag, value in itertools.pairwise(words):
                if flag == "-X":
                    method = value
                elif flag == "-H":
                    key, _, text = value.partition(":")
                    headers[key.strip().lower()] = text.strip()
                elif flag == "-d":
                    data.append(value)
            path = next((w.removeprefix("$API") for w in words if w.startswith("$API")), None)
            if path is not None and len(data) == 1 and data[0].startswith("{"):
                runnable.append(Curl(where, method or "POST", path, headers, data[0]))
    return runnable


def test_the_private_api_curl_examples_are_found() -> None:
    paths = {c.path for c in curl_examples()}
    assert {"/api-keys", "/tenants", "/user/token/refresh", "/user/logout"} <= paths


@pytest.mark.asyncio(loop_scope="session")
async def test_every_curl_example_with_json_runs_against_the_private_api(api: Api) -> None:
    await api.tenant("docs_curl")
    problems = []
    for curl in curl_examples():
        login = await api.login("admin@docs_curl.example")  # fresh: logout revokes it
        tokens = login.json()
        filled = {
            "$TOKEN": tokens["access_token"],
            "eyJ...": tokens["refresh_token"],
            "$HEADWATER_TMS_KEY": TMS_KEY,
        }

        def fill(text: str, filled: dict[str, str] = filled) -> str:
            for elided, value in filled.items():
                text = text.replace(elided, value)
            return text

        response = await api.http.request(
            curl.method,
            curl.path,
            headers={k: fill(v) for k, v in curl.headers.items()},
            content=fill(curl.body),
        )
        if response.status_code not in (200, 201, 202, 204):  # 202: a job asked for
            problems.append(f"{curl.where}: {curl.path} -> {response.status_code} {response.text}")
    assert problems == []

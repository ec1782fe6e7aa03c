"""What a flow editor may save is bounded: condition depth and size, node and flow size,
patterns RE2 can run. Over a bound: 422 with the reason, never a 500."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DEEP = "not " * 500 + "event.properties.total > 1"


def _flow(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "bounded",
        "nodes": [{"id": "start", "action": "start"}, {"id": "n", **node}],
        "edges": [{"from": "start", "to": "n"}],
    }


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/rules", {"flow_id": "f", "event_type": "x", "condition": DEEP}, "nested deeper"),
        ("/segments", {"condition": DEEP.replace("event.", "profile.")}, "nested deeper"),
        (
            "/flows",
            _flow({"action": "if", "config": {"condition": DEEP}}),
            "nested deeper",
        ),
        (
            "/flows",
            _flow({"action": "if", "config": {"condition": "event.a = 1 or " * 1000 + "x"}}),
            "longer than 10000 characters",
        ),
        (
            "/flows",
            _flow({"action": "if", "config": {"condition": "event.a = 1 or " * 20_000 + "x"}}),
            "bytes as JSON",
        ),
        (
            "/flows",
            _flow(
                {
                    "action": "update-traits",
                    "config": {"traits": {f"t{i}": "x" * 10_000 for i in range(300)}},
                }
            ),
            "bytes as JSON",
        ),
        (
            "/flows",
            _flow(
                {
                    "action": "regex-match",
                    "config": {"path": "event.properties.v", "pattern": r"(a)\1"},
                }
            ),
            "pattern",
        ),
    ],
)
async def test_over_a_bound_is_422_with_the_reason(
    api: Api, caplog: pytest.LogCaptureFixture, path: str, body: dict[str, Any], reason: str
) -> None:
    await api.tenant("bounds")
    admin = await api.token("admin@bounds.example")
    with caplog.at_level(logging.INFO):
        answer = await api.http.post(path, headers=admin, json=body)
    assert answer.status_code == 422, answer.text[:300]
    assert reason in answer.json()["error"]
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a refused input"

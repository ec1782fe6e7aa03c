"""Bulk actions and sorting a bulk response into what to do next."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest

from headwater.core.ports.search import (
    BulkAction,
    bulk_body,
    classify_bulk_items,
    latest_versions,
)

INDEX = "hw-acme-production-events-2026.11"


@pytest.fixture
def make_action() -> Callable[..., BulkAction]:
    def make(doc_id: str = "e-1", **overrides: Any) -> BulkAction:
        fields: dict[str, Any] = {"index": INDEX, "id": doc_id, "doc": {"id": doc_id}}
        fields.update(overrides)
        return BulkAction(**fields)

    return make


def item(status: int, op: str = "create", **extra: Any) -> dict[str, Any]:
    return {op: {"_index": INDEX, "status": status, **extra}}


def test_create_header(make_action):
    assert make_action().header() == {"create": {"_index": INDEX, "_id": "e-1"}}


def test_index_header_with_external_version(make_action):
    action = make_action("p-1", op="index", version=42)

    assert action.header() == {
        "index": {"_index": INDEX, "_id": "p-1", "version": 42, "version_type": "external"}
    }


def test_index_header_without_version(make_action):
    assert make_action("p-1", op="index").header() == {"index": {"_index": INDEX, "_id": "p-1"}}


def test_bulk_body_pairs_header_and_document_one_json_line_each(make_action):
    first, second = make_action("e-1"), make_action("e-2", doc={"id": "e-2", "n": 1})

    body = bulk_body([first, second])

    assert body.endswith(b"\n")  # the bulk API wants the last line ended too
    assert [orjson.loads(line) for line in body.splitlines()] == [
        {"create": {"_index": INDEX, "_id": "e-1"}},
        {"id": "e-1"},
        {"create": {"_index": INDEX, "_id": "e-2"}},
        {"id": "e-2", "n": 1},
    ]


def test_classify_sorts_every_outcome(make_action):
    actions = [make_action(f"e-{n}") for n in range(7)]
    items = [
        item(201),
        item(200, "index"),
        item(409, error={"type": "version_conflict_engine_exception", "reason": "exists"}),
        item(429, error={"type": "es_rejected_execution_exception", "reason": "queue full"}),
        item(503, error={"type": "unavailable_shards_exception", "reason": "primary down"}),
        item(400, error={"type": "mapper_parsing_exception", "reason": "failed to parse [x]"}),
        item(500),
    ]

    outcome = classify_bulk_items(actions, items)

    assert outcome.written == 2
    assert outcome.already_there == 1
    assert outcome.retry == [actions[3], actions[4], actions[6]]
    assert outcome.rejected == [(actions[5], "400 mapper_parsing_exception: failed to parse [x]")]


def test_classify_keeps_a_plain_error_text(make_action):
    action = make_action()

    outcome = classify_bulk_items([action], [item(404, error="index_not_found")])

    assert outcome.rejected == [(action, "404 index_not_found")]
    assert outcome.written == outcome.already_there == 0
    assert outcome.retry == []


def test_classify_without_status_retries(make_action):
    action = make_action()

    assert classify_bulk_items([action], [{"create": {}}]).retry == [action]


def test_classify_refuses_mismatched_lengths(make_action):
    with pytest.raises(ValueError):
        classify_bulk_items([make_action("e-1"), make_action("e-2")], [item(201)])


def test_outcomes_are_not_shared(make_action):
    first = classify_bulk_items([make_action()], [item(429)])
    second = classify_bulk_items([make_action("e-2")], [item(201)])

    assert len(first.retry) == 1
    assert second.retry == []


def test_bulk_body_writes_no_document_for_a_delete_and_numbers_from_decimals(make_action):
    delete = make_action("p-1", op="delete", version=3)
    index = make_action("p-2", op="index", doc={"id": "p-2", "score": Decimal("1.5")})

    lines = [orjson.loads(line) for line in bulk_body([delete, index]).splitlines()]

    assert lines == [
        {"delete": {"_index": INDEX, "_id": "p-1", "version": 3, "version_type": "external"}},
        {"index": {"_index": INDEX, "_id": "p-2"}},
        {"id": "p-2", "score": 1.5},
    ]


def test_latest_versions_keeps_one_write_per_versioned_document(make_action):
    actions = [
        make_action("e-1"),
        make_action("s-1", op="index", version=1),
        make_action("p-1", op="index", version=7),
        make_action("e-2"),
        make_action("s-1", op="index", version=2),
        make_action("p-1", op="index", version=6),  # older: arrived late
        make_action("s-1", op="delete", version=2),  # a tie: the engine keeps the first
        make_action("e-1"),
    ]

    kept = latest_versions(actions)

    assert [(a.id, a.op, a.version) for a in kept] == [
        ("e-1", "create", None),
        ("p-1", "index", 7),
        ("e-2", "create", None),
        ("s-1", "index", 2),
        ("e-1", "create", None),
    ]


def test_latest_versions_tells_indices_apart(make_action):
    one = make_action("x", op="index", version=1)
    other = make_action("x", op="index", version=1, index="hw-other-000001")

    assert latest_versions([one, other]) == [one, other]

"""Segment wire bodies: what is accepted, what is refused and with which field."""

from __future__ import annotations

import base64

import orjson
import pytest

from headwater.core.segment import (
    MAX_BATCH_MESSAGES,
    parse_segment_batch,
    parse_segment_message,
    write_key_of,
)
from headwater.errors import InvalidInput, MalformedInput, UnknownSource


def _basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _body(value: object) -> bytes:
    return orjson.dumps(value)


@pytest.mark.parametrize(
    ("authorization", "body_key", "expected"),
    [
        (_basic("wk-header-1"), None, "wk-header-1"),  # Basic user, empty password
        (None, "wk-body-1", "wk-body-1"),  # segment-analytics-python 2.3 sends only this
        (_basic("wk-both-1"), "wk-both-1", "wk-both-1"),  # both at once
        ("basic " + base64.b64encode(b"wk-lower:").decode(), None, "wk-lower"),
        ("Bearer something", "wk-body-2", "wk-body-2"),  # not Basic: the body decides
    ],
)
def test_write_key_from_header_body_or_both(authorization, body_key, expected):
    assert write_key_of(authorization, body_key) == expected


@pytest.mark.parametrize(
    ("authorization", "body_key"),
    [
        (None, None),
        (None, ""),
        ("Basic !!!not-base64", None),
        (_basic(""), None),
        (_basic("wk-one-1"), "wk-two-2"),
    ],
)
def test_missing_malformed_or_disagreeing_write_keys_are_401(authorization, body_key):
    with pytest.raises(UnknownSource) as caught:
        write_key_of(authorization, body_key)
    assert caught.value.status == 401
    assert caught.value.field == "writeKey"


def test_single_message_takes_the_routes_type_and_keeps_its_fields():
    body = _body(
        {
            "type": "identify",  # the route wins
            "userId": 42,  # numbers are ids too
            "event": "Signed Up",
            "properties": {"plan": "pro"},
            "context": None,  # null objects are empty objects
            "writeKey": "wk-body-3",
        }
    )

    batch = parse_segment_message(body, "track")

    [message] = batch.batch
    assert message.type == "track"
    assert message.userId == "42"
    assert message.properties == {"plan": "pro"}
    assert message.context == {}
    assert batch.writeKey == "wk-body-3"


@pytest.mark.parametrize(
    ("kind", "fields", "missing"),
    [
        ("track", {"event": "Bought"}, "userId"),  # neither userId nor anonymousId
        ("track", {"userId": "u1"}, "event"),
        ("track", {"userId": "u1", "event": "   "}, "event"),
        ("group", {"userId": "u1"}, "groupId"),
        ("alias", {"userId": "u1"}, "previousId"),
        ("alias", {"anonymousId": "a1", "previousId": "old"}, "userId"),
        ("identify", {"userId": ""}, "userId"),
    ],
)
def test_single_message_missing_required_field_is_422_naming_it(kind, fields, missing):
    with pytest.raises(InvalidInput) as caught:
        parse_segment_message(_body(fields), kind)
    assert caught.value.status == 422
    assert caught.value.field == missing


def test_batch_errors_name_the_message_and_field():
    body = _body(
        {
            "batch": [
                {"type": "track", "event": "A", "userId": "u1"},
                {"type": "page", "anonymousId": "a1"},
                {"type": "track", "anonymousId": "a1"},
            ]
        }
    )

    with pytest.raises(InvalidInput) as caught:
        parse_segment_batch(body)

    assert caught.value.field == "batch[2].event"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"anonymousId": "a1"}, "batch[0].type"),
        ({"type": "purchase", "anonymousId": "a1"}, "batch[0].type"),
        ({"type": "page", "anonymousId": True}, "batch[0].anonymousId"),
        ({"type": "page", "anonymousId": "a1", "timestamp": "yesterday"}, "batch[0].timestamp"),
        ({"type": "page", "anonymousId": "a1", "properties": [1, 2]}, "batch[0].properties"),
    ],
)
def test_batch_item_with_wrong_type_or_value_is_422(item, field):
    with pytest.raises(InvalidInput) as caught:
        parse_segment_batch(_body({"batch": [item]}))
    assert caught.value.field == field


def test_batch_needs_its_list_and_at_most_2500_messages():
    with pytest.raises(InvalidInput) as missing:
        parse_segment_batch(_body({"context": {}}))
    assert missing.value.field == "batch"

    message = {"type": "track", "event": "E", "anonymousId": "a"}
    assert len(parse_segment_batch(_body({"batch": [message] * MAX_BATCH_MESSAGES})).batch) == 2500
    with pytest.raises(InvalidInput) as too_many:
        parse_segment_batch(_body({"batch": [message] * (MAX_BATCH_MESSAGES + 1)}))
    assert too_many.value.field == "batch"


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[1,", b"1e999"])
def test_bodies_that_are_not_json_are_400(body):
    with pytest.raises(MalformedInput) as caught:
        parse_segment_batch(body)
    assert caught.value.status == 400


@pytest.mark.parametrize("body", [b"[]", b"null", b"12", b'"batch"'])
def test_json_that_is_not_an_object_is_422(body):
    with pytest.raises(InvalidInput) as caught:
        parse_segment_message(body, "track")
    assert caught.value.field == "body"

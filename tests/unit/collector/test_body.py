"""Reading webhook bodies under a limit, and turning them into event data.

Requests are real ``starlette.requests.Request`` objects over an ASGI scope, fed by a
receive function that hands out the body in chunks and counts how often it was asked.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.requests import Request

from headwater.collector.body import gunzip_limited, read_limited, request_data
from headwater.errors import InvalidInput, MalformedInput, PayloadTooLarge


@dataclass
class Incoming:
    """A request and the body chunks its client has still to send."""

    chunks: list[bytes]
    reads: int = 0
    request: Request = field(init=False)

    async def receive(self) -> dict[str, Any]:
        self.reads += 1
        if self.chunks:
            chunk = self.chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}
        return {"type": "http.disconnect"}


@pytest.fixture
def make_request() -> Callable[..., Incoming]:
    def make(
        chunks: Sequence[bytes] = (b"",),
        *,
        content_type: str | None = None,
        content_length: str | None = None,
        query: bytes = b"",
    ) -> Incoming:
        headers = [(b"host", b"collector.test")]
        if content_type is not None:
            headers.append((b"content-type", content_type.encode()))
        if content_length is not None:
            headers.append((b"content-length", content_length.encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/collect/order-paid/src-1",
            "raw_path": b"/collect/order-paid/src-1",
            "root_path": "",
            "query_string": query,
            "headers": headers,
            "client": ("203.0.113.7", 50000),
            "server": ("127.0.0.1", 8686),
        }
        incoming = Incoming(list(chunks))
        incoming.request = Request(scope, incoming.receive)
        return incoming

    return make


# --- read_limited -----------------------------------------------------------------------


async def test_reads_every_chunk(make_request):
    incoming = make_request([b'{"a":', b' 1, "b"', b": 2}"])

    assert await read_limited(incoming.request, 1024) == b'{"a": 1, "b": 2}'
    assert incoming.reads == 3


async def test_body_at_the_limit_is_read(make_request):
    incoming = make_request([b"x" * 600, b"y" * 424], content_length="1024")

    assert len(await read_limited(incoming.request, 1024)) == 1024


async def test_declared_length_over_limit_refused_before_reading(make_request):
    incoming = make_request([b"x" * 2000], content_length="2000")

    with pytest.raises(PayloadTooLarge) as caught:
        await read_limited(incoming.request, 1024)

    assert caught.value.status == 413
    assert "2000 bytes" in caught.value.message
    assert incoming.reads == 0


async def test_streamed_body_over_limit_stops_reading(make_request):
    incoming = make_request([b"x" * 600, b"y" * 600, b"z" * 600])

    with pytest.raises(PayloadTooLarge, match="1024-byte limit"):
        await read_limited(incoming.request, 1024)

    assert incoming.reads == 2


@pytest.mark.parametrize("declared", ["10", "not-a-number"])
async def test_streamed_body_over_limit_despite_declared_length(make_request, declared):
    incoming = make_request([b"x" * 700, b"y" * 700], content_length=declared)

    with pytest.raises(PayloadTooLarge):
        await read_limited(incoming.request, 1024)


async def test_empty_body(make_request):
    assert await read_limited(make_request().request, 1024) == b""


# --- request_data -----------------------------------------------------------------------


def test_json_object_body(make_request):
    incoming = make_request(content_type="application/json", query=b"ignored=1")

    data = request_data(incoming.request, b'{"order": "o-1", "total": 12.5, "items": [1, 2]}')

    assert data == {"order": "o-1", "total": 12.5, "items": [1, 2]}


def test_json_body_without_content_type(make_request):
    assert request_data(make_request().request, b'{"a": true}') == {"a": True}


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8"],
)
def test_form_body_repeated_keys_become_lists(make_request, content_type):
    incoming = make_request(content_type=content_type)

    data = request_data(incoming.request, b"a=1&b=x+y&a=2&c=&a=3&d=%C5%BC")

    assert data == {"a": ["1", "2", "3"], "b": "x y", "c": "", "d": "ż"}


def test_form_body_that_is_not_utf8(make_request):
    incoming = make_request(content_type="application/x-www-form-urlencoded")

    with pytest.raises(MalformedInput) as caught:
        request_data(incoming.request, b"a=\xff\xfe")

    assert caught.value.status == 400


@pytest.mark.parametrize("body", [b"", b"  \r\n "])
def test_query_string_when_body_empty(make_request, body):
    incoming = make_request(query=b"email=a%40b.example&tag=x&tag=y")

    assert request_data(incoming.request, body) == {"email": "a@b.example", "tag": ["x", "y"]}


def test_nothing_at_all_is_empty_data(make_request):
    assert request_data(make_request().request, b"") == {}


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"3", b"null", b"true"])
def test_json_that_is_not_an_object(make_request, body):
    incoming = make_request(content_type="application/json")

    with pytest.raises(InvalidInput) as caught:
        request_data(incoming.request, body)

    assert caught.value.status == 422
    assert caught.value.field == "body"


@pytest.mark.parametrize("body", [b"{bad", b'{"a": 1', b"a=1&b=2", b"\xff"])
def test_bad_json(make_request, body):
    incoming = make_request(content_type="application/json")

    with pytest.raises(MalformedInput, match="invalid JSON") as caught:
        request_data(incoming.request, body)

    assert caught.value.status == 400
    assert "expected a JSON body (content-type application/json) or a form" in str(
        caught.value.message
    )


# --- gzip ------------------------------------------------------------------------------


def test_gzip_body_is_inflated_within_the_limit():
    assert gunzip_limited(gzip.compress(b"x" * 1000), limit=1000) == b"x" * 1000


def test_gzip_bomb_is_413_without_inflating_it_whole():
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB that would be 50 MB
    assert len(bomb) < 100_000
    with pytest.raises(PayloadTooLarge):
        gunzip_limited(bomb, limit=500 * 1024)


@pytest.mark.parametrize("body", [b"not gzip at all", b"\x1f\x8b\x08\x00garbage"])
def test_broken_gzip_is_400(body):
    with pytest.raises(MalformedInput):
        gunzip_limited(body, limit=1000)


def test_truncated_gzip_is_400():
    with pytest.raises(MalformedInput):
        gunzip_limited(gzip.compress(b"y" * 5000)[:-12], limit=10_000)


def test_a_signed_webhook_never_takes_its_data_from_the_unsigned_query_string(make_request):
    incoming = make_request(query=b"admin=true")

    assert request_data(incoming.request, b"", query=False) == {}
    assert request_data(incoming.request, b'{"a": 1}', query=False) == {"a": 1}

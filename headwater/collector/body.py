"""Reading request bodies under a size limit, before any parsing."""

from __future__ import annotations

import zlib
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from headwater.core.intake import JSON_EXPECTED, load_json_object
from headwater.errors import MalformedInput, PayloadTooLarge

__all__ = ["gunzip_limited", "header", "read_decoded", "read_limited", "request_data"]


def header(request: Request, name: bytes) -> str | None:
    """The first ``name`` header (lower case), as ``request.headers.get`` gives it, read
    straight from the ASGI scope: a few microseconds less per lookup on the hot paths."""
    for key, value in request.scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing (413) as soon as it is known to exceed ``limit`` bytes."""
    declared = header(request, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes, over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def gunzip_limited(body: bytes, limit: int) -> bytes:
    """Decompress a gzip body, refusing (413) once the output passes ``limit`` bytes, so
    a small bomb never inflates in memory."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"decompressed body is over the {limit}-byte limit")
        out += inflater.flush(limit + 1 - len(out))
    except zlib.error as exc:
        raise MalformedInput(f"body is not valid gzip: {exc}") from None
    if len(out) > limit:
        raise PayloadTooLarge(f"decompressed body is over the {limit}-byte limit")
    if not inflater.eof:
        raise MalformedInput("gzip body is truncated")
    return out


async def read_decoded(request: Request, limit: int) -> bytes:
    """The body under ``limit`` before and after ``Content-Encoding: gzip`` is undone."""
    body = await read_limited(request, limit)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return gunzip_limited(body, limit)
    raise MalformedInput(f"Content-Encoding {encoding!r} is not supported; use gzip")


_JSON_OR_FORM = f"{JSON_EXPECTED} or a form (content-type application/x-www-form-urlencoded)"


def _flatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            previous = data[key]
            data[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            data[key] = value
    return data


def request_data(request: Request, body: bytes, *, query: bool = True) -> dict[str, Any]:
    """Webhook data: a JSON object body, a form body, or else (``query``) the query
    string. A signed webhook's data is its body alone: a query string is not signed."""
    if body.strip():
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            try:
                return _flatten(parse_qsl(body.decode(), keep_blank_values=True))
            except UnicodeDecodeError:
                raise MalformedInput("form body is not UTF-8") from None
        return load_json_object(body, _JSON_OR_FORM)
    return _flatten(list(request.query_params.multi_items())) if query else {}

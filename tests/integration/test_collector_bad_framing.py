"""Requests whose framing is broken (a bad Transfer-Encoding, a chunk size that is not
hex) are refused with one log line each, never an ASGI traceback per request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from headwater.commands.init import InitResult
from headwater.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BAD_FRAMING = [
    (b"chunked", b"zz\r\n{}\r\n0\r\n\r\n"),  # chunk size not hex
    (b"gzip", b"2\r\n{}\r\n0\r\n\r\n"),
    (b"chunked, gzip", b"2\r\n{}\r\n0\r\n\r\n"),
    (b"xchunked", b"{}"),
    (b"chunked\r\nContent-Length: 5", b"2\r\n{}\r\n0\r\n\r\n"),
]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    handler = _Records()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


async def _raw_post(url: str, transfer_encoding: bytes, body: bytes) -> bytes:
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    try:
        writer.write(
            b"POST /track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: " + transfer_encoding + b"\r\n\r\n" + body
        )
        await writer.drain()
        async with asyncio.timeout(5):
            return await reader.readline()
    finally:
        writer.close()


@pytest.mark.parametrize(("transfer_encoding", "body"), BAD_FRAMING)
async def test_bad_framing_is_refused_with_one_line(
    collector: str,
    initialized: InitResult,
    shared_settings: Settings,
    logged: list[logging.LogRecord],
    transfer_encoding: bytes,
    body: bytes,
) -> None:
    status = await _raw_post(collector, transfer_encoding, body)
    await asyncio.sleep(0.3)  # the app's side of the request finishes after the answer

    assert status.startswith(b"HTTP/1.1 400"), status
    tracebacks = [r for r in logged if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
    assert len(logged) <= 2, [r.getMessage() for r in logged]

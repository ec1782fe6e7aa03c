"""A tiny HTTP/1.1 server on loopback for outbound tests: answers each request with the
next status of a script (the last one repeats) and keeps what it received."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at_ms: int  # wall clock when it arrived


@dataclass
class HttpSink:
    statuses: Sequence[int]
    url: str = ""
    hang: bool = False  # never answer (for timeouts)
    received: list[Received] = field(default_factory=list)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.received.append(Received(method, path, headers, body, int(time.time() * 1000)))
            if self.hang:
                await reader.read()  # until the client gives up
                return
            status = self.statuses[min(len(self.received) - 1, len(self.statuses) - 1)]
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".encode()
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def http_sink(
    statuses: Sequence[int] = (200,), *, hang: bool = False
) -> AsyncIterator[HttpSink]:
    sink = HttpSink(statuses, hang=hang)
    server = await asyncio.start_server(sink._serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sink.url = f"http://127.0.0.1:{port}/hooks/in?token=secret"
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()

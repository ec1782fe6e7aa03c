"""IMAP bridge (stdlib ``imaplib``, each connection in a thread of its own): watch one
folder; each new message becomes an event.

Why not an asyncio IMAP library: the maintained one (aioimaplib) is GPL-3.0, which an
Apache-2.0 package can't depend on. A blocking client in a thread per connection costs
a thread per connection, and nothing else.

Two connections per bridge: the *reader* finds new messages (``UID SEARCH UNSEEN``, or
every undeleted message when they are moved away) and fetches them whole without
touching their flags (``BODY.PEEK[]``, at most the size cap); between looks it waits in
IDLE where the server offers it, else sleeps ``poll_interval``. The *marker* sets
``\\Seen`` (or moves the message to ``move_to``) once Kafka acknowledged the message's
intake record or its dead letter is stored. What was taken and not yet marked when a
connection ends is found again after the reconnect, as the same event (its id comes
from the Message-ID header, else a hash of the message).
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import io
import re
import select
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar, cast

from headwater.bridges.pipeline import Pipeline
from headwater.bridges.runner import ChannelRunner
from headwater.core.bridge_config import Bridge
from headwater.core.bridge_mapping import ChannelMessage

__all__ = ["ImapRunner"]

T = TypeVar("T")
IDLE_LONGEST = 300.0  # seconds in one IDLE (servers drop an IDLE of 30 minutes)
TIMEOUT = 30.0  # of one blocking socket operation
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(Exception):
    """The server refused a command or went away."""


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(answer: tuple[str, Sequence[object]], what: str) -> Sequence[object]:
    status, data = answer
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise ImapError(f"{what}: {status} {detail[:200]}")
    return data


class Mailbox:
    """One IMAP connection with a folder selected; every call runs in its own thread."""

    def __init__(self, bridge: Bridge, password: str | None) -> None:
        self._bridge = bridge
        self._password = password or ""
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"imap-{bridge.id[:8]}")
        self._client: imaplib.IMAP4 | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._tags = 0
        self.capabilities: set[str] = set()

    @property
    def folder(self) -> str:
        return self._bridge.subscription.folder or "INBOX"

    async def call(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work)

    async def open(self) -> None:
        await self.call(self._open)

    def _open(self) -> None:
        connection = self._bridge.connection
        if connection.tls:
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                connection.host,
                connection.port or 993,
                ssl_context=ssl.create_default_context(),
                timeout=TIMEOUT,
            )
        else:
            client = imaplib.IMAP4(connection.host, connection.port or 143, timeout=TIMEOUT)
        self._client = client
        try:  # a refusal raises, its text a bytes repr: say it plainly
            _ok(client.login(connection.username or "", self._password), "LOGIN")
        except imaplib.IMAP4.error as exc:
            text = exc.args[0] if exc.args else exc
            text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
            raise ImapError(f"LOGIN refused: {text[:200]}") from None
        capabilities = _ok(client.capability(), "CAPABILITY")
        self.capabilities = set(b" ".join(cast(list[bytes], capabilities)).decode().split())
        _ok(client.select(_quote(self.folder)), f"SELECT {self.folder}")

    def _live(self) -> imaplib.IMAP4:
        if self._client is None:
            raise ImapError("not connected")
        self._client.untagged_responses.clear()  # what no command asked for piles up
        return self._client

    # --- the reader ---------------------------------------------------------------

    def search(self, moving: bool) -> list[int]:
        """UIDs of the messages to take, oldest first."""
        client = self._live()
        if not self._bridge.subscription.idle or "IDLE" not in self.capabilities:
            _ok(client.noop(), "NOOP")  # some servers show new messages on a NOOP only
        criteria = ("UNDELETED",) if moving else ("UNSEEN", "UNDELETED")
        data = _ok(client.uid("SEARCH", *criteria), "SEARCH")
        return sorted(int(n) for d in data if isinstance(d, bytes) for n in d.split())

    def fetch(self, uid: int, limit: int) -> tuple[bytes, int] | None:
        """The message's first ``limit`` bytes and its whole size; None once gone."""
        client = self._live()
        data = _ok(client.uid("FETCH", str(uid), f"(RFC822.SIZE BODY.PEEK[]<0.{limit}>)"), "FETCH")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                meta, body = cast(tuple[bytes, bytes], item)
                found = _UID.search(meta)
                if found and int(found[1]) == uid:
                    size = _SIZE.search(meta)
                    return body, int(size[1]) if size else len(body)
        return None

    def idle(self, timeout: float) -> None:
        """Wait in IDLE until the server says something, ``timeout`` passes or ``wake``."""
        client = self._live()
        self._tags += 1
        tag = f"HWIDLE{self._tags}".encode()
        client.send(tag + b" IDLE\r\n")
        changed = False
        while True:
            line = client.readline()
            if not line:
                raise ImapError("the server closed the connection")
            if line.startswith(b"+"):
                break
            if line.startswith(tag + b" "):
                raise ImapError(f"IDLE refused: {line[:200].decode(errors='replace')}")
            changed = True  # an untagged answer before the continuation
        if not changed and not _buffered(client):
            ready, _, _ = select.select([client.socket(), self._wake_r], [], [], timeout)
            if self._wake_r in ready:
                self._wake_r.recv(64)
        client.send(b"DONE\r\n")
        while True:
            line = client.readline()
            if not line:
                raise ImapError("the server closed the connection")
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1 :].startswith(b"OK"):
                    raise ImapError(f"IDLE ended: {line[:200].decode(errors='replace')}")
                return
            if line.startswith(b"* BYE"):
                raise ImapError(f"server: {line[:200].decode(errors='replace').strip()}")

    def wake(self) -> None:
        """End an IDLE now (from any thread)."""
        with contextlib.suppress(OSError):  # full: it wakes anyway
            self._wake_w.send(b"x")

    # --- the marker ---------------------------------------------------------------

    def prepare_marking(self) -> None:
        move_to = self._bridge.subscription.move_to
        if move_to is None:
            return
        if "MOVE" not in self.capabilities:
            raise ImapError("the server has no MOVE: leave move_to out (messages get \\Seen)")
        self._live().create(_quote(move_to))  # NO when it exists already: fine

    def mark(self, uids: list[int]) -> None:
        client = self._live()
        # a session sees messages that came after its last command only after the next:
        # without this, a STORE of a UID it does not know yet is an OK that does nothing
        _ok(client.noop(), "NOOP")
        move_to = self._bridge.subscription.move_to
        for start in range(0, len(uids), 500):
            ids = ",".join(str(uid) for uid in uids[start : start + 500])
            if move_to is None:
                _ok(client.uid("STORE", ids, "+FLAGS.SILENT", "(\\Seen)"), "STORE \\Seen")
            else:
                _ok(client.uid("MOVE", ids, _quote(move_to)), f"MOVE {move_to}")

    # --- the end ------------------------------------------------------------------

    async def close(self) -> None:
        self.wake()
        try:
            await asyncio.wait_for(self.call(self._close), 5)
        except (TimeoutError, OSError, imaplib.IMAP4.error):
            pass
        finally:
            self._thread.shutdown(wait=False)
            self._wake_r.close()
            self._wake_w.close()

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            client.shutdown()


def _buffered(client: imaplib.IMAP4) -> bool:
    """Whether the client's reader holds bytes already (then select would not see them)."""
    sock = client.socket()
    before = sock.gettimeout()
    sock.settimeout(0.0)
    try:
        return bool(cast(io.BufferedReader, client.file).peek(1))
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.settimeout(before)


class ImapRunner(ChannelRunner):
    window_cap = 64  # messages are large: fewer of them between the folder and Kafka

    async def session(self) -> None:
        reader, marker = Mailbox(self.bridge, self._password), Mailbox(self.bridge, self._password)
        try:
            await reader.open()
            await marker.open()
            await marker.call(marker.prepare_marking)

            async def ack(uids: list[int]) -> None:
                await marker.call(partial(marker.mark, uids))

            pipeline = self.pipeline(ack)
            try:
                await pipeline.run(self._consume(reader, pipeline))
            finally:
                await pipeline.close()
        except imaplib.IMAP4.error as exc:  # its texts hold no password; scrubbed anyway
            raise ImapError(str(exc)) from None
        finally:
            await asyncio.gather(reader.close(), marker.close())

    async def _consume(self, reader: Mailbox, pipeline: Pipeline[int]) -> None:
        subscription = self.bridge.subscription
        moving = subscription.move_to is not None
        limit = subscription.max_message_bytes + 1  # one more: the parser sees it is over
        idle = subscription.idle and "IDLE" in reader.capabilities
        taken: set[int] = set()  # UIDs given to the pipeline on this connection
        while True:
            found = await reader.call(partial(reader.search, moving))
            taken &= set(found)  # marked ones are gone from the answer: forget them
            for uid in found:
                if uid in taken:
                    continue
                fetched = await reader.call(partial(reader.fetch, uid, limit))
                if fetched is None:
                    continue  # expunged meanwhile
                body, size = fetched
                taken.add(uid)
                message = ChannelMessage(
                    body=body,
                    topic=reader.folder,
                    received_at=time.time_ns() // 1_000_000,
                    size=size,
                )
                await pipeline.submit(message, uid)
            if idle:
                await reader.call(partial(reader.idle, IDLE_LONGEST))
            else:
                await asyncio.sleep(subscription.poll_interval)

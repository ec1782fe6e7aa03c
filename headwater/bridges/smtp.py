"""SMTP bridge (aiosmtpd): an inbound listener for setups that forward mail to Headwater.

It listens where ``connection.url`` says (``smtp://[HOST]:PORT``; no host: 127.0.0.1)
and takes each message as one event. The final answer to DATA is ``250`` only once
Kafka acknowledged the message's intake record (or its dead letter is stored); when
that does not happen within ``HEADWATER_BRIDGE_SMTP_ACK_TIMEOUT`` seconds (Kafka away,
the window full) the answer is ``451``, a temporary failure the sending server retries:
back-pressure, never a silent drop. A retried message that did reach Kafka is the same
event (its Message-ID), stored once. ``552`` refuses a message over
``max_message_bytes``; ``recipients`` and ``senders`` allow-lists refuse the others
with ``550`` and ``553``. No TLS and no AUTH: keep it on loopback or a private network
behind your mail server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from headwater.bridges.pipeline import Pipeline
from headwater.bridges.runner import ChannelRunner
from headwater.core.bridge_mapping import ChannelMessage

__all__ = ["SmtpRunner", "allowed"]

log = logging.getLogger(__name__)

Token = asyncio.Future[None]


def allowed(address: str, entries: list[str]) -> bool:
    """Whether an address is on an allow-list of addresses and ``@domain`` entries
    (lower-case); an empty list allows every address."""
    if not entries:
        return True
    address = address.strip().lower()
    return address in entries or any(
        entry.startswith("@") and address.endswith(entry) for entry in entries
    )


class _Handler:
    """aiosmtpd's hooks: the allow-lists, then one message into the pipeline per DATA."""

    def __init__(self, runner: SmtpRunner) -> None:
        self._runner = runner
        self.pipeline: Pipeline[Token] | None = None  # set before the server serves
        self._pending: set[asyncio.Task[None]] = set()

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if not allowed(address, self._runner.bridge.subscription.senders):
            return "553 5.7.1 sender not accepted here"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if not allowed(address, self._runner.bridge.subscription.recipients):
            return "550 5.1.1 recipient not accepted here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert self.pipeline is not None
        raw = envelope.original_content or b""
        message = ChannelMessage(
            body=raw,
            topic=(envelope.rcpt_tos or [""])[0].lower(),
            received_at=time.time_ns() // 1_000_000,
        )
        acked: Token = asyncio.get_running_loop().create_future()
        # submitting goes on when we stop waiting: it is never cut in the middle
        submitting = asyncio.create_task(self.pipeline.submit(message, acked))
        self._pending.add(submitting)
        submitting.add_done_callback(self._pending.discard)
        timeout = self._runner.ack_timeout
        done, _ = await asyncio.wait({acked}, timeout=timeout)
        if not done:
            log.warning("bridge %s: no Kafka ack in %s s: 451", self._runner.bridge.id, timeout)
            return "451 4.3.0 not stored yet, try again later"
        return "250 2.0.0 OK: stored"


class SmtpRunner(ChannelRunner):
    window_cap = 64

    @property
    def ack_timeout(self) -> float:
        return self._settings.bridge_smtp_ack_timeout

    async def session(self) -> None:
        connection = self.bridge.connection
        sessions: list[SMTP] = []
        handler = _Handler(self)
        limit = self.bridge.subscription.max_message_bytes

        def session() -> SMTP:
            sessions[:] = [s for s in sessions if s.transport is not None]
            sessions.append(
                SMTP(
                    handler,
                    data_size_limit=limit,
                    enable_SMTPUTF8=True,
                    hostname="headwater",
                    ident="Headwater SMTP bridge",
                )
            )
            return sessions[-1]

        server = await asyncio.get_running_loop().create_server(
            session, host=connection.host or "127.0.0.1", port=connection.port, start_serving=False
        )

        async def ack(tokens: list[Token]) -> None:
            for token in tokens:
                if not token.done():
                    token.set_result(None)

        handler.pipeline = self.pipeline(ack)
        try:
            await handler.pipeline.run(server.serve_forever())
        finally:
            server.close()
            for open_session in sessions:  # a client mid-session: it tries again later
                if open_session.transport is not None:
                    open_session.transport.close()
            await handler.pipeline.close()

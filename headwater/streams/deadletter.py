"""Dead letters: what a stage could not process, kept with the reason."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from headwater.core.records import DeadLetter
from headwater.core.tenancy import key_owner
from headwater.observability.metrics import DEAD_LETTERS, dead_letter_reason
from headwater.schemas import DEAD_LETTER
from headwater.streams.codec import AvroCodec

__all__ = ["DeadLetters", "SourceMessage"]

log = logging.getLogger(__name__)

Send = Callable[[bytes | None, bytes], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SourceMessage:
    """Where a message came from, so a dead letter can point back at it."""

    topic: str
    partition: int | None
    offset: int | None
    key: bytes | None
    value: bytes


class DeadLetters:
    """Encodes dead-letter records and hands them to ``send`` (which awaits the ack).

    Each record carries the tenant and environment its message key names (every stage's
    input is keyed by them), so a tenant's dead letters can be listed without reading
    another tenant's; a key that names none leaves both null."""

    def __init__(self, codec: AvroCodec, stage: str, send: Send) -> None:
        self._codec = codec
        self._stage = stage
        self._send = send
        self.count = 0

    async def record(
        self,
        message: SourceMessage,
        reason: str,
        payload: bytes | None = None,
        *,
        attempts: int = 1,
        kind: str | None = None,
    ) -> None:
        """``kind``: the bounded reason the metrics count it under (else read from
        ``reason``: headwater/observability/metrics.py)."""
        where = f"{message.topic}[{message.partition}]@{message.offset}"
        log.error(
            "%s: dead-lettering %s: %s", self._stage, where, reason, extra={"message_id": where}
        )
        tenant, env = key_owner(message.key) or (None, None)
        record: DeadLetter = {
            "stage": self._stage,
            "reason": reason,
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "key": message.key,
            "payload": payload if payload is not None else message.value,
            "failed_at": int(time.time() * 1000),
            "attempts": attempts,
            "tenant": tenant,
            "env": env,
        }
        value = self._codec.encode(DEAD_LETTER, record)
        await self._send(message.key, value)
        self.count += 1
        DEAD_LETTERS.labels(self._stage, dead_letter_reason(reason, kind)).inc()

"""Kafka-topic bridge (aiokafka): JSON records from topics of another cluster (or this
one: a CDC or application event stream) become events.

Offsets are committed by hand, in a consumer group of the bridge's own
(``Bridge.group_id``), only for records whose intake record Kafka acknowledged (or whose
dead letter is stored): after a crash, a restart or a rebalance the uncommitted records
come again, as the same events. While intake waits, the bridge stops polling; what the
consumer has fetched is bounded by its fetch sizes.
"""

from __future__ import annotations

import time
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.bridges.pipeline import Pipeline
from headwater.bridges.runner import ChannelRunner
from headwater.core.bridge_mapping import ChannelMessage

__all__ = ["KafkaRunner"]

Record: TypeAlias = Any  # aiokafka's ConsumerRecord (the package has no type hints)


class KafkaRunner(ChannelRunner):
    async def session(self) -> None:
        connection = self.bridge.connection
        tls = urlsplit(connection.url).scheme == "kafkas"
        options: dict[str, object] = {
            "security_protocol": ("SASL_" if connection.username else "")
            + ("SSL" if tls else "PLAINTEXT"),
        }
        if connection.username:
            options.update(
                sasl_mechanism="PLAIN",
                sasl_plain_username=connection.username,
                sasl_plain_password=self._password or "",
            )
        if tls:
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context()
        consumer = AIOKafkaConsumer(
            *self.bridge.subscription.topics,
            bootstrap_servers=urlsplit(connection.url).netloc,
            group_id=self.bridge.group_id,
            client_id=f"headwater-bridge-{self.bridge.id}"[:64],
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **options,
        )
        await consumer.start()
        try:

            async def ack(records: list[Record]) -> None:
                offsets: dict[TopicPartition, int] = {}
                for record in records:  # in arrival order: per partition, offset order
                    offsets[TopicPartition(record.topic, record.partition)] = record.offset + 1
                await consumer.commit(offsets)

            pipeline = self.pipeline(ack)
            try:
                await pipeline.run(self._consume(consumer, pipeline))
            finally:
                await pipeline.close()
        finally:
            await consumer.stop()

    async def _consume(self, consumer: AIOKafkaConsumer, pipeline: Pipeline[Record]) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batches.values():
                for record in records:
                    await pipeline.submit(_channel_message(record), record)


def _channel_message(record: Record) -> ChannelMessage:
    key = record.key
    return ChannelMessage(
        body=record.value or b"",
        topic=record.topic,
        received_at=time.time_ns() // 1_000_000,
        separator=".",
        headers={k: v.decode(errors="replace") for k, v in (record.headers or ())},
        message_id=key.decode(errors="replace") if key else None,
    )

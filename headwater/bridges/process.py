"""The bridges of one channel kind and environment, following the configuration.

A ``headwater bridge KIND`` process runs every enabled bridge of that channel in its
environment (``HEADWATER_ENV``), of every tenant that is not suspended. It follows the
config topic: a bridge created, changed (a new version), disabled or deleted is started,
restarted or stopped within a second, without a restart of the process.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pydantic import ValidationError

from headwater.adapters.secrets import secret_box
from headwater.bridges.pipeline import BridgeStats, Intake
from headwater.bridges.runner import ChannelRunner
from headwater.core.bridge_config import BRIDGE_KIND, Bridge
from headwater.core.config import ConfigEntry
from headwater.core.tenancy import tenant_key
from headwater.errors import SecretsUnavailable
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog
from headwater.streams.sender import RetryingSender
from headwater.streams.topics import Topics

__all__ = ["BridgeProcess"]

log = logging.getLogger(__name__)

FOLLOW_EVERY = 0.2  # seconds between looks at the config log's generation


@dataclass
class _Running:
    version: int
    runner: ChannelRunner | None  # None: the bridge cannot run as configured
    task: asyncio.Task[None] | None


def _runner_class(channel: str) -> type[ChannelRunner]:
    if channel == "mqtt":
        from headwater.bridges.mqtt import MqttRunner

        return MqttRunner
    if channel == "kafka":
        from headwater.bridges.kafka import KafkaRunner

        return KafkaRunner
    if channel == "imap":
        from headwater.bridges.imap import ImapRunner

        return ImapRunner
    if channel == "smtp":
        from headwater.bridges.smtp import SmtpRunner

        return SmtpRunner
    from headwater.bridges.amqp import AmqpRunner

    return AmqpRunner


class BridgeProcess:
    def __init__(self, settings: Settings, channel: str) -> None:
        self.settings = settings
        self.channel = channel
        codec = AvroCodec.default()
        topics = Topics(settings.topic_prefix)
        self.config = ConfigLog(settings, codec)
        # records come one per message: they linger so that they travel in batches
        # (a bridge acknowledges its channel after Kafka, with a window of messages in
        # flight, so a longer linger costs latency but not throughput)
        self.sender = RetryingSender(
            settings, f"bridge-{channel}", linger_ms=settings.bridge_linger_ms
        )
        self.intake = Intake(
            self.sender,
            codec,
            topics.intake,
            topics.deadletter,
            f"bridge-{channel}",
            settings.max_request_bytes,
        )
        self.stats: dict[str, BridgeStats] = {}
        self._running: dict[str, _Running] = {}
        self._follower: asyncio.Task[None] | None = None
        self._runner = _runner_class(channel)

    async def start(self) -> None:
        await self.sender.producer.start(wait=5.0)
        await self.config.start(wait=self.settings.config_wait)
        self._follower = asyncio.create_task(self._follow(), name=f"bridges-{self.channel}")

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        await asyncio.gather(*(self._stop(key) for key in list(self._running)))
        await self.config.stop()
        await self.sender.producer.stop()

    async def _follow(self) -> None:
        seen = -1
        while True:
            if self.config.caught_up and self.config.generation != seen:
                seen = self.config.generation
                try:
                    await self._reconcile()
                except Exception:  # never stop following; say what happened
                    log.exception("bridges: applying the configuration failed")
            await asyncio.sleep(FOLLOW_EVERY)

    def _wanted(self) -> dict[str, ConfigEntry]:
        wanted = {}
        for entry in self.config.entries(BRIDGE_KIND):
            data = entry.data
            if entry.env != self.settings.env or data.get("channel") != self.channel:
                continue
            tenant = self.config.get(tenant_key(entry.tenant))
            if tenant is not None and tenant.data.get("status") == "suspended":
                continue
            if data.get("enabled", True):
                wanted[entry.key] = entry
        return wanted

    async def _reconcile(self) -> None:
        wanted = self._wanted()
        for key, running in list(self._running.items()):
            entry = wanted.get(key)
            if entry is None or entry.version != running.version:
                await self._stop(key)
        for key, entry in wanted.items():
            if key not in self._running:
                self._start(key, entry)

    def _start(self, key: str, entry: ConfigEntry) -> None:
        try:
            bridge = Bridge.model_validate(
                {**entry.data, "id": entry.id, "tenant": entry.tenant, "env": entry.env}
            )
        except ValidationError as exc:
            self._cannot_run(key, entry, f"invalid configuration: {exc.errors()[0]['msg']}")
            return
        password = None
        if bridge.connection.password_sealed:
            try:
                password = secret_box(self.settings).open(bridge.connection.password_sealed)
            except SecretsUnavailable as exc:
                self._cannot_run(key, entry, str(exc))
                return
        runner = self._runner(bridge, password, self.intake, self.settings)
        self.stats[entry.id] = runner.stats
        task = asyncio.create_task(runner.run(), name=f"bridge-{entry.id}")
        self._running[key] = _Running(entry.version, runner, task)
        log.info("bridge %s (%s, tenant %s) started", entry.id, self.channel, entry.tenant)

    def _cannot_run(self, key: str, entry: ConfigEntry, reason: str) -> None:
        log.error("bridge %s cannot run: %s", entry.id, reason)
        where = str(entry.data.get("connection", {}).get("url", ""))[:200]
        self.stats[entry.id] = BridgeStats(self.channel, where, state="invalid", error=reason)
        self._running[key] = _Running(entry.version, None, None)

    async def _stop(self, key: str) -> None:
        running = self._running.pop(key)
        if running.runner is not None and running.task is not None:
            await running.runner.stop(running.task)
            log.info("bridge %s stopped", running.runner.bridge.id)
        entity_id = key.rsplit("/", 1)[-1]
        if not any(k.endswith(f"/{entity_id}") for k in self._running):
            self.stats.pop(entity_id, None)

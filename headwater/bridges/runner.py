"""What every channel adapter shares: connect, consume through a pipeline, and on any
failure reconnect with back-off, without ever letting a credential reach a log."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import TypeVar

from headwater.bridges.pipeline import BridgeStats, Intake, Pipeline
from headwater.core.bridge_config import Bridge
from headwater.core.bridge_mapping import MessageMapper
from headwater.core.intake import IntakeLimits
from headwater.settings import Settings
from headwater.streams.backoff import Backoff

__all__ = ["ChannelRunner"]

log = logging.getLogger(__name__)

Token = TypeVar("Token")
_MASK = "********"


class ChannelRunner(ABC):
    """Runs one bridge: a connection to its channel server at a time."""

    window_cap = 65535  # most messages between the channel and Kafka (of the window)

    def __init__(
        self, bridge: Bridge, password: str | None, intake: Intake, settings: Settings
    ) -> None:
        self.bridge = bridge
        self._password = password
        self._intake = intake
        self._settings = settings
        self.stats = BridgeStats(bridge.channel, bridge.connection.where)
        self._mapper = MessageMapper(
            bridge, IntakeLimits(settings.max_event_bytes, settings.max_request_bytes)
        )
        self._backoff = Backoff(settings.bridge_max_backoff)
        self._pipeline: Pipeline[object] | None = None

    @abstractmethod
    async def session(self) -> None:
        """Connect, consume until the connection ends; raise what ended it."""

    def pipeline(self, ack: Callable[[list[Token]], Awaitable[None]]) -> Pipeline[Token]:
        """The pipeline of a new connection (call once connected)."""
        self.stats.state = "connected"
        self.stats.error = None
        self.stats.connects += 1
        self._backoff.reset()
        log.info("bridge %s connected to %s", self.bridge.id, self.stats.where)
        window = min(self._settings.bridge_max_in_flight, self.window_cap)
        pipeline: Pipeline[Token] = Pipeline(self._mapper, self._intake, ack, window, self.stats)
        self._pipeline = pipeline  # type: ignore[assignment]
        return pipeline

    async def run(self) -> None:
        """Until cancelled: each connection ends in a reconnect after a back-off."""
        while True:
            self.stats.state = "connecting" if not self.stats.connects else "reconnecting"
            try:
                await self.session()
                problem = "the server closed the connection"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # whatever ends a connection, the bridge goes on
                problem = self.scrub(f"{type(exc).__name__}: {exc}")
            finally:
                self._pipeline = None
                self.stats.in_flight = 0
            self.stats.state = "reconnecting"
            self.stats.error = problem
            log.warning(
                "bridge %s (%s): %s; reconnecting", self.bridge.id, self.stats.where, problem
            )
            await self._backoff.wait()

    async def stop(self, task: asyncio.Task[None], drain: float = 5.0) -> None:
        """A clean stop: take nothing more, let Kafka acknowledge what was taken (for up
        to ``drain`` seconds, acknowledging it to the channel), then disconnect."""
        if self._pipeline is not None:
            await self._pipeline.drain(drain)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        self.stats.state = "stopped"

    def scrub(self, text: str) -> str:
        """``text`` without the password (client libraries may quote what they were given)."""
        if self._password:
            text = text.replace(self._password, _MASK)
        return text[:500]

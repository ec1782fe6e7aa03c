"""What the private API's routes share: config view and writer, search, tokens, guards."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from headwater.adapters.search import connect_search
from headwater.console.passwords import PasswordVault
from headwater.console.tokens import TokenSigner
from headwater.core.lockout import LoginGuard
from headwater.core.ports.search import SearchStore
from headwater.errors import SearchUnavailable
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog, ConfigPublisher
from headwater.streams.kafka import AckedProducer, kafka_client_options

__all__ = ["ConsoleRuntime"]


@dataclass
class ConsoleRuntime:
    settings: Settings
    config: ConfigLog
    publisher: ConfigPublisher
    producer: AckedProducer
    tokens: TokenSigner
    passwords: PasswordVault
    logins: LoginGuard
    _search: SearchStore | None = field(default=None)

    @classmethod
    def create(cls, settings: Settings, passwords: PasswordVault | None = None) -> ConsoleRuntime:
        """Refuses to build without a signing secret: there is no default one."""
        secret = settings.api_signing_key
        kafka_client_options(settings)
        codec = AvroCodec.default()
        producer = AckedProducer(settings)
        return cls(
            settings=settings,
            config=ConfigLog(settings, codec),
            publisher=ConfigPublisher(settings, codec, producer),
            producer=producer,
            tokens=TokenSigner(
                secret,
                access_ttl=timedelta(minutes=settings.access_token_minutes),
                refresh_ttl=timedelta(hours=settings.refresh_token_hours),
            ),
            passwords=passwords or PasswordVault(),
            logins=LoginGuard(settings.login_max_failures, settings.login_lockout_minutes * 60),
        )

    async def start(self) -> None:
        await self.producer.start(wait=5.0)
        await self.config.start(wait=self.settings.config_wait)
        self._search = await connect_search(self.settings)

    async def stop(self) -> None:
        await self.config.stop()
        await self.producer.stop()
        if self._search is not None:
            await self._search.close()

    @property
    def search(self) -> SearchStore:
        if self._search is None:
            raise SearchUnavailable("the private API has not connected to search yet")
        return self._search

    @staticmethod
    def clock() -> float:
        return time.monotonic()

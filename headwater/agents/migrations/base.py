"""What a migration step is, and the running installation it looks at and changes.

A step says what it would change (``needs``), computed from the live installation
(topics on the broker, templates and indices on the search engine, records on
``hw.config``), never from a record of what ran before: so ``plan`` is true after a
crash, and ``apply`` picks up wherever a killed run stopped. Every ``apply`` is safe
to run again from the start.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from headwater.core.config import ConfigEntry, config_key
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import ENVIRONMENTS, TENANT_KIND
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog, ConfigPublisher
from headwater.streams.kafka import AckedProducer

__all__ = ["INSTALLATION", "MIGRATION_KIND", "Installation", "Say", "Step"]

MIGRATION_KIND = "migration"  # hw.config: migration/*/*/<step id>, what ran and when
INSTALLATION = "*"  # the tenant of installation-wide config entries

Say = Callable[[str], None]  # a line for the operator


@dataclass
class Installation:
    """The running installation a step looks at and changes."""

    settings: Settings
    config: ConfigLog
    publisher: ConfigPublisher
    store: SearchStore
    producer: AckedProducer
    codec: AvroCodec
    say: Say = field(default=lambda line: None)
    # follows a job a step asked for until it ends (set by the command: a progress bar)
    follow_job: Callable[[str], Awaitable[None]] | None = None

    def tenants(self) -> list[str]:
        """Every tenant on hw.config, and the default one (init makes it first)."""
        found = {e.id for e in self.config.entries(TENANT_KIND)}
        return sorted(found | {self.settings.default_tenant})

    def contexts(self) -> list[tuple[str, str]]:
        return [(tenant, env) for tenant in self.tenants() for env in ENVIRONMENTS]

    def applied(self, step_id: str) -> ConfigEntry | None:
        return self.config.get(config_key(MIGRATION_KIND, INSTALLATION, None, step_id))


class Step(ABC):
    id: str
    description: str

    @abstractmethod
    async def needs(self, inst: Installation) -> list[str]:
        """What this step would change on ``inst``, one line each; empty: nothing."""

    async def needed(self, inst: Installation) -> bool:
        return bool(await self.needs(inst))

    @abstractmethod
    async def apply(self, inst: Installation) -> None:
        """Bring ``inst`` forward; safe to run again after a crash at any point."""

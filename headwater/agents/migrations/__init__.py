"""``headwater migrate plan | apply | status``: bring a running installation forward to
this release, step by step, while collection goes on.

Each step (``base.Step``) computes what it would change from the live installation,
so ``plan`` changes nothing and is empty once the installation is this release's, and
``apply`` runs every step that is needed, in order, checks that it is not needed any
more, and records it on ``hw.config`` (``migration/*/*/<step id>``). A run killed at
any point is run again: steps done are not needed any more, the step it was in is
safe to repeat, and a replay it had asked for is found and followed, not asked again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from headwater import __version__
from headwater.adapters.search import connect_search
from headwater.agents.migrations.base import (
    INSTALLATION,
    MIGRATION_KIND,
    Installation,
    Say,
    Step,
)
from headwater.agents.migrations.config import RecordConfigHistory, RewriteOldConfigRecords
from headwater.agents.migrations.search import ReindexSearch, SearchTemplates
from headwater.agents.migrations.topics import ConfigureTopics, CreateTopics
from headwater.errors import HeadwaterError, NotReady
from headwater.settings import Settings
from headwater.streams.config_log import open_config
from headwater.streams.topic_admin import existing_topics
from headwater.streams.topics import Topics

__all__ = [
    "STEPS",
    "Installation",
    "MigrationFailed",
    "StepPlan",
    "StepStatus",
    "apply",
    "open_installation",
    "plan",
    "status",
]

# In the order they run: topics before anything writes to them (the jobs topic before
# a replay job), templates before the replay that builds indices with them.
STEPS: tuple[Step, ...] = (
    CreateTopics(),
    ConfigureTopics(),
    RecordConfigHistory(),
    RewriteOldConfigRecords(),
    SearchTemplates(),
    ReindexSearch(),
)


class MigrationFailed(HeadwaterError):
    """A step was applied and is still needed: something else is in the way."""


@dataclass(frozen=True)
class StepPlan:
    id: str
    description: str
    needs: list[str]


@dataclass(frozen=True)
class StepStatus:
    id: str
    description: str
    needed: list[str]
    state: str  # applied, applying (a run stopped in it), never
    release: str | None = None
    at: str | None = None
    by: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@asynccontextmanager
async def open_installation(
    settings: Settings,
    *,
    say: Say | None = None,
    follow_job: Callable[[str], Awaitable[None]] | None = None,
    node_class: Any = None,
) -> AsyncIterator[Installation]:
    config_topic = Topics(settings.topic_prefix).config
    if config_topic not in await existing_topics(settings):
        raise NotReady(f"no {config_topic} topic: no installation here yet (headwater init)")
    store = await connect_search(settings, node_class=node_class)
    try:
        async with open_config(settings) as (config, publisher):
            yield Installation(
                settings=settings,
                config=config,
                publisher=publisher,
                store=store,
                producer=publisher.producer,
                codec=publisher.codec,
                say=say or (lambda line: None),
                follow_job=follow_job,
            )
    finally:
        await store.close()


async def plan(inst: Installation, steps: tuple[Step, ...] = STEPS) -> list[StepPlan]:
    """The steps the installation needs, with what each would change; changes nothing."""
    found = []
    for step in steps:
        needs = await step.needs(inst)
        if needs:
            found.append(StepPlan(step.id, step.description, needs))
    return found


async def _record(inst: Installation, step: Step, state: str, needs: list[str]) -> None:
    previous = inst.applied(step.id)
    await inst.publisher.publish(
        kind=MIGRATION_KIND,
        tenant=INSTALLATION,
        env=None,
        entity_id=step.id,
        data={"state": state, "release": __version__, "changes": needs},
        version=1 if previous is None else previous.version + 1,
        updated_by="headwater migrate",
    )


async def apply(
    inst: Installation,
    steps: tuple[Step, ...] = STEPS,
    *,
    reached: Callable[[int, int, str], Awaitable[None]] | None = None,
) -> list[str]:
    """Run every needed step in order; returns the ids of the steps applied.
    ``reached(done, total, step id)`` is told before each step."""
    applied = []
    for number, step in enumerate(steps):
        if reached is not None:
            await reached(number, len(steps), step.id)
        needs = await step.needs(inst)
        if not needs:
            entry = inst.applied(step.id)
            if entry is not None and entry.data.get("state") == "applying":
                # a run killed after the step's work and before recording it
                await _record(inst, step, "applied", list(entry.data.get("changes", [])))
            continue
        inst.say(f"{step.id}: {step.description}")
        for line in needs:
            inst.say(f"  - {line}")
        await _record(inst, step, "applying", needs)
        await step.apply(inst)
        left = await step.needs(inst)
        if left:
            raise MigrationFailed(f"step {step.id} applied, but still needed: {left}")
        await _record(inst, step, "applied", needs)
        applied.append(step.id)
    if reached is not None:
        await reached(len(steps), len(steps), "")
    return applied


async def status(inst: Installation, steps: tuple[Step, ...] = STEPS) -> list[StepStatus]:
    found = []
    for step in steps:
        entry = inst.applied(step.id)
        found.append(
            StepStatus(
                id=step.id,
                description=step.description,
                needed=await step.needs(inst),
                state="never" if entry is None else str(entry.data.get("state")),
                release=None if entry is None else entry.data.get("release"),
                at=None if entry is None else entry.updated_at.isoformat(),
                by=None if entry is None else entry.updated_by,
                details={} if entry is None else {"changes": entry.data.get("changes", [])},
            )
        )
    return found

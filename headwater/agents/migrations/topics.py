"""Topics: create those this release uses and the broker lacks, and set the
configuration each must have (``Topics.specs``, what ``init`` creates).

Partition counts are never changed: topics keyed by profile are co-partitioned, and
more partitions would move profiles to another writer; the jobs topic places a job by
its id modulo the count (docs/operations.md says how to grow a topic by hand).
"""

from __future__ import annotations

from headwater.agents.migrations.base import Installation, Step
from headwater.streams.kafka import ensure_topics
from headwater.streams.topic_admin import existing_topics, set_topic_configs, topic_configs
from headwater.streams.topics import Topics, TopicSpec

__all__ = ["ConfigureTopics", "CreateTopics"]


def _specs(inst: Installation) -> list[TopicSpec]:
    return Topics(inst.settings.topic_prefix).specs(inst.settings.partitions)


class CreateTopics(Step):
    id = "topics"
    description = "create the topics this release uses that the broker lacks"

    async def needs(self, inst: Installation) -> list[str]:
        existing = await existing_topics(inst.settings)
        return [
            f"create topic {s.name} ({s.partitions} partitions{_configs(s.configs)})"
            for s in _specs(inst)
            if s.name not in existing
        ]

    async def apply(self, inst: Installation) -> None:
        for name in await ensure_topics(inst.settings, _specs(inst)):
            inst.say(f"created topic {name}")


def _configs(configs: dict[str, str]) -> str:
    return "".join(f", {k}={v}" for k, v in sorted(configs.items()))


class ConfigureTopics(Step):
    id = "topic-configs"
    description = "set the configuration each topic must have (cleanup.policy, retention.ms)"

    async def _differing(self, inst: Installation) -> dict[str, dict[str, str]]:
        existing = await existing_topics(inst.settings)
        specs = [s for s in _specs(inst) if s.name in existing and s.configs]
        current = await topic_configs(inst.settings, [s.name for s in specs])
        differing: dict[str, dict[str, str]] = {}
        for spec in specs:
            have = current.get(spec.name, {})
            wrong = {k: v for k, v in spec.configs.items() if have.get(k) != v}
            if wrong:
                differing[spec.name] = wrong
        return differing

    async def needs(self, inst: Installation) -> list[str]:
        return [
            f"set {name}{_configs(wrong)}"
            for name, wrong in sorted((await self._differing(inst)).items())
        ]

    async def apply(self, inst: Installation) -> None:
        for name, wrong in sorted((await self._differing(inst)).items()):
            await set_topic_configs(inst.settings, name, wrong)
            inst.say(f"configured topic {name}{_configs(wrong)}")

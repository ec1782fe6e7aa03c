"""hw.config: the history topic holds every live entry, and every record is written
with the current ``config_record`` schema version.

``hw.config.history`` (what ``replay --flows recorded`` reads) came after the first
installations: their entries from before it are on ``hw.config`` only, and a process
killed between the two writes of ``ConfigPublisher.publish`` leaves one out too.

A record on the compacted ``hw.config`` stays as it was written until its entity
changes again, so a record written with an older ``config_record`` version stays
forever, and every later release would have to keep reading that version. Rewriting
those records in the current version lets a release drop a version from
``schemas/history/`` once every installation has migrated past it.
"""

from __future__ import annotations

from collections import Counter

from headwater.agents.migrations.base import Installation, Step
from headwater.agents.replay import read_config_history
from headwater.core.config import ConfigEntry
from headwater.schemas import CONFIG_RECORD, schema_family
from headwater.streams.config_log import decode_entry, encode_entry
from headwater.streams.topic_reader import read_topic
from headwater.streams.topics import Topics

__all__ = ["RecordConfigHistory", "RewriteOldConfigRecords"]

READ_TIMEOUT = 60.0


class RecordConfigHistory(Step):
    id = "config-history"
    description = "copy live hw.config entries hw.config.history lacks into it"

    async def _missing(self, inst: Installation) -> list[ConfigEntry]:
        recorded = {
            (e.key, e.version) for e in await read_config_history(inst.settings, inst.codec)
        }
        return [e for e in inst.config.entries() if (e.key, e.version) not in recorded]

    async def needs(self, inst: Installation) -> list[str]:
        kinds = Counter(e.kind for e in await self._missing(inst))
        return [f"record {n} {kind} entries on the config history" for kind, n in kinds.items()]

    async def apply(self, inst: Installation) -> None:
        topic = Topics(inst.settings.topic_prefix).config_history
        missing = await self._missing(inst)
        for entry in sorted(missing, key=lambda e: e.updated_at):
            await inst.producer.send(topic, encode_entry(inst.codec, entry), entry.key.encode())
        inst.say(f"recorded {len(missing)} entries on {topic}")


class RewriteOldConfigRecords(Step):
    id = "config-records"
    description = "write hw.config records made with an older config_record version anew"

    async def _old(self, inst: Installation) -> list[ConfigEntry]:
        current = schema_family(CONFIG_RECORD)[-1].fingerprint
        topic = Topics(inst.settings.topic_prefix).config
        latest: dict[str, bytes | None] = {}
        for key, value in await read_topic(
            inst.settings, topic, lambda r: (r.key, r.value), timeout=READ_TIMEOUT
        ):
            if key is not None:
                latest[key.decode()] = value
        old = []
        for key, value in latest.items():
            live = inst.config.get(key)
            if value is None or live is None or value[2:10] == current:
                continue
            if decode_entry(inst.codec, value).version == live.version:
                old.append(live)
        return old

    async def needs(self, inst: Installation) -> list[str]:
        kinds = Counter(e.kind for e in await self._old(inst))
        return [
            f"rewrite {n} {kind} entries written with an older config_record version"
            for kind, n in kinds.items()
        ]

    async def apply(self, inst: Installation) -> None:
        topic = Topics(inst.settings.topic_prefix).config
        old = await self._old(inst)
        for entry in old:
            # the same version of the same entity in the current encoding: readers see
            # no change, and compaction keeps this record instead of the old one
            await inst.producer.send(topic, encode_entry(inst.codec, entry), entry.key.encode())
        inst.say(f"rewrote {len(old)} config records")

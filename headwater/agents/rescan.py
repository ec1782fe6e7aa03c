"""``headwater merge --rescan``: find duplicates among existing profiles.

After merge keys change (a new key, a wider normal form), profiles stored before the
change never claimed the new identifiers. The rescan pages through the profile
documents in search (``search_after``, so any number of them) and sends each profile
still in its own right a ``reclaim`` operation. Its profile agent claims every
identifier again under the current merge settings, and the identity agent merges
duplicates through the same path as live claims: one writer per profile, survivor by
the same rule, refusals recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from headwater.core.ports.search import SearchStore
from headwater.core.profile_ops import op
from headwater.core.tenancy import ENVIRONMENTS, profiles_alias
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.kafka import AckedProducer
from headwater.streams.pipeline_records import PipelineRecords
from headwater.streams.topics import Topics

__all__ = ["RescanReport", "rescan", "run_rescan"]

log = logging.getLogger(__name__)

PAGE = 500


@dataclass
class RescanReport:
    profiles: int = 0
    reclaimed: int = 0


async def rescan(
    settings: Settings,
    store: SearchStore,
    producer: AckedProducer,
    targets: list[tuple[str, str]],
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> RescanReport:
    records = PipelineRecords(AvroCodec.default(), Topics(settings.topic_prefix))
    report = RescanReport()
    totals = {t: await store.count(profiles_alias(settings.index_prefix, *t)) for t in targets}
    total = sum(totals.values())
    for tenant, env in targets:
        alias = profiles_alias(settings.index_prefix, tenant, env)
        after: list[object] | None = None
        while True:
            page = await store.search(alias, size=PAGE, sort=[{"id": "asc"}], search_after=after)
            hits = page["hits"]["hits"]
            if not hits:
                break
            for hit in hits:
                report.profiles += 1
                document = hit["_source"]
                if document.get("merged_into"):
                    continue
                reclaim = records.op(op("reclaim", tenant, env, document["id"]))
                await producer.send(reclaim.topic, reclaim.value, reclaim.key)
                report.reclaimed += 1
            after = hits[-1]["sort"]
            progress(report.profiles, total)
    progress(report.profiles, total)
    return report


async def run_rescan(
    settings: Settings,
    tenant: str | None,
    env: str | None,
    *,
    progress: Callable[[int, int], None] = lambda done, total: None,
    node_class: object = None,
) -> RescanReport:
    from headwater.adapters.search import connect_search
    from headwater.streams.config_log import ConfigLog

    codec = AvroCodec.default()
    store = await connect_search(settings, node_class=node_class)
    producer = AckedProducer(settings)
    try:
        await producer.start(wait=settings.config_wait)
        if tenant is None:
            config = ConfigLog(settings, codec)
            await config.start(wait=settings.config_wait)
            tenants = sorted({e.id for e in config.entries("tenant")})
            await config.stop()
        else:
            tenants = [tenant]
        targets = [(t, e) for t in tenants for e in (ENVIRONMENTS if env is None else (env,))]
        return await rescan(settings, store, producer, targets, progress)
    finally:
        await producer.stop()
        await store.close()

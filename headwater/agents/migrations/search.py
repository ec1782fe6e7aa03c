"""Search: the index templates this release puts (what ``init`` puts), and indices made
with an older template, rebuilt by a replay into the next index generation.

A template only shapes indices made after it was put: the live generation keeps the
mappings it was made with (a field added to a template is not searchable in it). So
``search-templates`` puts the templates and makes what is missing, and
``search-reindex`` finds the live indices whose mappings differ from their template
and replays the tenant and environment into the next generation as a job (the replay
moves the aliases when it has caught up; collection goes on meanwhile).
"""

from __future__ import annotations

from typing import Any

from headwater.adapters.search.provision import provision_events
from headwater.adapters.search.templates import (
    events_template,
    merges_template,
    profiles_template,
    sessions_template,
)
from headwater.agents.migrations.base import Installation, Step
from headwater.core.jobs import Job, new_job
from headwater.core.tenancy import (
    events_alias,
    generation_index,
    merges_alias,
    profiles_alias,
    sessions_alias,
)
from headwater.errors import HeadwaterError
from headwater.streams.jobs_log import JobsPublisher, read_jobs

__all__ = ["ReindexSearch", "SearchTemplates", "normalised", "wanted_templates"]


def wanted_templates(inst: Installation, tenant: str, env: str) -> dict[str, dict[str, Any]]:
    """alias -> the index template this release puts for it."""
    settings, engine = inst.settings, inst.store.engine
    sizes = {"shards": settings.index_shards, "replicas": settings.index_replicas}
    prefix = settings.index_prefix
    found = {
        events_alias(prefix, tenant, env): events_template(
            prefix=prefix, tenant=tenant, env=env, engine=engine, **sizes
        )
    }
    for alias, build in (
        (profiles_alias(prefix, tenant, env), profiles_template),
        (sessions_alias(prefix, tenant, env), sessions_template),
        (merges_alias(prefix, tenant, env), merges_template),
    ):
        found[alias] = build(alias=alias, engine=engine, **sizes)
    return found


def normalised(value: Any) -> Any:
    """A template or mapping as the engines give it back: leaves as strings, settings
    without their ``index.`` level."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flat(settings: dict[str, Any], at: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in settings.items():
        name = f"{at}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        else:
            out[name.removeprefix("index.")] = normalised(value)
    return out


def _same_template(stored: dict[str, Any], wanted: dict[str, Any]) -> bool:
    body, want = stored.get("template", {}), wanted["template"]
    return (
        normalised(stored.get("index_patterns")) == normalised(wanted["index_patterns"])
        and normalised(stored.get("priority")) == normalised(wanted["priority"])
        and normalised(body.get("mappings", {})) == normalised(want["mappings"])
        and _flat(body.get("settings", {})) == _flat(want["settings"])
    )


class SearchTemplates(Step):
    id = "search-templates"
    description = "put the index templates of this release; make missing indices and aliases"

    async def needs(self, inst: Installation) -> list[str]:
        lines = []
        for tenant, env in inst.contexts():
            for alias, wanted in wanted_templates(inst, tenant, env).items():
                stored = await inst.store.get_index_template(alias)
                if stored is None:
                    lines.append(f"put template {alias} (missing)")
                elif not _same_template(stored, wanted):
                    lines.append(f"put template {alias} (changed in this release)")
                if not await inst.store.get_alias(alias):
                    lines.append(f"make the indices behind alias {alias} (missing)")
        return lines

    async def apply(self, inst: Installation) -> None:
        for tenant, env in inst.contexts():
            for alias, wanted in wanted_templates(inst, tenant, env).items():
                await inst.store.put_index_template(alias, wanted)
            generation = inst.config.index_generation(tenant, env)
            await provision_events(inst.store, inst.settings, tenant, env, generation=generation)
            merges = merges_alias(inst.settings.index_prefix, tenant, env)
            await inst.store.ensure_index(generation_index(merges), merges)
            inst.say(f"templates and indices of {tenant}/{env} are this release's")


class ReindexSearch(Step):
    id = "search-reindex"
    description = (
        "replay tenants whose live indices were made with an older template into the "
        "next index generation (a job)"
    )

    async def _stale(self, inst: Installation, tenant: str, env: str) -> list[str]:
        """Live event, profile and session indices whose mappings are not their
        template's (the merge log is never rebuilt: its template only shapes new ones)."""
        stale = []
        templates = wanted_templates(inst, tenant, env)
        prefix = inst.settings.index_prefix
        for alias in (
            events_alias(prefix, tenant, env),
            profiles_alias(prefix, tenant, env),
            sessions_alias(prefix, tenant, env),
        ):
            want = normalised(templates[alias]["template"]["mappings"])
            if not await inst.store.get_alias(alias):
                continue  # nothing live yet: search-templates makes it with this template
            for index, mappings in sorted((await inst.store.get_mappings(alias)).items()):
                if normalised(mappings) != want:
                    stale.append(index)
        return stale

    async def needs(self, inst: Installation) -> list[str]:
        lines = []
        for tenant, env in inst.contexts():
            stale = await self._stale(inst, tenant, env)
            if stale:
                nxt = inst.config.index_generation(tenant, env) + 1
                lines.append(
                    f"replay {tenant}/{env} into generation {nxt}: {', '.join(stale)} "
                    "made with an older template"
                )
        return lines

    async def apply(self, inst: Installation) -> None:
        for tenant, env in inst.contexts():
            if await self._stale(inst, tenant, env):
                job = await self._job(inst, tenant, env)
                inst.say(f"replay of {tenant}/{env}: job {job.id}")
                if inst.follow_job is None:
                    raise HeadwaterError("a replay job needs someone to follow it")
                await inst.follow_job(job.id)

    async def _job(self, inst: Installation, tenant: str, env: str) -> Job:
        """The replay job of this tenant, environment and generation: the one asked for
        before (a run killed while it followed it) unless that one failed or was
        cancelled; then a new attempt."""
        generation = inst.config.index_generation(tenant, env)
        base = f"migrate-reindex-{tenant}-{env}-{generation}"
        book = await read_jobs(inst.settings, inst.codec)
        tries = [j for j in book.jobs() if j.id.startswith(base + "-")]
        for job in tries:
            if not job.final:
                return job
        job = new_job(
            "replay",
            {"tenant": tenant, "env": env, "follow_seconds": inst.settings.migrate_replay_follow},
            requested_by="headwater migrate",
            tenant=tenant,
            env=env,
            job_id=f"{base}-{len(tries) + 1}",
        )
        await JobsPublisher(inst.settings, inst.producer, inst.codec).publish(job)
        return job

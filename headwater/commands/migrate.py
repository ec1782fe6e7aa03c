"""``headwater migrate plan | apply | status`` (agents/migrations) and ``headwater jobs
list | show | cancel`` (agents/jobs.py): what the operator sees of both."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any

from headwater.agents import migrations
from headwater.commands.progress import progress_reporter
from headwater.core.jobs import Job
from headwater.errors import Conflict, NotFound
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.jobs_log import JobsPublisher, follow_job, read_jobs
from headwater.streams.kafka import AckedProducer

__all__ = ["cancel_job", "job_summary", "migrate", "show_jobs"]


def _say(line: str) -> None:
    print(line, file=sys.stderr)


async def _follow(settings: Settings, job_id: str) -> Job:
    """Follow a job to its end with a progress bar on a terminal (a log line else)."""
    with progress_reporter(f"job {job_id}", unit="msg") as progress:

        def seen(job: Job) -> None:
            progress(job.done, max(job.total, job.done))

        return await follow_job(settings, job_id, seen)


async def migrate(settings: Settings, action: str) -> dict[str, Any]:
    async def follow(job_id: str) -> None:
        job = await _follow(settings, job_id)
        if job.state != "done":
            reason = "; ".join(job.errors[-3:]) or job.state
            raise migrations.MigrationFailed(f"job {job_id} {job.state}: {reason}")

    async with migrations.open_installation(settings, say=_say, follow_job=follow) as inst:
        if action == "plan":
            return {"needed": [asdict(step) for step in await migrations.plan(inst)]}
        if action == "status":
            return {"steps": [asdict(step) for step in await migrations.status(inst)]}
        with progress_reporter("migrate", unit="step") as progress:

            async def reached(done: int, total: int, step: str) -> None:
                progress(done, total)

            applied = await migrations.apply(inst, reached=reached)
        return {"applied": applied, "needed": [asdict(s) for s in await migrations.plan(inst)]}


def job_summary(job: Job) -> dict[str, Any]:
    found = asdict(job)
    for stamp in ("requested_at", "updated_at"):
        found[stamp] = found[stamp].isoformat()
    found["errors"] = list(job.errors)
    return found


async def show_jobs(settings: Settings, job_id: str | None, follow: bool) -> Any:
    if job_id is None:
        return [job_summary(j) for j in (await read_jobs(settings)).jobs()]
    if follow:
        return job_summary(await _follow(settings, job_id))
    job = (await read_jobs(settings)).get(job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job_summary(job)


async def cancel_job(settings: Settings, job_id: str) -> dict[str, Any]:
    codec = AvroCodec.default()
    job = (await read_jobs(settings, codec)).get(job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.final:
        raise Conflict(f"job {job_id} has ended already ({job.state})")
    producer = AckedProducer(settings)
    await producer.start(wait=settings.config_wait)
    try:
        await JobsPublisher(settings, producer, codec).publish(job, cancel=True)
    finally:
        await producer.stop()
    return {"id": job_id, "cancel_requested": True}


def print_json(value: Any) -> None:
    print(json.dumps(value, default=str))

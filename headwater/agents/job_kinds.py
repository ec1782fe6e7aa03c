"""What the job kinds of ``core.jobs.JOB_KINDS`` run on a worker (``agents/jobs.py``)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from headwater.agents.jobs import PROGRESS_EVERY, JobCancelled, JobContext
from headwater.agents.replay import ReplayPlan, run_replay
from headwater.settings import Settings
from headwater.streams.jobs_log import follow_job

__all__ = ["run_migration", "run_replay_job"]


async def _watch(ctx: JobContext, work: asyncio.Task[Any], note: dict[str, int]) -> Any:
    """Wait for ``work``, writing its progress (``note``) and cancelling it when the
    job is cancelled."""
    while not work.done():
        await asyncio.wait({work}, timeout=PROGRESS_EVERY)
        await ctx.progress(note["done"], note["total"])
        if ctx.cancelled and not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            raise JobCancelled(f"job {ctx.job.id} was cancelled")
    return work.result()


async def run_replay_job(settings: Settings, ctx: JobContext) -> dict[str, Any]:
    """A replay (agents/replay.py). Its fold is held in memory, so a worker that takes
    the job over starts it again from the beginning of the log; what the first attempt
    wrote into the next generation is written again, idempotently."""
    params = ctx.job.params
    since = params.get("since")
    plan = ReplayPlan(
        tenant=params.get("tenant"),
        env=params.get("env"),
        since=datetime.fromisoformat(since) if since else None,
        follow_seconds=float(params.get("follow_seconds", 10.0)),
        flows=params.get("flows", "now"),
        state=bool(params.get("state", True)),
    )
    await ctx.save({"started": ctx.job.attempts})
    note = {"done": 0, "total": 0}

    def progress(done: int, total: int) -> None:
        note.update(done=done, total=total)

    work = asyncio.create_task(run_replay(settings, plan, progress=progress))
    report = await _watch(ctx, work, note)
    await ctx.progress(report.messages, report.messages, events=report.events)
    return {
        "messages": report.messages,
        "events": report.events,
        "generations": report.generations,
        "dead_lettered": report.dead_lettered,
        "rebuild": report.rebuild,
        "switched": {str(p): answer for p, answer in report.switched.items()},
    }


async def run_migration(settings: Settings, ctx: JobContext) -> dict[str, Any]:
    """``migrate apply`` as a job: every needed step in order. A worker that takes it
    over runs apply again: steps done are not needed any more (migrations/__init__.py)."""
    from headwater.agents import migrations

    lines: list[str] = []

    async def follow(job_id: str) -> None:
        async def seen(job: Any) -> None:
            ctx.stop_if_cancelled()

        await follow_job(settings, job_id, seen)

    async def reached(done: int, total: int, step: str) -> None:
        ctx.stop_if_cancelled()
        await ctx.save({"step": step}, steps=done)
        await ctx.progress(done, total)

    async with migrations.open_installation(settings, say=lines.append, follow_job=follow) as inst:
        applied = await migrations.apply(inst, reached=reached)
    return {"applied": applied, "said": lines[-50:]}

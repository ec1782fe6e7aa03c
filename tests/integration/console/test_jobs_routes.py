"""``/jobs``: who may ask for which job, whose jobs a caller sees, progress and
cancellation of a job a worker runs (``agents/jobs.py``, in this process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY

from headwater.agents.jobs import JobContext, JobWorker
from headwater.core.jobs import JOB_KINDS, JobKind
from headwater.settings import Settings
from tests.integration.console.conftest import Api
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def slow_job(settings: Settings, ctx: JobContext) -> dict[str, Any]:
    """Counts to 1,000 in steps a test can watch, until it is cancelled."""
    start = int((ctx.checkpoint or {}).get("at", 0))
    for at in range(start, 1000):
        ctx.stop_if_cancelled()
        await ctx.progress(at, 1000, counted=at)
        if at % 10 == 0:
            await ctx.save({"at": at})
        await asyncio.sleep(0.05)
    return {"counted": 1000}


_SLOW = f"{__name__}:slow_job"


@pytest_asyncio.fixture(loop_scope="session")
async def worker(api: Api) -> AsyncIterator[JobWorker]:
    """A worker whose replay jobs run ``slow_job`` (the real replay is tested in e2e)."""
    settings = api.settings.model_copy(update={"worker_id": f"{api.settings.topic_prefix}-w"})
    kinds = {**JOB_KINDS, "replay": JobKind(JOB_KINDS["replay"].permission, False, _SLOW)}
    found = JobWorker(settings, kinds=kinds, name="test-worker")
    task = asyncio.create_task(found.run())
    try:
        yield found
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _get(api: Api, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    answer = await api.http.get(f"/jobs/{job_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_roles_contexts_and_tenants_of_jobs(api: Api) -> None:
    mine = await api.roles("jobs_a")
    await api.tenant("jobs_b")
    theirs = {"admin": await api.token("admin@jobs_b.example")}

    refused = await api.http.post("/jobs", headers=mine["marketer"], json={"kind": "replay"})
    assert refused.status_code == 403, refused.text
    unknown = await api.http.post("/jobs", headers=mine["admin"], json={"kind": "reindex"})
    assert unknown.status_code == 422 and "no job kind 'reindex'" in unknown.text
    smuggled = await api.http.post(
        "/jobs", headers=mine["admin"], json={"kind": "replay", "params": {"tenant": "jobs_b"}}
    )
    assert smuggled.status_code == 422 and "params.tenant" in smuggled.text
    bad = await api.http.post(
        "/jobs", headers=mine["admin"], json={"kind": "replay", "params": {"flows": "then"}}
    )
    assert bad.status_code == 422 and "params.flows" in bad.text
    not_here = await api.http.post("/jobs", headers=mine["admin"], json={"kind": "migration"})
    assert not_here.status_code == 403 and "installation's own tenant" in not_here.text

    asked = await api.http.post(
        "/jobs",
        headers={**mine["admin"], "x-context": "staging"},
        json={"kind": "replay", "params": {"follow_seconds": 0}},
    )
    assert asked.status_code == 202, asked.text
    job = asked.json()
    assert (job["tenant"], job["env"], job["state"]) == ("jobs_a", "staging", "requested")
    assert job["params"] == {
        "flows": "now",
        "follow_seconds": 0.0,
        "state": True,
        "tenant": "jobs_a",
        "env": "staging",
    }

    listed = await api.http.get("/jobs", headers=mine["marketer"])
    assert [j["id"] for j in listed.json()] == [job["id"]]
    assert (await api.http.get("/jobs", headers=theirs["admin"])).json() == []
    hidden = await api.http.get(f"/jobs/{job['id']}", headers=theirs["admin"])
    assert hidden.status_code == 404
    no_cancel = await api.http.post(f"/jobs/{job['id']}/cancel", headers=mine["developer"])
    assert no_cancel.status_code == 403
    cancelled = await api.http.post(f"/jobs/{job['id']}/cancel", headers=mine["admin"])
    assert cancelled.status_code == 202 and cancelled.json()["cancel_requested"]
    seen = await _get(api, mine["marketer"], job["id"])
    assert seen["cancel_requested"] is True


async def test_a_worker_runs_a_job_the_api_follows_and_cancels(api: Api, worker: JobWorker) -> None:
    await api.tenant("jobs_c")
    admin = await api.token("admin@jobs_c.example")
    asked = await api.http.post("/jobs", headers=admin, json={"kind": "replay"})
    assert asked.status_code == 202, asked.text
    job_id = asked.json()["id"]

    async def progressed() -> dict[str, Any] | None:
        job = await _get(api, admin, job_id)
        return job if job["state"] == "running" and job["done"] >= 20 else None

    running = await eventually(progressed, timeout=60, every=0.3)
    assert running["worker"] == "test-worker" and running["attempts"] == 1
    assert running["total"] == 1000 and running["counts"]["counted"] >= 1

    cancelled = await api.http.post(f"/jobs/{job_id}/cancel", headers=admin)
    assert cancelled.status_code == 202

    async def stopped() -> dict[str, Any] | None:
        job = await _get(api, admin, job_id)
        return job if job["state"] == "cancelled" else None

    ended = await eventually(stopped, timeout=30, every=0.3)
    assert ended["done"] < 1000
    again = await api.http.post(f"/jobs/{job_id}/cancel", headers=admin)
    assert again.status_code == 409
    assert job_id not in worker.running


async def _source(api: Api, admin: dict[str, str]) -> str:
    made = await api.http.post(
        "/sources", headers={**admin, "x-context": "production"}, json={"name": "import"}
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def test_an_import_job_reads_the_import_directory_only(api: Api, tmp_path: Any) -> None:
    """A data editor imports a file of the operator's import directory under a source of
    the caller's tenant; a path out of the directory and another tenant's source are
    refused."""
    await api.tenant("jobs_i")
    await api.tenant("jobs_j")
    admin = {**await api.token("admin@jobs_i.example"), "x-context": "production"}
    other = await api.token("admin@jobs_j.example")
    source, foreign = await _source(api, admin), await _source(api, other)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lines = [
        f'{{"profile": {{"id": "imp-{n}"}}, "events": [{{"id": "imp-e{n}", "type": "seen"}}]}}'
        for n in range(5)
    ]
    (inbox / "events.ndjson").write_text("\n".join([*lines, "{not json"]) + "\n")
    (tmp_path / "secret.ndjson").write_text(lines[0] + "\n")

    outside = await api.http.post(
        "/jobs",
        headers=admin,
        json={
            "kind": "import",
            "params": {"file": "../secret.ndjson", "format": "headwater", "source_id": source},
        },
    )
    assert outside.status_code == 422 and "params.file" in outside.text

    settings = api.settings.model_copy(
        update={"worker_id": f"{api.settings.topic_prefix}-wi", "import_dir": inbox}
    )
    runner = JobWorker(settings, name="import-worker")
    running = asyncio.create_task(runner.run())
    try:
        ids = []
        for source_id in (source, foreign):
            asked = await api.http.post(
                "/jobs",
                headers=admin,
                json={
                    "kind": "import",
                    "params": {
                        "file": "events.ndjson",
                        "format": "headwater",
                        "source_id": source_id,
                    },
                },
            )
            assert asked.status_code == 202, asked.text
            ids.append(asked.json()["id"])

        async def ended(job_id: str) -> dict[str, Any] | None:
            job = await _get(api, admin, job_id)
            return job if job["state"] in ("done", "failed", "cancelled") else None

        done = await eventually(lambda: ended(ids[0]), timeout=90, every=0.5)
        assert done["state"] == "done", done
        assert done["result"]["imported"] == 5 and done["result"]["rejected"] == 1
        progress = REGISTRY.get_sample_value("headwater_job_progress_ratio", {"job_kind": "import"})
        assert progress == 1.0
        refused = await eventually(lambda: ended(ids[1]), timeout=90, every=0.5)
        assert refused["state"] == "failed"
        assert any("not of tenant jobs_i" in error for error in refused["errors"]), refused
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

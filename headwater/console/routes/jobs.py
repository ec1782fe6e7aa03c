"""``/jobs``: ask for a job (a migration, a replay, an import), follow its progress,
counts and errors, cancel it. Workers run them (``headwater worker --agents jobs``).

Who may ask for a kind is ``core.jobs.JOB_KINDS``: admins for migrations and replays,
the roles with ``data:import`` for imports. A tenant's jobs are its own: they carry the
tenant and the context (``x-context``, production by default) of the caller, never
those of the body. Jobs about the whole installation (migrations) are seen and asked
for only by the admins of the installation's own tenant (``HEADWATER_DEFAULT_TENANT``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from headwater.console.auth import Scope, require
from headwater.console.context import DataContext
from headwater.console.params import only_known_query_params
from headwater.core.access import Permission, allowed
from headwater.core.jobs import JOB_KINDS, Job, new_job
from headwater.errors import Conflict, Forbidden, InvalidInput, NotFound
from headwater.streams.jobs_log import JobsPublisher, read_jobs

__all__ = ["router"]

router = APIRouter(prefix="/jobs", tags=["jobs"])
Read = Annotated[Scope, Depends(only_known_query_params(require(Permission.DATA_READ)))]
JobId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


class ReplayParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime | None = None
    flows: Literal["now", "recorded"] = "now"
    follow_seconds: float = Field(default=10.0, ge=0, le=600)
    state: bool = Field(
        default=True,
        description="from the beginning: rebuild the live workers' profile table too",
    )


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImportParams(BaseModel):
    """A file of the operator's import directory (``HEADWATER_IMPORT_DIR``), imported
    under an event source of the caller's tenant and context (docs/operations.md)."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
        description="path inside the import directory",
    )
    format: Literal["headwater", "segment", "csv"]
    source_id: str = Field(min_length=1, max_length=128)
    mapping: dict[str, Any] | None = Field(default=None, description="CSV column mapping")
    flows: bool = False
    max_events_per_second: float | None = Field(default=None, gt=0)

    @field_validator("file")
    @classmethod
    def _inside(cls, value: str) -> str:
        if any(part in ("", ".", "..") for part in value.split("/")):
            raise ValueError("must name a file inside the import directory, without . or ..")
        return value


# The parameters each kind takes; a kind not named here gets its params as sent.
PARAMS: dict[str, type[BaseModel]] = {
    "replay": ReplayParams,
    "migration": NoParams,
    "import": ImportParams,
}


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="migration, replay, import")
    params: dict[str, Any] = Field(default_factory=dict)


class JobOut(BaseModel):
    id: str
    kind: str
    tenant: str | None
    env: str | None
    state: str
    params: dict[str, Any]
    requested_by: str
    requested_at: datetime
    updated_at: datetime
    attempts: int
    worker: str | None
    done: int
    total: int
    counts: dict[str, int]
    errors: list[str]
    result: dict[str, Any] | None
    cancel_requested: bool

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            tenant=job.tenant,
            env=job.env,
            state=job.state,
            params=job.params,
            requested_by=job.requested_by,
            requested_at=job.requested_at,
            updated_at=job.updated_at,
            attempts=job.attempts,
            worker=job.worker,
            done=job.done,
            total=job.total,
            counts=job.counts,
            errors=list(job.errors),
            result=job.result,
            cancel_requested=job.cancel_requested,
        )


def _installation_admin(scope: Scope, permission: Permission) -> bool:
    default = scope.runtime.settings.default_tenant
    return scope.tenant == default and allowed(scope.principal.role, permission)


def _visible(scope: Scope, job: Job) -> bool:
    if job.tenant is not None:
        return job.tenant == scope.tenant
    kind = JOB_KINDS.get(job.kind)
    return kind is not None and _installation_admin(scope, kind.permission)


async def _job(scope: Scope, job_id: str) -> Job:
    job = (await read_jobs(scope.runtime.settings)).get(job_id)
    if job is None or not _visible(scope, job):
        raise NotFound(f"no job {job_id}")
    return job


def _publisher(scope: Scope) -> JobsPublisher:
    runtime = scope.runtime
    return JobsPublisher(runtime.settings, runtime.producer, runtime.publisher.codec)


@router.get("", response_model=list[JobOut], summary="Jobs of the tenant, latest first")
async def list_jobs(scope: Read) -> list[JobOut]:
    book = await read_jobs(scope.runtime.settings)
    return [JobOut.of(job) for job in book.jobs() if _visible(scope, job)]


@router.get("/{job_id}", response_model=JobOut, summary="One job: progress, counts, errors")
async def get_job(scope: Read, job_id: JobId) -> JobOut:
    return JobOut.of(await _job(scope, job_id))


@router.post(
    "",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask for a job; a worker runs it",
)
async def request_job(body: JobIn, scope: Read, context: DataContext) -> JobOut:
    kind = JOB_KINDS.get(body.kind)
    if kind is None:
        raise InvalidInput(f"no job kind {body.kind!r}; known: {sorted(JOB_KINDS)}", field="kind")
    if not allowed(scope.principal.role, kind.permission):
        raise Forbidden(f"role {scope.principal.role} may not {kind.permission}")
    if kind.installation and not _installation_admin(scope, kind.permission):
        raise Forbidden(f"{body.kind} jobs are for the admins of the installation's own tenant")
    params = body.params
    model = PARAMS.get(body.kind)
    if model is not None:
        try:
            params = model.model_validate(params).model_dump(mode="json", exclude_none=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in ("params", *first["loc"]))
            raise InvalidInput(f"{where}: {first['msg']}", field=where) from None
    if not kind.installation:
        params = {**params, "tenant": scope.tenant, "env": context}
    job = new_job(
        body.kind,
        params,
        requested_by=f"{scope.principal.via}:{scope.principal.subject}",
        tenant=None if kind.installation else scope.tenant,
        env=None if kind.installation else context,
    )
    await _publisher(scope).publish(job)
    return JobOut.of(job)


@router.post(
    "/{job_id}/cancel",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask the worker running a job to stop it",
)
async def cancel_job(scope: Read, job_id: JobId) -> JobOut:
    job = await _job(scope, job_id)
    kind = JOB_KINDS.get(job.kind)
    if kind is None or not allowed(scope.principal.role, kind.permission):
        raise Forbidden(f"role {scope.principal.role} may not cancel a {job.kind} job")
    if job.final:
        raise Conflict(f"job {job_id} has ended already ({job.state})")
    await _publisher(scope).publish(job, cancel=True)
    return JobOut.of(job.update(cancel_requested=True))

"""Jobs: long work (a migration step, a replay, an import) asked for once and run by a
worker, with its progress, counts, errors and a checkpoint to resume from.

Pure: the records as they travel on the jobs topic (``job_record.avsc``), the kinds of
job and who may ask for each, and how a topic's records fold into each job's state.
The worker side is ``agents/jobs.py``; the topic side ``streams/jobs_log.py``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from headwater.core.access import Permission
from headwater.core.ids import new_id
from headwater.core.records import JobRecord

__all__ = [
    "CANCEL_SUFFIX",
    "FINAL",
    "JOB_KINDS",
    "MAX_ERRORS",
    "Job",
    "JobBook",
    "JobKind",
    "JobState",
    "job_from_record",
    "job_partition",
    "job_record",
    "new_job",
]

JobState = Literal["requested", "running", "done", "failed", "cancelled"]
FINAL: frozenset[str] = frozenset({"done", "failed", "cancelled"})
CANCEL_SUFFIX = "/cancel"
MAX_ERRORS = 100  # the latest errors a job keeps; the counts keep how many there were


@dataclass(frozen=True)
class JobKind:
    """A kind of job: who may ask for it through the private API, whether it is about
    the whole installation (only the installation's own tenant's admins see it) or one
    tenant, and the ``module:function`` a worker runs (``agents/jobs.py`` resolves it,
    so this table stays pure data and one line registers a kind)."""

    permission: Permission
    installation: bool
    runner: str


# One line per kind.
JOB_KINDS: dict[str, JobKind] = {
    "import": JobKind(
        Permission.DATA_IMPORT, False, "headwater.commands.imports.job:run_import_job"
    ),
    "migration": JobKind(Permission.JOBS_RUN, True, "headwater.agents.job_kinds:run_migration"),
    "replay": JobKind(Permission.JOBS_RUN, False, "headwater.agents.job_kinds:run_replay_job"),
}


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    tenant: str | None
    env: str | None
    state: JobState
    params: dict[str, Any]
    requested_by: str
    requested_at: datetime
    updated_at: datetime
    attempts: int = 0
    worker: str | None = None
    done: int = 0
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    checkpoint: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    cancel_requested: bool = False  # from the job's '/cancel' record, never stored on it

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def update(self, **changes: Any) -> Job:
        """A later state of the job, stamped now."""
        return replace(self, updated_at=datetime.now(UTC), **changes)

    def with_error(self, message: str) -> Job:
        errors = (*self.errors, message)[-MAX_ERRORS:]
        counts = {**self.counts, "errors": self.counts.get("errors", 0) + 1}
        return self.update(errors=errors, counts=counts)


def new_job(
    kind: str,
    params: dict[str, Any],
    *,
    requested_by: str,
    tenant: str | None = None,
    env: str | None = None,
    job_id: str | None = None,
) -> Job:
    """A job asked for now. ``job_id`` lets a caller name it so asking twice (a command
    run again after a crash) finds the same job instead of starting a second one."""
    if kind not in JOB_KINDS:
        raise ValueError(f"no job kind {kind!r}; known: {sorted(JOB_KINDS)}")
    now = datetime.now(UTC)
    return Job(
        id=job_id or new_id(),
        kind=kind,
        tenant=tenant,
        env=env,
        state="requested",
        params=params,
        requested_by=requested_by,
        requested_at=now,
        updated_at=now,
    )


def job_partition(job_id: str, partitions: int) -> int:
    """The partition of a job and of its cancellation: the same for both, whatever
    the producer's partitioner, so the one worker that owns the job sees both."""
    return zlib.crc32(job_id.encode()) % partitions


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def job_record(job: Job, *, cancel: bool = False) -> tuple[bytes, JobRecord]:
    """The key and the ``job_record.avsc`` record of a job's state, or of a request to
    cancel it."""
    record: JobRecord = {
        "id": job.id,
        "kind": job.kind,
        "tenant": job.tenant,
        "env": job.env,
        "state": "cancel-requested" if cancel else job.state,
        "params": orjson.dumps(job.params).decode(),
        "requested_by": job.requested_by,
        "requested_at": _ms(job.requested_at),
        "updated_at": _ms(job.updated_at),
        "attempts": job.attempts,
        "worker": job.worker,
        "done": job.done,
        "total": job.total,
        "counts": dict(job.counts),
        "errors": list(job.errors),
        "checkpoint": None if job.checkpoint is None else orjson.dumps(job.checkpoint).decode(),
        "result": None if job.result is None else orjson.dumps(job.result).decode(),
    }
    key = job.id + (CANCEL_SUFFIX if cancel else "")
    return key.encode(), record


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def job_from_record(record: dict[str, Any]) -> Job:
    checkpoint, result = record.get("checkpoint"), record.get("result")
    return Job(
        id=record["id"],
        kind=record["kind"],
        tenant=record.get("tenant"),
        env=record.get("env"),
        state=record["state"],
        params=orjson.loads(record["params"]),
        requested_by=record["requested_by"],
        requested_at=_time(record["requested_at"]),
        updated_at=_time(record["updated_at"]),
        attempts=int(record.get("attempts", 0)),
        worker=record.get("worker"),
        done=int(record.get("done", 0)),
        total=int(record.get("total", 0)),
        counts={k: int(v) for k, v in (record.get("counts") or {}).items()},
        errors=tuple(record.get("errors") or ()),
        checkpoint=None if checkpoint is None else orjson.loads(checkpoint),
        result=None if result is None else orjson.loads(result),
    )


class JobBook:
    """Every job's latest state, folded from the jobs topic in log order. A compacted
    topic may hold a job's cancellation before its latest state (the state was written
    again later), so cancellations are kept apart and applied to whatever comes."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._cancelled: set[str] = set()

    def apply(self, key: str, record: dict[str, Any] | None) -> Job | None:
        """Apply one record; returns the job it changed, if any."""
        if key.endswith(CANCEL_SUFFIX):
            job_id = key[: -len(CANCEL_SUFFIX)]
            if record is None:
                self._cancelled.discard(job_id)
                return None
            self._cancelled.add(job_id)
            return self._jobs.get(job_id)
        if record is None:
            self._jobs.pop(key, None)
            return None
        self._jobs[key] = job_from_record(record)
        return self._jobs[key]

    def get(self, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        if job is not None and job_id in self._cancelled:
            return replace(job, cancel_requested=True)
        return job

    def jobs(self) -> list[Job]:
        """Every job, the latest asked for first."""
        found = [self.get(job_id) for job_id in self._jobs]
        return sorted((j for j in found if j is not None), key=lambda j: j.requested_at)[::-1]

"""``headwater import`` as a job (``core/jobs.py`` kind ``import``): asked for through
``POST /jobs`` by a tenant's data editors, run by ``headwater worker --agents jobs``.

The job reads a file from the operator's import directory (``HEADWATER_IMPORT_DIR``,
default ``<HEADWATER_DATA_DIR>/imports/inbox``) and records its events under an event
source of the job's own tenant and environment. Its checkpoint lives on the job record,
so the worker that takes a job over resumes it where the last one stopped. A Tracardi
import reaches out to another search engine with a password, which a job record must
not hold: it runs from the CLI (``headwater import tracardi``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from headwater.agents.jobs import JobCancelled, JobContext
from headwater.commands.imports.checkpoints import Checkpoint
from headwater.commands.imports.files import FileSpec
from headwater.commands.imports.run import (
    ImportOptions,
    ImportSummary,
    resolve_source,
    run_import,
)
from headwater.core.imports import CsvMapping
from headwater.errors import ConfigurationError, Forbidden
from headwater.settings import Settings

__all__ = ["JobCheckpoints", "import_directory", "run_import_job"]


def import_directory(settings: Settings) -> Path:
    """Where import jobs may read files from."""
    return settings.import_dir or settings.data_dir / "imports" / "inbox"


def _file_in(directory: Path, name: str) -> Path:
    """``name`` inside ``directory``, never outside it (no ``..``, no links out)."""
    base = directory.resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base) or path == base:
        raise Forbidden(f"{name!r} is not a file of the import directory")
    if not path.is_file():
        raise ConfigurationError(f"{name!r} is not in the import directory {base}")
    return path


class JobCheckpoints:
    """The import's checkpoint kept on its job record (the jobs topic), with the
    progress of the latest summary."""

    def __init__(self, ctx: JobContext) -> None:
        self._ctx = ctx
        self.latest: ImportSummary | None = None

    async def load(self, import_id: str) -> Checkpoint | None:
        saved = (self._ctx.checkpoint or {}).get("import")
        if not saved or saved.get("import_id") != import_id:
            return None
        return Checkpoint(**saved)

    async def save(self, checkpoint: Checkpoint) -> None:
        counts = {
            "read": checkpoint.read,
            "imported": checkpoint.imported,
            "events": checkpoint.events,
            "rejected": checkpoint.rejected,
        }
        await self._ctx.save({"import": asdict(checkpoint)})
        await self._ctx.progress(checkpoint.read, checkpoint.read, **counts)


async def run_import_job(settings: Settings, ctx: JobContext) -> dict[str, Any]:
    params = ctx.job.params
    source = await resolve_source(settings, params["source_id"], ctx.job.env)
    if source.tenant != ctx.job.tenant:  # the API names the tenant; never another's source
        raise Forbidden(f"event source {source.id} is not of tenant {ctx.job.tenant}")
    mapping = CsvMapping.model_validate(params["mapping"]) if params.get("mapping") else None
    spec = FileSpec(_file_in(import_directory(settings), params["file"]), params["format"], mapping)
    options = ImportOptions(
        source_id=source.id,
        env=ctx.job.env,
        flows=bool(params.get("flows", False)),
        max_events_per_second=params.get("max_events_per_second"),
    )
    checkpoints = JobCheckpoints(ctx)
    summary = await run_import(
        settings,
        spec,
        options,
        checkpoints=checkpoints,
        rejects_dir=settings.data_dir / "imports" / "rejects",
        cancelled=lambda: ctx.cancelled,
        source=source,
    )
    if summary.cancelled:
        raise JobCancelled(f"job {ctx.job.id} was cancelled")
    return summary.as_dict()

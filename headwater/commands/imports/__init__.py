"""``headwater import``: files and Tracardi installations into intake (run.py)."""

from headwater.commands.imports.checkpoints import Checkpoint, CheckpointStore, FileCheckpoints
from headwater.commands.imports.files import FORMATS, FileSpec
from headwater.commands.imports.run import (
    ImportOptions,
    ImportSpec,
    ImportSummary,
    Progress,
    resolve_source,
    run_import,
    spec_from_dict,
    spec_to_dict,
)
from headwater.commands.imports.tracardi_source import TracardiSpec

__all__ = [
    "FORMATS",
    "Checkpoint",
    "CheckpointStore",
    "FileCheckpoints",
    "FileSpec",
    "ImportOptions",
    "ImportSpec",
    "ImportSummary",
    "Progress",
    "TracardiSpec",
    "resolve_source",
    "run_import",
    "spec_from_dict",
    "spec_to_dict",
]

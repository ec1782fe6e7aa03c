"""Avro schemas of every record Headwater puts on a topic.

``<name>.avsc`` is the version writers use now. ``history/<name>/<n>.avsc`` keeps
every earlier published version, so readers can still decode messages written with
them and a test can prove each change is backward compatible.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

__all__ = ["SCHEMA_DIR", "SchemaVersion", "load_version", "schema_family", "schema_names"]

SCHEMA_DIR = Path(__file__).resolve().parent

INTAKE_BATCH = "intake_batch"
CONFIG_RECORD = "config_record"
DEAD_LETTER = "dead_letter"
PROCESSED_BATCH = "processed_batch"
PROFILE_SNAPSHOT = "profile_snapshot"
IDENTITY_CLAIM = "identity_claim"
PROFILE_OP = "profile_op"
MERGE_RECORD = "merge_record"
OUTBOUND_REQUEST = "outbound_request"
JOB_RECORD = "job_record"
PROFILE_REBUILD = "profile_rebuild"


@dataclass(frozen=True)
class SchemaVersion:
    """One version of one schema, parsed, with its CRC-64-AVRO fingerprint."""

    name: str
    version: int
    parsed: Any
    fingerprint: bytes
    raw: dict[str, Any]


def schema_names() -> list[str]:
    return sorted(p.stem for p in SCHEMA_DIR.glob("*.avsc"))


def load_version(name: str, version: int, path: Path) -> SchemaVersion:
    """One version of ``name`` from an ``.avsc`` file."""
    raw = json.loads(path.read_text())
    parsed = parse_schema(raw)
    canonical = to_parsing_canonical_form(parsed)
    fp = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
    return SchemaVersion(name=name, version=version, parsed=parsed, fingerprint=fp, raw=raw)


@cache
def schema_family(name: str) -> tuple[SchemaVersion, ...]:
    """Every known version of ``name``, oldest first; the last one is current."""
    current = SCHEMA_DIR / f"{name}.avsc"
    if not current.exists():
        raise KeyError(f"no schema named {name!r} in {SCHEMA_DIR}")
    history_dir = SCHEMA_DIR / "history" / name
    old = (
        sorted(history_dir.glob("*.avsc"), key=lambda p: int(p.stem))
        if history_dir.exists()
        else []
    )
    versions = [load_version(name, int(p.stem), p) for p in old]
    versions.append(load_version(name, len(old) + 1, current))
    return tuple(versions)

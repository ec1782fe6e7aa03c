"""``headwater import``: the command line around :func:`headwater.commands.imports.run_import`."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from headwater.core.imports import CsvMapping
from headwater.errors import ConfigurationError
from headwater.settings import Settings

__all__ = ["add_import_parser"]

_HELP = """\
Import events or profiles into intake, as if they had been collected: profiles,
identities, merges, segments and search come out as for collected events. Rules and flows
(and so their side effects: webhooks, emails, publishes) do not run for imported events
unless --flows is given.

FORMAT is one of:
  headwater  NDJSON: each line a /track body ({"profile","session","context","events"})
             or one event as Headwater stores it ({"id","type","profile":{"id"},
             "session":{"id"},"time":{"create"},"properties","context","options","tags"})
  segment    NDJSON: each line one Segment/RudderStack call ({"type":"track",...}) or a
             /v1/batch body ({"batch":[...]}); mapped exactly as /v1/batch maps them
  csv        CSV with a header row; columns mapped by --mapping FILE (JSON) or the
             --kind/--*-column options
  tracardi   a Tracardi installation's profile, session and event indices (--url)
Files may be gzip-compressed (told by their first bytes).

The import is idempotent and resumable: ids a record carries are kept, the others are
derived from the file's content and the record's line; a checkpoint (in
--checkpoint-dir) is written after Kafka acknowledged what it covers, so the same command
run again after a kill or Ctrl-C continues where it stopped, and run again after it
finished imports nothing (--restart sends everything again; repeats are dropped by event
id). Rejected records are written with their line and reason to the reject file and
listed in the JSON summary printed at the end.
"""


def add_import_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "import",
        help="import events or profiles from files or a Tracardi installation",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("format", choices=("headwater", "segment", "csv", "tracardi"))
    parser.add_argument("path", nargs="?", help="the file (not for tracardi)")
    parser.add_argument(
        "--source",
        required=True,
        help="id of the configured event source the records are recorded under (its "
        "tenant and environment are theirs)",
    )
    parser.add_argument("--env", choices=("production", "staging"), help="of the source")
    parser.add_argument(
        "--flows", action="store_true", help="run rules and flows (and their side effects)"
    )
    parser.add_argument(
        "--max-events-per-second",
        type=float,
        help="cap the import's rate so live collection is not starved (default: no cap)",
    )
    parser.add_argument(
        "--checkpoint-dir",
        help="where checkpoints and reject files go (default DATA_DIR/imports)",
    )
    parser.add_argument("--rejects", help="the reject file (default: in --checkpoint-dir)")
    parser.add_argument(
        "--restart", action="store_true", help="ignore the checkpoint; send everything again"
    )
    csv_group = parser.add_argument_group("csv")
    csv_group.add_argument("--mapping", help="a JSON file with the column mapping")
    csv_group.add_argument(
        "--kind",
        choices=("profiles", "events"),
        help="each row a profile (its traits) or an event (default events)",
    )
    for name, what in (
        ("profile-id", "the profile id"),
        ("event-id", "the event id (default: derived from the line)"),
        ("session-id", "the session id"),
        ("event-type", "the event type (events)"),
        ("time", "the event time, ISO 8601 or epoch"),
    ):
        csv_group.add_argument(f"--{name}-column", help=f"column with {what}")
    csv_group.add_argument("--type", help="a fixed event type for every row (events)")
    csv_group.add_argument(
        "--columns",
        help="comma-separated columns that become properties (events) or traits "
        "(profiles); default: every column not named by another option",
    )
    csv_group.add_argument(
        "--identity",
        help="profiles: email=COLUMN,phone=COLUMN,customer_id=COLUMN,first_name=...,"
        "last_name=... (identity fields the merge keys use)",
    )
    tracardi = parser.add_argument_group("tracardi")
    tracardi.add_argument("--url", help="Tracardi's Elasticsearch/OpenSearch URL")
    tracardi.add_argument(
        "--index-prefix", default="", help="what its index names start with before tracardi-"
    )
    tracardi.add_argument("--since", help="events inserted at or after this ISO 8601 time")
    tracardi.add_argument("--until", help="events inserted before this ISO 8601 time")
    tracardi.add_argument("--username", help="for the search engine (password: TRACARDI_PASSWORD)")
    parser.set_defaults(run=run_import_command)


def _pairs(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ConfigurationError("--identity takes FIELD=COLUMN pairs, comma-separated")
    return {k.strip(): v.strip() for k, v in pairs}


def _mapping(args: argparse.Namespace) -> CsvMapping:
    if args.mapping:
        try:
            data = orjson.loads(Path(args.mapping).read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"--mapping {args.mapping}: {exc}") from None
    else:
        columns = [c.strip() for c in (args.columns or "").split(",") if c.strip()] or None
        kind = args.kind or "events"
        named = {c: c for c in columns} if columns is not None else None
        data = {
            "kind": kind,
            "profile_id": args.profile_id_column,
            "event_id": args.event_id_column,
            "session_id": args.session_id_column,
            "event_type": args.event_type_column,
            "type": args.type,
            "time": args.time_column,
            "identity": _pairs(args.identity),
            ("traits" if kind == "profiles" else "properties"): named,
        }
    try:
        return CsvMapping.model_validate(data)
    except ValueError as exc:
        raise ConfigurationError(f"column mapping: {exc}") from None


def _spec(args: argparse.Namespace) -> Any:
    import os

    from headwater.commands.imports import FileSpec, TracardiSpec

    if args.format == "tracardi":
        if not args.url:
            raise ConfigurationError("a Tracardi import needs --url")
        return TracardiSpec(
            url=args.url,
            index_prefix=args.index_prefix,
            since=datetime.fromisoformat(args.since) if args.since else None,
            until=datetime.fromisoformat(args.until) if args.until else None,
            username=args.username,
            password=os.environ.get("TRACARDI_PASSWORD"),
        )
    if not args.path:
        raise ConfigurationError(f"a {args.format} import needs the file's path")
    mapping = _mapping(args) if args.format == "csv" else None
    return FileSpec(Path(args.path), args.format, mapping)


def run_import_command(args: argparse.Namespace, settings: Settings) -> int:
    from headwater.commands.imports import (
        FileCheckpoints,
        ImportOptions,
        ImportSummary,
        run_import,
    )
    from headwater.commands.progress import progress_reporter

    spec = _spec(args)
    options = ImportOptions(
        source_id=args.source,
        env=args.env,
        flows=args.flows,
        max_events_per_second=args.max_events_per_second,
        restart=args.restart,
        rejects=Path(args.rejects) if args.rejects else None,
    )
    store = FileCheckpoints(
        Path(args.checkpoint_dir) if args.checkpoint_dir else settings.data_dir / "imports"
    )
    stop = {"asked": False}

    def ask_stop(*_: object) -> None:
        stop["asked"] = True

    async def main(report: Any) -> ImportSummary:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, ask_stop)
        return await run_import(
            settings,
            spec,
            options,
            checkpoints=store,
            rejects_dir=store.directory,
            progress=lambda s: report(s.read, s.read),
            cancelled=lambda: stop["asked"],
        )

    with progress_reporter("import", unit="record") as report:
        summary = asyncio.run(main(report))
    print(json.dumps(summary.as_dict()))
    if not summary.complete:
        print("headwater import: stopped; run the same command to resume", file=sys.stderr)
        return 1
    return 0

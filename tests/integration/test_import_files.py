"""``headwater import`` of files on the real broker: exact counts on the intake topic for
100,000 NDJSON events and 10,000 CSV profiles, the same import again adds nothing, an
import SIGKILLed halfway and run again is exact (rejects included, once), and bad records
are reported with their line and reason.

What is counted: the import's summary, and the intake topic read back to its end
offsets (every record decoded: record count, event ids, profile ids). What the workers
make of the records is checked in tests/e2e/test_import_worker.py on a smaller import.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from headwater.commands.imports import FileSpec
from headwater.commands.init import run_init
from headwater.core.imports import CsvMapping
from headwater.core.records import json_object
from headwater.settings import Settings
from tests.support.imports import event_ids, import_into, intake_count, intake_records
from tests.support.processes import worker_env

pytestmark = pytest.mark.integration

EVENTS = 100_000
PROFILES = 10_000


async def _source(settings: Settings) -> str:
    return (await run_init(settings)).sources[settings.env]


def _event_lines(path: Path, count: int, *, bad: dict[int, bytes] | None = None) -> None:
    """``count`` events of 2,000 profiles, one per line (no event ids: derived), gzip;
    ``bad``: line number -> a line that must be rejected instead."""
    with gzip.open(path, "wb", compresslevel=1) as out:
        for line in range(1, count + 1):
            if bad and line in bad:
                out.write(bad[line] + b"\n")
                continue
            event = {
                "type": "page-view",
                "profile": {"id": f"p{line % 2000}"},
                "session": {"id": f"s{line % 5000}"},
                "time": {"create": f"2026-01-01T00:{(line // 60) % 60:02d}:{line % 60:02d}Z"},
                "properties": {"n": line},
            }
            out.write(orjson.dumps(event) + b"\n")


def _json_lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


@pytest.mark.asyncio(loop_scope="session")
async def test_100k_ndjson_events_exact_and_again_adds_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    source = await _source(settings)
    path = tmp_path / "events.ndjson.gz"
    _event_lines(path, EVENTS)
    spec = FileSpec(path, "headwater")

    summary = await import_into(settings, spec, source, tmp_path / "state")
    assert (summary.read, summary.imported, summary.events) == (EVENTS, EVENTS, EVENTS)
    assert (summary.rejected, summary.skipped, summary.complete) == (0, 0, True)
    records = await intake_records(settings)
    ids = event_ids(records)
    assert len(records) == EVENTS and len(set(ids)) == EVENTS
    assert len({r["profile_id"] for r in records}) == 2000
    assert all(json_object(r["context"])["import"]["flows"] is False for r in records)

    again = await import_into(settings, spec, source, tmp_path / "state")
    assert (again.skipped, again.complete, again.imported) == (EVENTS, True, EVENTS)
    assert await intake_count(settings) == EVENTS  # nothing sent again
    # Sent again from scratch (--restart), the records are the very same, which the
    # agents drop by event id: tests/e2e/test_import_worker.py


@pytest.mark.asyncio(loop_scope="session")
async def test_10k_csv_profiles_exact(settings: Settings, tmp_path: Path) -> None:
    source = await _source(settings)
    path = tmp_path / "profiles.csv"
    with path.open("w") as out:
        out.write("customer,email,plan,age,updated\n")
        for n in range(PROFILES):
            out.write(f"c{n},c{n}@example.com,{'gold' if n % 3 else 'free'},{20 + n % 50},")
            out.write(f"2026-02-01T10:00:{n % 60:02d}Z\n")
    mapping = CsvMapping(
        kind="profiles",
        profile_id="customer",
        time="updated",
        identity={"email": "email"},
        types={"age": "int"},
    )
    summary = await import_into(settings, FileSpec(path, "csv", mapping), source, tmp_path / "s")
    assert (summary.read, summary.imported, summary.rejected) == (PROFILES, PROFILES, 0)
    records = await intake_records(settings)
    assert len(records) == PROFILES
    assert {r["profile_id"] for r in records} == {f"c{n}" for n in range(PROFILES)}
    by_profile = {r["profile_id"]: r["events"][0] for r in records}
    sample = by_profile["c7"]
    assert sample["type"] == "profile-update"
    assert json_object(sample["properties"]) == {
        "email": "c7@example.com",
        "traits": {"plan": "gold", "age": 27},
    }


@pytest.mark.asyncio(loop_scope="session")
async def test_bad_records_reported_with_line_and_reason(
    settings: Settings, tmp_path: Path
) -> None:
    source = await _source(settings)
    path = tmp_path / "mixed.ndjson"
    lines = [
        b'{"type":"purchase","profile":{"id":"a"},"properties":{"total":3}}',
        b"{not json",
        b'{"profile":{"id":"a"}}',
        b'{"type":"x","profile":{"id":"bad id with spaces"}}',
        b"",
        b'{"type":"big","profile":{"id":"a"},"properties":{"blob":"' + b"x" * 40_000 + b'"}}',
        b"[1, 2]",
        b'{"type":"ok","id":"e-6","profile":{"id":"a"}}',
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = await import_into(settings, FileSpec(path, "headwater"), source, tmp_path / "s")
    assert (summary.read, summary.imported, summary.rejected) == (7, 2, 5)
    reasons = {r["where"]: r["reason"] for r in summary.rejects}
    assert set(reasons) == {"line 2", "line 3", "line 4", "line 6", "line 7"}
    assert reasons["line 2"].startswith("invalid JSON")
    assert "neither events" in reasons["line 3"]
    assert reasons["line 4"].startswith("events[0]") is False and "profile.id" in reasons["line 4"]
    assert "over the 32768-byte limit" in reasons["line 6"]
    assert "must be a JSON object" in reasons["line 7"]
    in_file = _json_lines(Path(summary.rejects_file or ""))
    assert [r["where"] for r in in_file] == ["line 2", "line 3", "line 4", "line 6", "line 7"]
    assert in_file[0]["record"] == "{not json"

    csv_path = tmp_path / "rows.csv"
    csv_path.write_text("who,kind,age\nu1,buy,3\nu2,,4\nu3,buy,old\nu4,buy,5,extra\n")
    mapping = CsvMapping(profile_id="who", event_type="kind", types={"age": "int"})
    rows = await import_into(settings, FileSpec(csv_path, "csv", mapping), source, tmp_path / "c")
    assert (rows.imported, rows.rejected) == (1, 3)
    assert [(r["where"], r["reason"]) for r in rows.rejects] == [
        ("line 3", "column kind is empty"),
        ("line 4", "column age: 'old' is not int"),
        ("line 5", "the row has more cells than the header has columns"),
    ]


@pytest.mark.asyncio(loop_scope="session")
async def test_import_killed_halfway_resumes_exactly(settings: Settings, tmp_path: Path) -> None:
    source = await _source(settings)
    count = 40_000
    bad = {n: b"{broken" for n in (5, 20_000, 39_999)}
    path = tmp_path / "events.ndjson.gz"
    _event_lines(path, count, bad=bad)
    state = tmp_path / "state"
    command = [sys.executable, "-m", "headwater", "import", "headwater", str(path)]
    command += ["--source", source, "--checkpoint-dir", str(state)]
    command += ["--max-events-per-second", "8000"]  # slow enough to be killed halfway
    env = {**worker_env(settings), "PYTHONPATH": os.getcwd()}
    log = tmp_path / "import.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        checkpoint = None
        async with asyncio.timeout(60):
            while checkpoint is None or _json_lines(checkpoint)[0]["read"] < count // 3:
                await asyncio.sleep(0.1)
                assert process.returncode is None, log.read_text()
                found = list(state.glob("*.checkpoint.json"))
                checkpoint = found[0] if found else None
        process.send_signal(signal.SIGKILL)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    stopped_at = _json_lines(checkpoint)[0]
    assert 0 < stopped_at["read"] < count and not stopped_at["done"]

    summary = await import_into(settings, FileSpec(path, "headwater"), source, state)
    assert summary.skipped == stopped_at["read"]
    assert (summary.read, summary.imported, summary.rejected) == (count, count - 3, 3)
    assert [r["where"] for r in summary.rejects] == ["line 5", "line 20000", "line 39999"]
    records = await intake_records(settings)
    ids = set(event_ids(records))
    assert len(ids) == count - 3  # every event, whatever was sent twice around the kill
    assert len(records) >= count - 3


@pytest.mark.asyncio(loop_scope="session")
async def test_segment_calls_cancelled_resumed_and_throttled(
    settings: Settings, tmp_path: Path
) -> None:
    source = await _source(settings)
    path = tmp_path / "calls.ndjson"
    calls = [
        {"type": "track", "event": "Viewed", "userId": f"u{n % 50}", "messageId": f"m-{n}"}
        for n in range(3000)
    ]
    calls[10] = {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}, "messageId": "i"}
    path.write_bytes(b"\n".join(orjson.dumps(c) for c in calls))
    asked = iter(range(10**6))  # cancelled (a job's cancel, Ctrl-C) at the 1,001st record
    stopped = await import_into(
        settings, FileSpec(path, "segment"), source, tmp_path / "s",
        cancelled=lambda: next(asked) >= 1000,
    )  # fmt: skip
    assert (stopped.cancelled, stopped.complete, stopped.read) == (True, False, 1000)
    summary = await import_into(
        settings, FileSpec(path, "segment"), source, tmp_path / "s", max_events_per_second=2000
    )
    assert (summary.imported, summary.events, summary.rejected) == (3000, 3000, 0)
    assert (summary.skipped, summary.complete) == (1000, True)
    assert summary.seconds >= 0.95  # 2,000 events at 2,000/s: the last sent after 1 s
    records = await intake_records(settings)
    assert all(r["channel"] == "segment" for r in records)
    assert len(set(event_ids(records))) == 3000

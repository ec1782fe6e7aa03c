"""The reject file follows the checkpoint: reopened, it is cut back to the length the
checkpoint recorded, so what a killed run wrote after its last checkpoint (and the
resumed run writes again) is listed once; checkpoints are replaced whole."""

from __future__ import annotations

from pathlib import Path

from headwater.commands.imports import Checkpoint, FileCheckpoints
from headwater.commands.imports.rejects import RejectFile, first_rejects


def test_reopened_at_the_checkpoint_the_later_rejects_go(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson"
    rejects = RejectFile(path, 0)
    rejects.add("line 2", "invalid JSON", "{x")
    kept = rejects.flush()  # the checkpoint records this length
    rejects.add("line 9", "bad", None)  # written, then the process was killed
    rejects.flush()
    rejects.close()

    resumed = RejectFile(path, kept)
    resumed.add("line 9", "bad", None)
    resumed.flush()
    resumed.close()
    assert [(r["where"], r["reason"]) for r in first_rejects(path, 10)] == [
        ("line 2", "invalid JSON"),
        ("line 9", "bad"),
    ]
    assert first_rejects(path, 10)[0]["record"] == "{x"


async def test_checkpoints_round_trip_and_replace_whole(tmp_path: Path) -> None:
    store = FileCheckpoints(tmp_path / "c")
    assert await store.load("i") is None
    checkpoint = Checkpoint("i", 5, {"line": 7}, read=7, imported=6, rejected=1)
    await store.save(checkpoint)
    checkpoint.read = 9
    await store.save(checkpoint)
    assert await store.load("i") == checkpoint
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["i.checkpoint.json"]

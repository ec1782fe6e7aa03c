"""The worker's state store: state directory slots."""

from __future__ import annotations

from pathlib import Path

from headwater.streams.store import claim_state_dir, release_state_dirs


def test_each_claim_gets_its_own_directory(tmp_path: Path):
    try:
        first = claim_state_dir(tmp_path)
        second = claim_state_dir(tmp_path)
    finally:
        release_state_dirs()

    assert first != second
    assert {first.name, second.name} == {"slot-0", "slot-1"}

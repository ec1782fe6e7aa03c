"""The data directory of ``up``: state built from a log that is gone is dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.commands.local_state import EMBEDDED_BROKER, forget_state_of_lost_log, lock_data_dir
from headwater.errors import ConfigurationError
from headwater.streams.store import claim_state_dir, release_state_dirs


def worker_state(data_dir: Path) -> Path:
    table = data_dir / "worker" / "headwater-worker" / "slot-0" / "v1" / "tables" / "p.db"
    table.parent.mkdir(parents=True)
    table.write_text("state")
    return table


@pytest.mark.parametrize("broker", [EMBEDDED_BROKER, "kafka-1:9092"])
def test_state_of_the_embedded_brokers_log_is_dropped(tmp_path: Path, broker: str) -> None:
    forget_state_of_lost_log(tmp_path, EMBEDDED_BROKER)
    table = worker_state(tmp_path)
    assert forget_state_of_lost_log(tmp_path, broker) is True
    assert not table.exists()


def test_state_of_the_same_real_broker_is_kept(tmp_path: Path) -> None:
    forget_state_of_lost_log(tmp_path, "kafka-1:9092")
    table = worker_state(tmp_path)
    assert forget_state_of_lost_log(tmp_path, "kafka-1:9092") is False
    assert table.read_text() == "state"


def test_state_of_another_real_broker_is_dropped(tmp_path: Path) -> None:
    forget_state_of_lost_log(tmp_path, "kafka-1:9092")
    table = worker_state(tmp_path)
    assert forget_state_of_lost_log(tmp_path, "kafka-2:9092") is True
    assert not table.exists()


def test_state_a_running_worker_holds_is_not_deleted(tmp_path: Path) -> None:
    table = worker_state(tmp_path)
    claim_state_dir(tmp_path / "worker" / "headwater-worker")  # takes slot-0, as a worker
    try:
        with pytest.raises(ConfigurationError, match="used by a running worker"):
            forget_state_of_lost_log(tmp_path, EMBEDDED_BROKER)
    finally:
        release_state_dirs()
    assert table.exists()


def test_one_up_per_data_dir(tmp_path: Path) -> None:
    held = lock_data_dir(tmp_path)
    with pytest.raises(ConfigurationError, match="another running `headwater up`"):
        lock_data_dir(tmp_path)
    held.close()
    lock_data_dir(tmp_path).close()

"""The worker's consumer delivers a stream partition only after seeking it to the
committed offset; changelog partitions (table recovery) resume at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faust.types import TP

from headwater.agents.worker import build_worker_app
from headwater.settings import load_settings
from headwater.streams.seek_first import SeekFirstConsumer
from headwater.streams.store import release_state_dirs


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    settings = load_settings(
        kafka="127.0.0.1:9", data_dir=tmp_path, worker_store="memory", topic_prefix="x"
    )
    app = build_worker_app(settings, ["profile"])
    try:
        yield app
    finally:
        release_state_dirs()
        if app._consumer is not None:  # it made its fetching thread's own event loop
            app._consumer._thread.thread_loop.close()


def test_the_worker_consumes_with_the_seek_first_consumer(app: Any) -> None:
    assert isinstance(app.consumer, SeekFirstConsumer)


def test_a_resumed_stream_partition_waits_for_the_seek(app: Any) -> None:
    consumer = app.consumer
    stream, changelog = TP("x.intake", 0), TP(f"{app.conf.id}-profiles-changelog", 0)
    consumer.pause_partitions({stream, changelog})

    consumer.resume_partitions({stream, changelog})

    assert changelog in consumer._get_active_partitions()  # recovery reads it now
    assert stream not in consumer._get_active_partitions()
    assert consumer.held == {stream}


def test_pausing_a_held_partition_forgets_it(app: Any) -> None:
    consumer = app.consumer
    stream = TP("x.intake", 1)
    consumer.resume_partitions({stream})
    consumer.pause_partitions({stream})
    assert consumer.held == set()

"""Starting the real ``headwater`` processes in tests."""

from __future__ import annotations

import sys
from pathlib import Path

from headwater.commands.embedded import ManagedProcess, start_process
from headwater.settings import Settings


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "HEADWATER_KAFKA": settings.kafka_servers,
        "HEADWATER_SEARCH": ",".join(settings.search_hosts),
        "HEADWATER_TOPIC_PREFIX": settings.topic_prefix,
        "HEADWATER_INDEX_PREFIX": settings.index_prefix,
        "HEADWATER_PARTITIONS": str(settings.partitions),
        "HEADWATER_WORKER_ID": f"{settings.topic_prefix}-worker",
        "HEADWATER_DATA_DIR": str(settings.data_dir),
        # on only for Tansu, which misreports end offsets of multi-record batches: see Settings
        "HEADWATER_WORKER_SINGLE_RECORD_BATCHES": _flag(settings.worker_single_record_batches),
        "PATH": "/usr/bin:/bin",
        # tests run many processes on one host: metrics listeners only where asked for
        "HEADWATER_COLLECTOR_METRICS_PORT": "0",
        "HEADWATER_WORKER_METRICS_PORT": "0",
        **extra,
    }


def _flag(value: bool) -> str:
    return "true" if value else "false"


def start_worker(settings: Settings, log: Path, **extra: str) -> ManagedProcess:
    return start_process(
        "worker",
        [sys.executable, "-m", "headwater", "worker"],
        log_path=log,
        env=worker_env(settings, **extra),
    )


def start_collector(settings: Settings, log: Path, port: int, **extra: str) -> ManagedProcess:
    """``headwater collector`` on ``port``; wait for ``/health/ready`` before using it."""
    return start_process(
        "collector",
        [sys.executable, "-m", "headwater", "collector", "--port", str(port)],
        log_path=log,
        env=worker_env(settings, **extra),
    )


def start_bridge(
    settings: Settings, kind: str, log: Path, port: int, **extra: str
) -> ManagedProcess:
    """``headwater bridge KIND`` with its health endpoint on ``port``."""
    return start_process(
        f"{kind}-bridge",
        [sys.executable, "-m", "headwater", "bridge", kind, "--port", str(port)],
        log_path=log,
        env=worker_env(settings, **extra),
    )

"""``up``'s readiness comes from this run's processes, never from an earlier run's log."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from headwater.commands.embedded import ManagedProcess, start_process
from headwater.commands.stack import wait_log_line
from headwater.errors import ConfigurationError

PREVIOUS_RUN = "[2026-12-06 10:00:00,000] [42] [INFO] [^Worker]: Ready\n"


@contextmanager
def child(log: Path, code: str) -> Iterator[ManagedProcess]:
    process = start_process("worker", [sys.executable, "-c", code], log_path=log)
    try:
        yield process
    finally:
        process.kill()


def test_a_previous_runs_ready_line_does_not_make_this_run_ready(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text(PREVIOUS_RUN)
    with (
        child(log, "import time; time.sleep(30)") as silent,
        pytest.raises(ConfigurationError, match="not ready"),
    ):
        wait_log_line(silent, "Ready", 1.0)


def test_this_runs_ready_line_makes_it_ready(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text(PREVIOUS_RUN)
    code = "import time; time.sleep(0.3); print('[^Worker]: Ready', flush=True); time.sleep(30)"
    with child(log, code) as ready:
        wait_log_line(ready, "Ready", 20)
        assert ready.log_text() == "[^Worker]: Ready\n"


def test_a_child_that_exits_early_says_why(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text(PREVIOUS_RUN)
    code = "import sys; print('OSError: address already in use'); sys.exit(3)"
    with child(log, code) as failing, pytest.raises(ConfigurationError) as raised:
        wait_log_line(failing, "Ready", 20)
    assert "worker exited early (3): OSError: address already in use" in str(raised.value)

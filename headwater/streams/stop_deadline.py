"""A process that has begun to stop ends within a deadline, whatever hangs.

Faust can hang while it stops: when the broker goes away as a worker starts, an agent
restarts "on rebalance" during the shutdown and the process lives on, consuming nothing,
so no supervisor restarts it. Once stopping begins, :class:`StopDeadline` gives the
graceful path ``seconds`` to finish and then ends the process with ``exit_code``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

__all__ = ["StopDeadline"]

log = logging.getLogger(__name__)


class StopDeadline:
    def __init__(
        self,
        seconds: float,
        *,
        exit_code: int = 70,  # EX_SOFTWARE: a supervisor restarts it
        exit: Callable[[int], object] = os._exit,
    ) -> None:
        self._seconds = seconds
        self._exit_code = exit_code
        self._exit = exit
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def arm(self, why: str) -> None:
        """Start counting (once; later calls change nothing)."""
        with self._lock:
            if self._timer is not None:
                return
            self._timer = threading.Timer(self._seconds, self._expire, args=(why,))
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()

    def _expire(self, why: str) -> None:
        log.critical(
            "still running %.0fs after it began to stop (%s): exiting with code %d",
            self._seconds,
            why,
            self._exit_code,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        self._exit(self._exit_code)

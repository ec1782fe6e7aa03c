"""Progress of a long job: a bar on a terminal, a log line now and then otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

__all__ = ["progress_reporter"]

log = logging.getLogger(__name__)


@contextmanager
def progress_reporter(
    what: str, *, unit: str = "it", every: float = 5.0
) -> Iterator[Callable[[int, int], None]]:
    """Yields ``report(done, total)``; totals may grow while the job runs."""
    if sys.stderr.isatty():
        bar = tqdm(desc=what, unit=unit, total=0, file=sys.stderr)

        def report_bar(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            yield report_bar
        finally:
            bar.close()
        return

    last = 0.0

    def report_log(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= every or done >= total:
            last = now
            log.info("%s: %d of %d %s", what, done, total, unit)

    yield report_log

"""StopDeadline: a process that began to stop ends within the deadline."""

from __future__ import annotations

import threading

from headwater.streams.stop_deadline import StopDeadline


def test_the_process_is_ended_with_the_exit_code_once_the_deadline_passes() -> None:
    ended = threading.Event()
    codes: list[int] = []

    def end(code: int) -> None:
        codes.append(code)
        ended.set()

    deadline = StopDeadline(0.05, exit=end)
    assert not deadline.armed
    deadline.arm("stop")
    deadline.arm("crash: again")  # counted once
    assert ended.wait(2.0)
    assert codes == [70]


def test_nothing_ends_before_it_is_armed_or_after_it_is_cancelled() -> None:
    codes: list[int] = []
    idle = StopDeadline(0.01, exit=codes.append)
    cancelled = StopDeadline(0.05, exit=codes.append)
    cancelled.arm("stop")
    cancelled.cancel()
    threading.Event().wait(0.2)
    assert codes == []
    assert not idle.armed and cancelled.armed

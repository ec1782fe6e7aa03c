"""The replay hands a partition's intake and operations on in record-time order, and
holds a record while the other topic may still have an earlier one."""

from __future__ import annotations

from headwater.agents.replay_order import Interleave
from headwater.streams.deadletter import SourceMessage


def message(topic: str, partition: int, offset: int) -> SourceMessage:
    return SourceMessage(topic, partition, offset, None, f"{topic}{offset}".encode())


def names(messages: list[SourceMessage]) -> list[str]:
    return [m.value.decode() for m in messages]


def test_record_time_decides_and_intake_goes_first_on_a_tie() -> None:
    order = Interleave("in", "ops")
    for offset, stamp in enumerate((10, 20, 30)):
        order.add(message("in", 0, offset), stamp)
    order.add(message("ops", 0, 0), 20)  # the absorb after the batch that caused it
    order.add(message("ops", 0, 1), 25)
    assert names(order.release(lambda topic, partition: True)) == [
        "in0",
        "in1",
        "ops0",
        "ops1",
        "in2",
    ]
    assert len(order) == 0


def test_a_record_waits_while_the_other_topic_is_not_read_to_its_end() -> None:
    order = Interleave("in", "ops")
    order.add(message("ops", 0, 0), 50)
    order.add(message("in", 1, 0), 5)
    # partition 0's intake may still hold an earlier batch; partition 1's ops is empty
    assert names(order.release(lambda topic, partition: partition == 1)) == ["in0"]
    assert len(order) == 1
    order.add(message("in", 0, 0), 40)
    order.add(message("in", 0, 1), 60)
    assert names(order.release(lambda topic, partition: False)) == ["in0", "ops0"]
    assert names(order.drain()) == ["in1"]

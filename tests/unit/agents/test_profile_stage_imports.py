"""Imported batches in the profile stage: with flows off (the import's default) no rule
runs a flow and nothing goes to the outbound topic, while segments still change and the
events they inject carry the import's mark (so what they trigger runs no flow either);
with flows on, the same batch requests its side effect."""

from __future__ import annotations

from headwater.core.automation import Automation
from headwater.core.imports import ImportTarget, headwater_line_batches, import_id_for
from headwater.core.intake import IntakeLimits
from headwater.core.records import json_object
from headwater.core.segments import Segment
from headwater.core.sources import EventSource
from headwater.schemas import INTAKE_BATCH
from headwater.streams.deadletter import SourceMessage
from tests.support.intake import intake_source_message
from tests.unit.agents.test_profile_stage_cuts import CODEC, SETTINGS, TOPICS
from tests.unit.agents.test_profile_stage_failures import Harness
from tests.unit.core.test_automation import FLOW, RULE

SOURCE = EventSource(id="src", tenant="default", env="production")
AUTOMATION = Automation(
    (RULE,), {"tag": FLOW}, segments=(Segment("buyers", "profile.stats.visits >= 0"),)
)


def imported(flows: bool) -> tuple[Harness, SourceMessage]:
    target = ImportTarget(
        SOURCE, IntakeLimits(32_768, 512_000), import_id_for(SOURCE, "t", "x"), 1, flows
    )
    line = {"type": "purchase", "profile": {"id": "imp-1"}, "time": {"create": 1_700_000_000_000}}
    [accepted] = headwater_line_batches(line, target, "line/1")
    harness = Harness(automation_for=lambda tenant, env, at: AUTOMATION)
    return harness, intake_source_message(SETTINGS, accepted, 0)


async def test_flows_off_requests_nothing_but_segments_change_and_keep_the_mark() -> None:
    harness, message = imported(flows=False)
    await harness.stage.handle([message])
    topics = [topic for topic, _, _ in harness.sent]
    assert TOPICS.outbound not in topics
    [injected] = [CODEC.decode(INTAKE_BATCH, v) for t, _, v in harness.sent if t == TOPICS.intake]
    assert [e["type"] for e in injected["events"]] == ["segment-entered"]
    assert json_object(injected["context"])["import"]["flows"] is False


async def test_flows_on_requests_the_side_effect() -> None:
    harness, message = imported(flows=True)
    await harness.stage.handle([message])
    assert TOPICS.outbound in [topic for topic, _, _ in harness.sent]

"""The pure workflow engine alone: rule matching plus a 5-node flow per event, and
segment evaluation, on one core, no Kafka.

    python -m bench.flows [--events 20000]

Prints runs per second for each stage and one JSON line ("traced": every node's input
and output copied into the trace, as debug runs do; the agent need not). This is the
engine's ceiling; the profile agent's events/s with and without flows (issue 7) needs
the agent wiring.
"""

from __future__ import annotations

import argparse
import json
import time

from headwater.core.flows import Flow, Rule, builtin_registry, run_flow, triggered_rules
from headwater.core.profiles import Profile
from headwater.core.segments import Segment, segment_changes

NOW = 1_764_400_000_000
FIVE_NODES = {
    "id": "bench",
    "nodes": [
        {"id": "start", "action": "start"},
        {"id": "big", "action": "if", "config": {"condition": "payload.total > 50"}},
        {"id": "tier", "action": "update-traits", "config": {"traits": {"tier": "gold"}}},
        {"id": "count", "action": "increment-counter", "config": {"counter": "orders"}},
        {"id": "hook", "action": "webhook", "config": {"url": "http://crm.local/hook"}},
    ],
    "edges": [
        {"from": "start", "to": "big"},
        {"from": "big:true", "to": "tier"},
        {"from": "tier", "to": "count"},
        {"from": "big:false", "to": "count"},
        {"from": "count", "to": "hook"},
    ],
}
RULES = [
    Rule("purchase", "bench", "purchase", condition='profile.traits.plan != "blocked"'),
    Rule("other", "bench", "sign-up"),
]
SEGMENTS = [
    Segment("buyers", "profile.data.counters.orders >= 1"),
    Segment("gold", 'profile.traits.tier = "gold" and profile.stats.visits > 0'),
    Segment("recent", "profile.metadata.time.last_visit > now - 7d"),
]


def per_second(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()

    registry = builtin_registry()
    flow = Flow.from_dict(FIVE_NODES)
    profile = Profile.new("acme", "production", "p1")
    profile.traits = {"plan": "pro"}
    profile.visits = profile.events = 1
    profile.last_seen = NOW
    document = profile.snapshot()
    events = [
        {"id": f"e{i}", "type": "purchase", "properties": {"total": i % 100}}
        for i in range(args.events)
    ]

    started = time.perf_counter()
    matched = 0
    for event in events:
        scope = {"event": event, "profile": document, "session": {}}
        matched += len(
            triggered_rules(RULES, event_type="purchase", source_id="web", scope=scope, now_ms=NOW)
        )
    rules_s = time.perf_counter() - started

    started = time.perf_counter()
    for event in events:
        run_flow(flow, registry, event=event, profile=document, session={}, now_ms=NOW)
    traced_s = time.perf_counter() - started

    started = time.perf_counter()
    requests = 0
    results = []
    for event in events:
        result = run_flow(
            flow,
            registry,
            event=event,
            profile=document,
            session={},
            now_ms=NOW,
            trace_payloads=False,
        )
        requests += len(result.requests)
        results.append(result.profile)
    flows_s = time.perf_counter() - started

    started = time.perf_counter()
    entered = 0
    for new in results:
        entered += len(segment_changes(document, new, SEGMENTS, NOW).entered)
    segments_s = time.perf_counter() - started

    report = {
        "events": args.events,
        "rule_matches_per_s": per_second(args.events, rules_s),
        "five_node_flows_per_s": per_second(args.events, flows_s),
        "five_node_flows_traced_per_s": per_second(args.events, traced_s),
        "segment_evaluations_per_s": per_second(args.events, segments_s),
        "rules_matched": matched,
        "outbound_requests": requests,
        "segments_entered": entered,
    }
    for key, value in report.items():
        print(f"{key:28} {value}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()

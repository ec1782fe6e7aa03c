"""``paths_of``: every path a condition reads (the API checks a rule's roots with it)."""

from __future__ import annotations

from headwater.core.conditions import parse, paths_of


def test_every_path_in_order_through_logic_and_negation() -> None:
    condition = parse(
        'event.type = "x" and not (payload.total > 3 or "vip" in profile.segments) '
        "and session.id exists"
    )

    found = [p.text for p in paths_of(condition)]

    assert found == ["event.type", "payload.total", "profile.segments", "session.id"]

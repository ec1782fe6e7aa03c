"""Merging one profile into another (pure): per-field strategies, counters once.

The survivor takes the absorbed profile's counters (summed), time span (widened),
ids, segments, sessions and the values of its free-form fields (``traits``, ``data``,
``consents``, ``interests``). Each field is merged by the strategy configured for its
path, or the default:

- ``last_update`` (default): the value updated last by event time (``field_times``);
- ``first_update``: the value set first;
- ``sum`` / ``max`` / ``min``: for numbers on both sides (otherwise ``last_update``);
- ``union``: for lists, the survivor's items then the absorbed one's new items
  (otherwise ``last_update``: a string never becomes a list);
- ``keep_survivor``: the survivor's value when it has one.
"""

from __future__ import annotations

from typing import Any

from headwater.core.identity import MergeSettings
from headwater.core.profiles import RECENT_EVENT_IDS, Profile
from headwater.core.sessions import KEEP_SESSIONS

__all__ = ["STRATEGIES", "merge_profiles"]

STRATEGIES = ("last_update", "first_update", "sum", "max", "min", "union", "keep_survivor")
_ROOTS = ("traits", "data", "consents", "interests")
_NEVER = -(2**62)


def merge_profiles(survivor: Profile, absorbed: Profile, settings: MergeSettings) -> None:
    """Fold ``absorbed`` into ``survivor`` (in place). The caller makes sure this runs
    once per pair (``survivor.absorbed`` remembers every profile merged in)."""
    survivor.events += absorbed.events
    survivor.visits += absorbed.visits
    for kind, count in absorbed.by_type.items():
        survivor.by_type[kind] = survivor.by_type.get(kind, 0) + count
    survivor.first_seen = _pick(min, survivor.first_seen, absorbed.first_seen)
    survivor.last_seen = _pick(max, survivor.last_seen, absorbed.last_seen)
    survivor.ids += [i for i in absorbed.ids if i not in survivor.ids]
    survivor.identifiers += [i for i in absorbed.identifiers if i not in survivor.identifiers]
    survivor.segments += [s for s in absorbed.segments if s not in survivor.segments]
    sessions = sorted(survivor.sessions + absorbed.sessions, key=lambda s: s.last)
    survivor.sessions = sessions[-KEEP_SESSIONS:]
    survivor.recent = (absorbed.recent + survivor.recent)[-RECENT_EVENT_IDS * 16 :]
    survivor.absorbed += [absorbed.id, *absorbed.absorbed]
    survivor.merges += 1 + absorbed.merges
    for root in _ROOTS:
        for path, value in _leaves(getattr(absorbed, root), root):
            _merge_field(survivor, absorbed, path, value, settings)
    survivor.version += 1


def _pick(choose: Any, mine: int | None, theirs: int | None) -> int | None:
    if mine is None:
        return theirs
    if theirs is None:
        return mine
    return int(choose(mine, theirs))


def _leaves(node: dict[str, Any], prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in node.items():
        path = f"{prefix}.{key}"
        if isinstance(value, dict) and value:
            out.extend(_leaves(value, path))
        else:
            out.append((path, value))
    return out


def _merge_field(
    survivor: Profile, absorbed: Profile, path: str, theirs: Any, settings: MergeSettings
) -> None:
    strategy = settings.strategies.get(path, settings.default_strategy)
    root, *rest = path.split(".")
    container = getattr(survivor, root)
    for part in rest[:-1]:
        nxt = container.get(part)
        if not isinstance(nxt, dict):
            nxt = container[part] = {}
        container = nxt
    leaf = rest[-1]
    their_time = absorbed.field_times.get(path, _NEVER)
    if leaf not in container:
        container[leaf] = theirs
        if their_time != _NEVER:
            survivor.field_times[path] = their_time
        return
    mine = container[leaf]
    my_time = survivor.field_times.get(path, _NEVER)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (mine, theirs))
    if strategy == "sum" and numbers:
        container[leaf] = mine + theirs
    elif strategy == "max" and numbers:
        container[leaf] = max(mine, theirs)
    elif strategy == "min" and numbers:
        container[leaf] = min(mine, theirs)
    elif strategy == "union" and isinstance(mine, list) and isinstance(theirs, list):
        container[leaf] = mine + [v for v in theirs if v not in mine]
    elif strategy == "keep_survivor":
        return
    elif strategy == "first_update":
        if their_time < my_time:
            container[leaf] = theirs
            survivor.field_times[path] = their_time
        return
    elif their_time > my_time:  # last_update, and the fallback of the others
        container[leaf] = theirs
        survivor.field_times[path] = their_time
        return
    else:
        return
    if max(my_time, their_time) != _NEVER:
        survivor.field_times[path] = max(my_time, their_time)

"""Keeping a flow's profile changes: the runner returns a profile document; the profile
agent copies the parts flows may change back into its ``Profile`` state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.core.profiles import Profile

__all__ = ["apply_profile_document", "changed_paths"]

_OBJECT_ROOTS = ("traits", "data", "consents", "interests")


def changed_paths(old: Any, new: Any, prefix: str) -> list[str]:
    """Leaf paths (dotted, under ``prefix``) whose value differs between two documents;
    an object that appears or disappears counts as each of its leaves."""
    if isinstance(new, Mapping) and old is None:
        old = {}
    if isinstance(old, Mapping) and new is None:
        new = {}
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        paths: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            paths += changed_paths(old.get(key), new.get(key), f"{prefix}.{key}")
        return paths
    same = type(old) is type(new) and old == new
    return [] if same else [prefix]


def apply_profile_document(
    profile: Profile, document: Mapping[str, Any], time_ms: int
) -> list[str]:
    """Copy traits, data, consents, interests and segments from a flow's result into
    ``profile`` and stamp every changed leaf with the event time in ``field_times`` (what
    "last update wins" merging reads). Returns the changed paths; empty: nothing to do
    (the caller then need not bump the profile version)."""
    changed: list[str] = []
    for root in _OBJECT_ROOTS:
        new = document.get(root)
        if not isinstance(new, dict):
            continue
        paths = changed_paths(getattr(profile, root), new, root)
        if paths:
            setattr(profile, root, new)
            changed += paths
    segments = document.get("segments")
    if isinstance(segments, list) and segments != profile.segments:
        profile.segments = [str(s) for s in segments]
        changed.append("segments")
    for path in changed:
        profile.field_times[path] = max(time_ms, profile.field_times.get(path, time_ms))
    return changed

"""Operations on one profile, applied by its single writer (pure).

Merges never touch two profiles at once. The identity agent asks the absorbed profile
to ``absorb`` itself into the survivor; that profile becomes an alias and sends its
whole state to the survivor as ``merge-in``; the survivor folds it in once
(``Profile.absorbed`` remembers every profile merged in). Profiles the absorbed one had
absorbed earlier are told to ``repoint`` to the survivor, so chains collapse
(A -> B, then B -> C: A points at C). ``reclaim`` asks a profile to claim its
identifiers again (after merge keys change: ``headwater merge --rescan``). ``forget``
(right to be forgotten) deletes the profile's state, releases its identifiers and
forgets the profiles merged into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from headwater.core.identity import MergeSettings, claims_of
from headwater.core.merging import merge_profiles
from headwater.core.profiles import Profile
from headwater.core.records import ProfileOp
from headwater.errors import SchemaError

__all__ = ["OpOutcome", "apply_op", "claims_to_send", "op", "unique_keys"]


def op(
    kind: str, tenant: str, env: str, target: str, other: str | None = None, **extra: Any
) -> ProfileOp:
    """A profile operation record (schema ``profile_op``)."""
    return {
        "op": kind,
        "id": f"{kind}:{target}:{other or ''}",
        "tenant": tenant,
        "env": env,
        "profile_id": target,
        "other": other,
        "state": extra.get("state"),
    }


@dataclass
class OpOutcome:
    changed: bool = False  # the profile changed: write it and send a snapshot
    ops: list[ProfileOp] = field(default_factory=list)  # operations for other profiles
    reclaim: bool = False  # claim every identifier again
    forget: bool = False  # right to be forgotten: delete the state, release identifiers
    note: str = ""  # why nothing happened, for the log


def apply_op(profile: Profile, record: ProfileOp, settings: MergeSettings) -> OpOutcome:
    kind, other = record["op"], record["other"]
    tenant, env = profile.tenant, profile.env
    if kind == "absorb":
        if profile.merged_into is not None:
            return OpOutcome(note=f"already merged into {profile.merged_into}")
        if other is None or other == profile.id or other in profile.absorbed:
            return OpOutcome(note=f"absorbing into {other} would make a cycle")
        state = profile.dumps()
        profile.merged_into = other
        profile.version += 1
        ops = [op("merge-in", tenant, env, other, profile.id, state=state)]
        ops += [op("repoint", tenant, env, alias, other) for alias in profile.absorbed]
        return OpOutcome(changed=True, ops=ops)
    if kind == "merge-in":
        if profile.merged_into is not None:  # merged away meanwhile: pass it on
            forwarded: ProfileOp = {**record, "profile_id": profile.merged_into}
            return OpOutcome(ops=[forwarded], note=f"forwarded to {profile.merged_into}")
        if other is None or other == profile.id or other in profile.absorbed:
            return OpOutcome(note=f"{other} merged in already")
        if record["state"] is None:
            raise SchemaError(f"merge-in of {other} carries no state")
        merge_profiles(profile, Profile.loads(record["state"]), settings)
        return OpOutcome(changed=True, reclaim=True)
    if kind == "repoint":
        if profile.merged_into is None or profile.merged_into == other or other is None:
            return OpOutcome(note="nothing to repoint")
        profile.merged_into = other
        profile.version += 1
        return OpOutcome(changed=True)
    if kind == "reclaim":
        return OpOutcome(reclaim=profile.merged_into is None)
    if kind == "forget":  # the profiles merged into this one go with it
        ops = [op("forget", tenant, env, alias) for alias in profile.absorbed]
        return OpOutcome(forget=True, ops=ops)
    return OpOutcome(note=f"unknown operation {kind!r}")


def claims_to_send(profile: Profile, settings: MergeSettings, *, force: bool = False) -> list[str]:
    """Identifiers to claim now: all of them when the set grew (or ``force``), else none.

    A profile keeps claiming what it inherited from the profiles it absorbed, so their
    identifiers move to it in the identity table. Every claim carries the profile's
    unique keys and absorbed ids, so sending all of them when any changes keeps the
    identity table's view of the profile current.
    """
    if profile.merged_into is not None:
        return []
    found = set(claims_of(profile.tenant, profile.snapshot(), settings))
    every = sorted(found | set(profile.identifiers))
    if not force and every == profile.identifiers:
        return []
    profile.identifiers = every
    return list(every)


def unique_keys(identifiers: list[str], settings: MergeSettings) -> dict[str, str]:
    """Unique key name -> identifier, among ``identifiers`` (``<key name>:<hash>``)."""
    unique = {key.name for key in settings.keys if key.unique}
    return {i.split(":", 1)[0]: i for i in identifiers if i.split(":", 1)[0] in unique}

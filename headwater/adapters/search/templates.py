"""Index templates. Free-form objects never add mapping fields: they are stored as
Elasticsearch ``flattened`` or OpenSearch ``flat_object``, chosen by engine."""

from __future__ import annotations

from typing import Any

from headwater.core.ports.search import Engine
from headwater.core.tenancy import events_alias

__all__ = [
    "events_template",
    "flat_type",
    "merges_template",
    "profiles_template",
    "sessions_template",
]

_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}
_LONG = {"type": "long"}


def flat_type(engine: Engine) -> str:
    return "flattened" if engine == "elasticsearch" else "flat_object"


def events_template(
    *, prefix: str, tenant: str, env: str, engine: Engine, shards: int, replicas: int
) -> dict[str, Any]:
    flat = {"type": flat_type(engine)}
    mappings = {
        "id": _KEYWORD,
        "type": _KEYWORD,
        "tenant": _KEYWORD,
        "env": _KEYWORD,
        "channel": _KEYWORD,
        "source": {"properties": {"id": _KEYWORD}},
        "profile": {"properties": {"id": _KEYWORD, "version": _LONG}},
        "session": {"properties": {"id": _KEYWORD}},
        "time": {"properties": {"create": _DATE, "insert": _DATE}},
        "properties": flat,
        "context": flat,
        "options": flat,
        "tags": _KEYWORD,
        "request": {"properties": {"ip": _KEYWORD, "user_agent": _KEYWORD}},
        "metadata": {
            "properties": {
                "valid": {"type": "boolean"},
                "errors": _KEYWORD,
                "limits": _KEYWORD,
                "profile_less": {"type": "boolean"},
            }
        },
    }
    alias = events_alias(prefix, tenant, env)
    return _template(alias, mappings, shards=shards, replicas=replicas)


def _template(
    alias: str, mappings: dict[str, Any], *, shards: int, replicas: int
) -> dict[str, Any]:
    """Indices named ``<alias>-*`` get these mappings and no dynamic fields. The alias is
    not in the template: whoever creates an index adds it, so a generation being
    rebuilt by a replay stays invisible until the replay moves the alias."""
    return {
        "index_patterns": [f"{alias}-*"],
        "priority": 100,
        "template": {
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "refresh_interval": "1s",
            },
            "mappings": {"dynamic": False, "properties": mappings},
        },
    }


def profiles_template(*, alias: str, engine: Engine, shards: int, replicas: int) -> dict[str, Any]:
    flat = {"type": flat_type(engine)}
    mappings = {
        "id": _KEYWORD,
        "tenant": _KEYWORD,
        "env": _KEYWORD,
        "version": _LONG,
        "ids": _KEYWORD,
        "merged_into": _KEYWORD,
        "merges": _LONG,
        "traits": flat,
        "data": flat,
        "consents": flat,
        "interests": flat,
        "segments": _KEYWORD,
        "stats": {"properties": {"events": _LONG, "visits": _LONG, "by_type": flat}},
        "metadata": {
            "properties": {
                "time": {"properties": {"first_visit": _DATE, "last_visit": _DATE}},
                "field_times": flat,
            }
        },
    }
    return _template(alias, mappings, shards=shards, replicas=replicas)


def sessions_template(*, alias: str, engine: Engine, shards: int, replicas: int) -> dict[str, Any]:
    mappings = {
        "id": _KEYWORD,
        "tenant": _KEYWORD,
        "env": _KEYWORD,
        "profile": {"properties": {"id": _KEYWORD}},
        "start": _DATE,
        "last": _DATE,
        "duration": _LONG,
        "events": _LONG,
        "context": {"type": flat_type(engine)},
    }
    return _template(alias, mappings, shards=shards, replicas=replicas)


def merges_template(*, alias: str, engine: Engine, shards: int, replicas: int) -> dict[str, Any]:
    mappings = {
        "id": _KEYWORD,
        "tenant": _KEYWORD,
        "env": _KEYWORD,
        "time": _DATE,
        "outcome": _KEYWORD,
        "reason": {"type": "text"},
        "identifier": _KEYWORD,
        "survivor": _KEYWORD,
        "other": _KEYWORD,
    }
    return _template(alias, mappings, shards=shards, replicas=replicas)

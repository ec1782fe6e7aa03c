"""Index templates. Free-form objects never add mapping fields: they are stored as
Elasticsearch ``flattened`` or OpenSearch ``flat_object``, chosen by engine."""

from __future__ import annotations

from typing import Any

from headwater.core.tenancy import events_alias, events_index_pattern
from headwater.infra.search.port import Engine

__all__ = ["events_template", "flat_type"]

_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}


def flat_type(engine: Engine) -> str:
    return "flattened" if engine == "elasticsearch" else "flat_object"


def events_template(
    *, prefix: str, tenant: str, env: str, engine: Engine, shards: int, replicas: int
) -> dict[str, Any]:
    flat = {"type": flat_type(engine)}
    return {
        "index_patterns": [events_index_pattern(prefix, tenant, env)],
        "priority": 100,
        "template": {
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "refresh_interval": "1s",
            },
            "mappings": {
                "dynamic": False,
                "properties": {
                    "id": _KEYWORD,
                    "type": _KEYWORD,
                    "tenant": _KEYWORD,
                    "env": _KEYWORD,
                    "channel": _KEYWORD,
                    "source": {"properties": {"id": _KEYWORD}},
                    "profile": {"properties": {"id": _KEYWORD}},
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
                            "profile_less": {"type": "boolean"},
                        }
                    },
                },
            },
            "aliases": {events_alias(prefix, tenant, env): {}},
        },
    }

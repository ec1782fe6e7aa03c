"""A template as the search engine gives it back equals the one this release puts;
one that lacks a field, or has other settings, does not."""

from __future__ import annotations

import copy
from typing import Any

from headwater.adapters.search.templates import events_template
from headwater.agents.migrations.search import _same_template, normalised

WANTED = events_template(
    prefix="hw", tenant="default", env="production", engine="opensearch", shards=1, replicas=0
)


def as_stored(body: dict[str, Any]) -> dict[str, Any]:
    """What OpenSearch answers GET _index_template with: strings, settings under index."""
    stored = copy.deepcopy(body)
    settings = stored["template"].pop("settings")
    stored["template"]["settings"] = {"index": {k: str(v) for k, v in settings.items()}}
    stored["template"]["mappings"]["dynamic"] = "false"
    stored["composed_of"] = []
    return stored


def test_the_stored_form_of_the_same_template_is_the_same():
    assert _same_template(as_stored(WANTED), WANTED)


def test_a_field_added_by_this_release_makes_it_differ():
    older = copy.deepcopy(WANTED)
    del older["template"]["mappings"]["properties"]["metadata"]["properties"]["limits"]

    assert not _same_template(as_stored(older), WANTED)


def test_other_settings_make_it_differ():
    other = as_stored(WANTED)
    other["template"]["settings"]["index"]["number_of_shards"] = "3"

    assert not _same_template(other, WANTED)


def test_normalised_leaves():
    assert normalised({"a": [True, 1, "x"], "b": {"c": False}}) == {
        "a": ["true", "1", "x"],
        "b": {"c": "false"},
    }

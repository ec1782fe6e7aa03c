"""The action registry: built-ins declared as entry points, plugins, declared shapes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from headwater.adapters.plugins import _specs_of, registry_from_entry_points
from headwater.core.flows import ActionRegistry, ActionSpec, builtin_registry
from headwater.core.flows.registry import ENTRY_POINT_GROUP
from headwater.errors import ConfigurationError


def test_entry_points_declare_every_builtin_action() -> None:
    assert registry_from_entry_points().names() == builtin_registry().names()
    assert len(builtin_registry()) >= 30


def test_every_family_is_covered(registry: ActionRegistry) -> None:
    families = {spec.family for spec in registry.specs()}
    assert families == {"flow", "data", "profile", "event", "outbound"}


def test_side_effects_are_declared_by_outbound_actions(registry: ActionRegistry) -> None:
    effects = {spec.name for spec in registry.specs() if spec.side_effects}
    outbound = {spec.name for spec in registry.specs() if spec.family == "outbound"}
    assert outbound <= effects
    assert effects - outbound == {"delay-request"}


@pytest.mark.parametrize("name", builtin_registry().names())
def test_config_schemas_are_valid_json_schema(name: str) -> None:
    spec = builtin_registry().get(name)
    assert spec is not None
    Draft202012Validator.check_schema(dict(spec.config_schema))
    described = spec.describe()
    assert described["name"] == name and described["config_schema"]["type"] == "object"


def test_every_builtin_action_has_its_own_test() -> None:
    here = Path(__file__).parent
    tests = "".join(p.read_text() for p in here.glob("test_*actions.py"))
    untested = [n for n in builtin_registry().names() if not re.search(rf'"{re.escape(n)}"', tests)]
    assert untested == []


def test_a_plugin_adds_an_action_and_names_are_unique() -> None:
    plugin = ActionSpec("score", "data", "A third-party action.", lambda call: call.passed())
    registry = ActionRegistry([*builtin_registry().specs(), plugin])
    assert registry.get("score") is plugin and "score" in registry
    with pytest.raises(ConfigurationError, match="two actions"):
        registry.add(plugin)


def test_entry_points_must_name_specs() -> None:
    spec = ActionSpec("x", "data", "x", lambda call: call.passed())
    assert _specs_of(spec, "one") == [spec]
    assert _specs_of((spec,), "many") == [spec]
    with pytest.raises(ConfigurationError, match="not an ActionSpec"):
        _specs_of({"x": spec}, "mapping")
    assert ENTRY_POINT_GROUP == "headwater.actions"


def test_the_docs_list_every_builtin_action() -> None:
    docs = (Path(__file__).parents[4] / "docs" / "flows.md").read_text()
    listed = set(re.findall(r"^\| `([a-z-]+)` \|", docs, flags=re.MULTILINE))
    assert listed == set(builtin_registry().names())

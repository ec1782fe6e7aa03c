"""``{{secret.NAME}}`` placeholders: found, filled, left alone by flow templating, and
shown (not masked) on read since they hold no credential."""

from __future__ import annotations

from headwater.core.flows.state import FlowState
from headwater.core.masking import MASK, mask_secrets
from headwater.core.secrets import fill_secrets, only_references, secret_names


def test_names_are_found_in_strings_inside_objects_and_lists() -> None:
    value = {"headers": {"A": "Bearer {{ secret.crm_token }}"}, "b": ["{{secret.x.y-1}}", 3]}
    assert secret_names(value) == {"crm_token", "x.y-1"}
    assert secret_names({"{{secret.key_only}}": "v", "p": "{{event.x}}"}) == set()


def test_filling_replaces_known_names_and_leaves_the_rest() -> None:
    value = {"h": "Bearer {{secret.a}}", "l": ["{{secret.b}}/{{secret.a}}"], "n": 1}
    assert fill_secrets(value, {"a": "A1"}) == {"h": "Bearer A1", "l": ["{{secret.b}}/A1"], "n": 1}


def test_flow_templating_leaves_secret_placeholders_as_they_are() -> None:
    state = FlowState("f", {"id": "e", "properties": {"p": "v"}}, {}, {}, 0)
    rendered = state.resolve({"h": "Bearer {{secret.crm}} {{event.properties.p}}"}, None)
    assert rendered == {"h": "Bearer {{secret.crm}} v"}


def test_a_value_that_only_names_secrets_is_shown_on_read() -> None:
    assert only_references("Bearer {{secret.crm}}") and only_references("{{secret.a}}")
    assert not only_references("Bearer abc {{secret.crm}}") and not only_references("abc")
    config = {
        "url": "https://crm.example/x?api_key={{secret.k}}&token=t-1",
        "headers": {"Authorization": "Bearer {{secret.crm}}", "X-Token": "abc {{secret.crm}}"},
        "password": "{{secret.pw}}",
    }
    assert mask_secrets(config) == {
        "url": f"https://crm.example/x?api_key={{{{secret.k}}}}&token={MASK}",
        "headers": {"Authorization": "Bearer {{secret.crm}}", "X-Token": MASK},
        "password": "{{secret.pw}}",
    }

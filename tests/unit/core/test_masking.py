"""Credentials in configuration: masked for reading, kept when the mask is saved back."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.masking import MASK, mask_secrets, restore_masked

CONFIG: dict[str, Any] = {
    "url": "https://user:pa55@api.example/x?api_key=k1&page=2&access_token=t1",
    "method": "POST",
    "headers": {
        "Authorization": "Bearer abc",
        "X-Api-Key": "k2",
        "Cookie": "s=1",
        "Accept": "application/json",
    },
    "password": "p1",
    "key": "{{profile.id}}",  # a Kafka record key, not a secret
    "routing_key": "orders",
    "body": {"text": "hello?", "client_secret": "c1"},
}


def test_credentials_are_masked_and_the_rest_is_kept() -> None:
    masked = mask_secrets(CONFIG)
    assert (
        masked["url"]
        == f"https://user:{MASK}@api.example/x?api_key={MASK}&page=2&access_token={MASK}"
    )
    assert masked["headers"] == {
        "Authorization": MASK,
        "X-Api-Key": MASK,
        "Cookie": MASK,
        "Accept": "application/json",
    }
    assert masked["password"] == MASK and masked["body"]["client_secret"] == MASK
    assert masked["key"] == "{{profile.id}}" and masked["routing_key"] == "orders"
    assert masked["body"]["text"] == "hello?" and masked["method"] == "POST"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://tok3n@hooks.example/a", f"https://{MASK}@hooks.example/a"),
        ("http://h.example/{{event.id}}", "http://h.example/{{event.id}}"),
        ("amqp://guest:guest@mq:5672/", f"amqp://guest:{MASK}@mq:5672/"),
    ],
)
def test_urls(url: str, shown: str) -> None:
    assert mask_secrets({"url": url}) == {"url": shown}


def test_saving_back_the_masks_keeps_the_stored_values() -> None:
    stored = {"nodes": [{"id": "a", "config": CONFIG}, {"id": "b", "config": {"password": "p2"}}]}
    edited = mask_secrets(stored)
    edited["nodes"].reverse()  # moved nodes are matched by id
    edited["nodes"][1]["config"]["method"] = "PUT"
    restored = restore_masked(edited, stored)
    assert restored["nodes"][1]["config"] == {**CONFIG, "method": "PUT"}
    assert restored["nodes"][0]["config"] == {"password": "p2"}


def test_a_new_value_or_a_mask_moved_elsewhere_is_not_restored() -> None:
    stored = {"headers": {"Authorization": "Bearer abc"}, "body": {}}
    edited = {"headers": {"Authorization": "Bearer new"}, "body": {"copy": MASK}}
    assert restore_masked(edited, stored) == edited
    changed_url = {"url": f"https://user:{MASK}@evil.example/x"}
    stored_url = {"url": "https://user:pa55@api.example/x"}
    assert restore_masked(changed_url, stored_url) == changed_url


def test_a_credential_does_not_follow_its_call_to_another_host() -> None:
    stored = {"url": "https://api.example/x", "headers": {"Authorization": "Bearer abc"}}
    moved = {**mask_secrets(stored), "url": "https://attacker.example/x"}
    assert restore_masked(moved, stored)["headers"]["Authorization"] == MASK
    same_host = {**mask_secrets(stored), "url": "https://API.example/other/path"}
    assert restore_masked(same_host, stored)["headers"]["Authorization"] == "Bearer abc"

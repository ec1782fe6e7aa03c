"""The send-time address check: every address a name resolves to is judged, and the
checked one is what the transport connects to. A resolver stub stands in for DNS where
a test needs a name to resolve somewhere on purpose (``localhost`` uses the real one)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from headwater.adapters.outbound.addresses import AddressGuard, platform_endpoints, system_resolve
from headwater.core.outbound_policy import IPAddress
from headwater.errors import DeliveryFailed
from headwater.settings import load_settings

PUBLIC = ipaddress.ip_address("93.184.216.34")


def names(table: dict[str, list[str]]) -> Any:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        if host not in table:
            raise OSError(f"no such name {host}")
        return [ipaddress.ip_address(a) for a in table[host]]

    return resolve


async def refusal(guard: AddressGuard, host: str, port: int = 80) -> str:
    with pytest.raises(DeliveryFailed) as refused:
        await guard.pinned(host, port)
    assert not refused.value.retryable
    assert str(refused.value).startswith("outbound address refused")
    return str(refused.value)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "0x7f000001",
        "2130706433",
        "127.1",
        "0177.0.0.1",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
        "169.254.169.254",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.0.1",
        "100.64.0.1",
        "fd00::1",
        "fe80::1",
        "224.0.0.1",
        "0.0.0.0",
        "240.0.0.1",
        "64:ff9b::7f00:1",
    ],
)
async def test_loopback_link_local_private_and_other_non_public_addresses_are_refused(
    host: str,
) -> None:
    guard = AddressGuard(load_settings(), names({}))
    await refusal(guard, host)


async def test_a_name_resolving_to_a_private_address_is_refused_even_among_public_ones() -> None:
    guard = AddressGuard(
        load_settings(),
        names({"rebind.example": ["127.0.0.1"], "mixed.example": [str(PUBLIC), "10.0.0.7"]}),
    )
    assert "rebind.example:80 (127.0.0.1) is a loopback address" in await refusal(
        guard, "rebind.example"
    )
    assert "10.0.0.7" in await refusal(guard, "mixed.example")


async def test_localhost_through_the_system_resolver_is_refused() -> None:
    guard = AddressGuard(load_settings(), system_resolve)
    assert "loopback" in await refusal(guard, "localhost", 8080)


async def test_a_public_name_gives_the_checked_address_to_connect_to() -> None:
    guard = AddressGuard(load_settings(), names({"api.example": [str(PUBLIC)]}))
    assert await guard.pinned("api.example", 443) == PUBLIC


async def test_the_allow_list_opens_networks_names_and_single_ports() -> None:
    settings = load_settings(outbound_allow=["10.0.0.0/8", "127.0.0.1:8080", "crm.internal"])
    guard = AddressGuard(settings, names({"crm.internal": ["192.168.1.5"]}))
    assert str(await guard.pinned("10.9.8.7", 80)) == "10.9.8.7"
    assert str(await guard.pinned("127.0.0.1", 8080)) == "127.0.0.1"
    assert str(await guard.pinned("crm.internal", 443)) == "192.168.1.5"
    await refusal(guard, "127.0.0.1", 8081)
    await refusal(guard, "192.168.1.5", 443)  # the name is allowed, not its address


async def test_the_platforms_own_endpoints_need_an_allow_entry_with_their_port() -> None:
    platform = {
        "kafka": "kafka.internal:9092,10.0.0.6:9093",
        "search": "https://search.internal:9200",
        "api_host": "0.0.0.0",
        "outbound_allow": ["10.0.0.0/8", "8.8.8.8/32"],
    }
    resolve = names({"kafka.internal": ["10.0.0.5"], "search.internal": ["10.0.0.9"]})
    guard = AddressGuard(load_settings(**platform), resolve)
    assert "platform's own endpoints" in await refusal(guard, "10.0.0.5", 9092)
    assert "platform's own endpoints" in await refusal(guard, "10.0.0.6", 9093)
    assert "platform's own endpoints" in await refusal(guard, "10.0.0.9", 9200)
    assert "platform's own endpoints" in await refusal(guard, "8.8.8.8", 8687)  # api on 0.0.0.0
    assert str(await guard.pinned("10.0.0.5", 80)) == "10.0.0.5"
    named = AddressGuard(
        load_settings(**{**platform, "outbound_allow": ["10.0.0.5:9092"]}), resolve
    )
    assert str(await named.pinned("10.0.0.5", 9092)) == "10.0.0.5"


def test_platform_endpoints_come_from_the_settings() -> None:
    settings = load_settings(kafka="k1:9092,k2", search="http://s:9201,https://t")
    found = {(e.host, e.port) for e in platform_endpoints(settings)}
    assert found == {
        ("127.0.0.1", 8687),
        ("127.0.0.1", 8686),
        ("k1", 9092),
        ("k2", 9092),
        ("s", 9201),
        ("t", 443),
    }


async def test_a_failed_lookup_may_pass() -> None:
    with pytest.raises(DeliveryFailed) as failed:
        await AddressGuard(load_settings(), names({})).pinned("nowhere.example", 80)
    assert failed.value.retryable


@pytest.mark.parametrize("entry", ["a b", "10.0.0.0/33", "host:99999", "http://x/"])
def test_a_bad_allow_entry_stops_the_settings(entry: str) -> None:
    with pytest.raises(ValueError, match="outbound_allow"):
        load_settings(outbound_allow=[entry])

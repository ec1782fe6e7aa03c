"""The send-time half of the outbound policy: resolve a host, check every address it
resolves to, and hand back the one to connect to (so a name that resolves again,
differently, between the check and the connection changes nothing: DNS rebinding).
The rules themselves are in :mod:`headwater.core.outbound_policy`."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from headwater.core.outbound_policy import (
    AddressPolicy,
    AllowEntry,
    Endpoint,
    IPAddress,
    TopicPolicy,
    ip_literal,
)
from headwater.errors import DeliveryFailed
from headwater.settings import Settings

__all__ = [
    "AddressGuard",
    "Resolver",
    "address_policy",
    "platform_endpoints",
    "system_resolve",
    "topic_policy",
]

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for ``host`` (in its order)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    return found


def platform_endpoints(settings: Settings) -> tuple[Endpoint, ...]:
    """Where the platform itself listens: Kafka, the search engine, API and collector."""
    found = [
        Endpoint(settings.api_host, settings.api_port),
        Endpoint(settings.collector_host, settings.collector_port),
    ]
    for server in (settings.kafka or "").split(","):
        parts = urlsplit(f"//{server.strip()}")
        if parts.hostname:
            found.append(Endpoint(parts.hostname, parts.port or 9092))
    for url in (settings.search or "").split(","):
        parts = urlsplit(url.strip() if "://" in url else f"//{url.strip()}")
        if parts.hostname:
            default = 443 if parts.scheme == "https" else 9200
            found.append(Endpoint(parts.hostname, parts.port or default))
    return tuple(found)


def address_policy(settings: Settings) -> AddressPolicy:
    return AddressPolicy(
        tuple(AllowEntry.parse(entry) for entry in settings.outbound_allow),
        platform_endpoints(settings),
    )


def topic_policy(settings: Settings) -> TopicPolicy:
    """The platform's Kafka names: the topic prefix, the worker's (Faust's) internal
    topics and Kafka's own ``__*`` topics."""
    reserved = (settings.topic_prefix, settings.worker_id, "__")
    return TopicPolicy(settings.outbound_topic_prefixes, reserved)


class AddressGuard:
    """Checks where a request goes, right before it goes there."""

    def __init__(self, settings: Settings, resolve: Resolver = system_resolve) -> None:
        self.policy = address_policy(settings)
        self._resolve = resolve

    async def pinned(self, host: str, port: int) -> IPAddress:
        """The checked address to connect to for ``host``. A refused address fails for
        good (:class:`DeliveryFailed`, not retryable); a failed lookup may pass."""
        try:
            addresses = [literal] if (literal := ip_literal(host)) else []
            addresses = addresses or await self._resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise DeliveryFailed(f"{host}: name lookup failed ({exc})", retryable=True) from exc
        if not addresses:
            raise DeliveryFailed(f"{host}: the name has no address", retryable=True)
        platform = await self._platform_addresses(port)
        for ip in addresses:  # one refused address refuses the name
            refusal = self.policy.refusal(host, ip, port, platform)
            if refusal is not None:
                raise DeliveryFailed(f"outbound address refused: {refusal}", retryable=False)
        return addresses[0]

    async def _platform_addresses(self, port: int) -> dict[str, list[IPAddress]]:
        """What the platform's host names on ``port`` resolve to (now, like the target)."""
        found: dict[str, list[IPAddress]] = {}
        for endpoint in self.policy.platform:
            if endpoint.port != port or ip_literal(endpoint.host) is not None:
                continue
            try:
                found[endpoint.host] = await self._resolve(endpoint.host, port)
            except (OSError, UnicodeError):
                continue  # a platform name that does not resolve cannot be reached either
        return found

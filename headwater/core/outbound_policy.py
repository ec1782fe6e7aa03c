"""Where a flow may send: the pure half of the outbound policy (no I/O, no settings).

- **Addresses.** A request may reach only public (globally routable, unicast)
  addresses, and never one of the platform's own endpoints (its Kafka, search engine,
  API or collector), unless an operator allow-list entry covers it. An entry is an IP
  or CIDR (``10.0.0.0/8``, ``::1``) or a host name, each with an optional port
  (``127.0.0.1:8080``, ``[fd00::/8]:443``, ``crm.internal:443``). A platform endpoint
  needs an entry with its port: a bare network never unlocks one.
- **URLs.** The scheme and host of a flow's URL are literal: templating is allowed in
  the path and query only, so event data can never choose where a call goes.
- **Topics.** Kafka topics of the platform (the topic prefix, the worker's internal
  topics, ``__*``) are never a flow's to write; a tenant's Kafka, MQTT and AMQP names
  start with a prefix its operator allows (``{tenant}.`` or ``{tenant}/`` by default).

The resolution of names (I/O) is in ``headwater/adapters/outbound/addresses.py``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "AddressPolicy",
    "AllowEntry",
    "Endpoint",
    "IPAddress",
    "TopicPolicy",
    "ip_literal",
    "non_public_kind",
    "url_template_problem",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_PORTED = re.compile(
    r"^\[(?P<v6>[^\]]+)\](?::(?P<v6port>\d+))?$|^(?P<host>[^:\[\]]+):(?P<port>\d+)$"
)
_LEGACY_V4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


def ip_literal(host: str) -> IPAddress | None:
    """The address a host string spells, in any form a resolver accepts (``127.1``,
    ``0x7f000001``, ``2130706433``, ``::ffff:127.0.0.1``), or None for a name."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_V4.match(text):
        try:  # inet_aton is a pure parser: the forms the C resolver also accepts
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def non_public_kind(ip: IPAddress) -> str | None:
    """Why an address is not public (``"loopback"``, ``"private"``, ...), or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and (kind := non_public_kind(embedded)) is not None:
            return kind
    for kind in ("loopback", "link_local", "multicast", "unspecified", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if ip.is_global else "non-public"


def _port(text: str | None) -> int | None:
    if text is None:
        return None
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    return port


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One operator allow-list entry: a network or a host name, and maybe a port."""

    network: IPNetwork | None
    name: str | None
    port: int | None

    @classmethod
    def parse(cls, text: str) -> AllowEntry:
        """``10.0.0.0/8``, ``::1``, ``127.0.0.1:8080``, ``[::1]:25``, ``mx.internal:25``."""
        text = text.strip()
        host, port = text, None
        if (found := _PORTED.match(text)) is not None:
            host = found["v6"] or found["host"]
            port = _port(found["v6port"] or found["port"])
        if not host:
            raise ValueError(f"allow-list entry {text!r} names no host")
        try:
            return cls(ipaddress.ip_network(host, strict=False), None, port)
        except ValueError:
            pass
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})", host) or "/" in host:
            raise ValueError(f"allow-list entry {text!r} is not an address, network or host")
        return cls(None, host.lower().rstrip("."), port)

    def covers(self, name: str, ip: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return ip.version == self.network.version and ip in self.network
        return self.name == name.lower().rstrip(".")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An address of the platform itself, as configured (a name or an IP)."""

    host: str
    port: int

    def matches(self, name: str, ip: IPAddress, port: int, resolved: Iterable[IPAddress]) -> bool:
        """``resolved``: what :attr:`host` resolves to (empty when it is an IP)."""
        if port != self.port:
            return False
        literal = ip_literal(self.host)
        if literal is not None and literal.is_unspecified:
            return True  # bound to every interface: any address with this port is it
        return self.host.lower() == name.lower().rstrip(".") or literal == ip or ip in set(resolved)


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    allow: tuple[AllowEntry, ...] = ()
    platform: tuple[Endpoint, ...] = ()

    def refusal(
        self,
        name: str,
        ip: IPAddress,
        port: int,
        platform_ips: Mapping[str, Sequence[IPAddress]] | None = None,
    ) -> str | None:
        """Why ``name`` (resolved to ``ip``) on ``port`` may not be called, or None.
        ``platform_ips``: what each platform endpoint host resolves to."""
        where = f"{name}:{port}" if ip_literal(name) == ip else f"{name}:{port} ({ip})"
        resolved = platform_ips or {}
        if any(e.matches(name, ip, port, resolved.get(e.host, ())) for e in self.platform):
            if any(a.port is not None and a.covers(name, ip, port) for a in self.allow):
                return None
            return f"{where} is one of the platform's own endpoints"
        kind = non_public_kind(ip)
        if kind is not None and not any(a.covers(name, ip, port) for a in self.allow):
            return f"{where} is a {kind} address (not in HEADWATER_OUTBOUND_ALLOW)"
        return None

    def literal_refusal(self, host: str, port: int) -> str | None:
        """The refusal of a host known without resolving it (an IP literal); None for a
        name, which only the send-time check can judge."""
        ip = ip_literal(host)
        return None if ip is None else self.refusal(host, ip, port)


def url_template_problem(url: object) -> str | None:
    """A problem when a URL's scheme or host is templated (or it has no host)."""
    if not isinstance(url, str):
        return None  # a path lookup: refused by the schema or at send time
    head = re.split(r"[/?#]", url.split("://", 1)[1], maxsplit=1)[0] if "://" in url else url
    if "://" not in url or "{{" in url.split("://", 1)[0] or "{{" in head:
        return "the url's scheme and host must be literal (templates only in path and query)"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the url must be http(s)://host/..."
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "the url has a bad port"
    return None


@dataclass(frozen=True, slots=True)
class TopicPolicy:
    """Names a tenant may publish to. ``prefixes``: per tenant id, ``"*"`` for every
    tenant not named; ``{tenant}`` in a prefix is the tenant's id; ``""`` allows any
    name. ``reserved``: Kafka name prefixes of the platform, refused for every tenant."""

    prefixes: Mapping[str, Sequence[str]]
    reserved: tuple[str, ...]

    def allowed(self, tenant: str) -> list[str]:
        chosen = self.prefixes.get(tenant, self.prefixes.get("*", ()))
        return [p.replace("{tenant}", tenant) for p in chosen]

    def refusal(self, kind: str, name: str, tenant: str) -> str | None:
        """Why ``tenant`` may not publish ``kind`` (kafka, mqtt, amqp) to ``name``."""
        if kind == "kafka" and any(name.startswith(p) for p in self.reserved):
            return f"kafka topic {name!r} belongs to the platform"
        allowed = self.allowed(tenant)
        if not any(name.startswith(p) for p in allowed):
            shown = ", ".join(repr(p) for p in allowed) or "none"
            return f"{kind} name {name!r} is outside the tenant's prefixes ({shown})"
        return None

    def target_refusal(self, kind: str, target: Mapping[str, object], tenant: str) -> str | None:
        """The refusal of a request target (or a node config): the Kafka or MQTT topic,
        the AMQP exchange (the routing key, a queue name, on the default exchange)."""
        if kind in ("kafka", "mqtt"):
            name = target.get("topic")
        elif kind == "amqp":
            name = target.get("exchange") or target.get("routing_key")
        else:
            return None
        if not isinstance(name, str):
            return None  # a path lookup or a missing name: judged at send time
        return self.refusal(kind, name, tenant)

"""HTTP calls and webhooks: method, url and headers from the target, the body as JSON,
and ``Idempotency-Key`` so the receiver can drop a call it already had. The host is
resolved and checked by the address policy right before the call, and the call goes
to the checked address (``Host`` and TLS still name the host); redirects are not
followed."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from headwater.adapters.outbound.addresses import AddressGuard
from headwater.adapters.outbound.base import target_text
from headwater.core.delivery import Verdict, classify_status
from headwater.core.flows.state import OutboundRequest
from headwater.errors import DeliveryFailed
from headwater.settings import Settings

__all__ = ["HttpTransport"]

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


class HttpTransport:
    def __init__(self, settings: Settings, guard: AddressGuard | None = None) -> None:
        self._timeout = settings.outbound_timeout
        self._guard = guard or AddressGuard(settings)
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        # no kept-alive connections: requests go to checked IPs, and a pooled connection
        # to one IP (TLS-verified for one host) must not serve another host on that IP
        self._client = httpx.AsyncClient(
            timeout=self._timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def destination(self, request: OutboundRequest) -> str:
        host, port = _host_port(target_text(request, "url"))
        return f"http:{host}:{port}"

    async def send(self, request: OutboundRequest) -> None:
        if self._client is None:
            raise RuntimeError("HttpTransport.start() was not called")
        url = target_text(request, "url")
        method = target_text(request, "method", "POST").upper()
        if method not in METHODS:
            raise DeliveryFailed(f"unsupported HTTP method {method!r}", retryable=False)
        raw_headers = request.target.get("headers") or {}
        if not isinstance(raw_headers, dict):
            raise DeliveryFailed("http target headers must be an object", retryable=False)
        headers = {str(k): str(v) for k, v in raw_headers.items() if str(k).lower() != "host"}
        headers["Idempotency-Key"] = request.idempotency_key
        content = None if method in ("GET", "DELETE") else request.body
        host, port = _host_port(url)
        try:
            named = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise DeliveryFailed(f"http target url is not a url: {exc}", retryable=False) from exc
        address = await self._guard.pinned(host, port)
        headers["Host"] = named.netloc.decode("ascii")
        try:
            response = await self._client.request(
                method,
                named.copy_with(host=str(address)),
                headers=headers,
                json=content,
                extensions={"sni_hostname": named.raw_host.decode("ascii")},
            )
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"{method} {_where(url)} timed out", retryable=True) from exc
        except httpx.TransportError as exc:
            raise DeliveryFailed(f"{method} {_where(url)}: {exc!r}", retryable=True) from exc
        verdict = classify_status(response.status_code)
        if verdict is not Verdict.DELIVERED:
            raise DeliveryFailed(
                f"{method} {_where(url)} answered {response.status_code}",
                retryable=verdict is Verdict.RETRYABLE,
            )


def _host_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DeliveryFailed(f"http target url is not a url: {exc}", retryable=False) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryFailed("http target url must be http(s)://host/...", retryable=False)
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _where(url: str) -> str:
    """The URL without query string or user info, fit for a log line or dead letter."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"

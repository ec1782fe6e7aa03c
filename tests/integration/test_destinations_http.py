"""The destinations stage against real loopback HTTP servers: retries with one stable
idempotency key, permanent failures dead-lettered at once, a down destination's breaker."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import time
from pathlib import Path

import orjson
import pytest

from headwater.adapters.outbound.addresses import AddressGuard
from headwater.adapters.outbound.http import HttpTransport
from headwater.commands.embedded import free_port
from headwater.core.delivery import BreakerState
from headwater.core.flows.state import OutboundRequest
from headwater.core.outbound_policy import IPAddress
from headwater.errors import DeliveryFailed
from tests.support.http_sink import HttpSink, http_sink
from tests.support.outbound import Letters, outbound_message, outbound_settings, running_stage
from tests.support.tls import self_signed

pytestmark = pytest.mark.integration


async def test_a_webhook_failing_twice_is_retried_with_the_same_idempotency_key() -> None:
    letters = Letters()
    async with (
        http_sink([503, 500, 201]) as sink,
        running_stage(outbound_settings(), letters) as stage,
    ):
        target = {"url": sink.url, "method": "put", "headers": {"X-Tenant": "default"}}
        message = outbound_message("http", target, {"plan": "pro", "n": 3}, key="key-42")
        result = await stage.handle([message])

    assert (result.delivered, result.dead_lettered, result.attempts) == (1, 0, 3)
    assert letters.records == []
    assert [r.headers["idempotency-key"] for r in sink.received] == ["key-42"] * 3
    last = sink.received[-1]
    assert (last.method, last.path) == ("PUT", "/hooks/in?token=secret")
    assert last.headers["x-tenant"] == "default"
    assert orjson.loads(last.body) == {"plan": "pro", "n": 3}


async def test_a_400_is_dead_lettered_at_once_with_the_reason() -> None:
    letters = Letters()
    async with http_sink([400]) as sink, running_stage(outbound_settings(), letters) as stage:
        message = outbound_message("http", {"url": sink.url}, {"a": 1})
        result = await stage.handle([message])

    assert (result.delivered, result.dead_lettered, result.attempts) == (0, 1, 1)
    assert len(sink.received) == 1
    [letter] = letters.records
    assert letter["stage"] == "destinations"
    assert letter["payload"] == message.value  # the request itself
    assert letter["attempts"] == 1
    assert "answered 400" in letter["reason"]
    assert "secret" not in letter["reason"]  # no query string (tokens) in reasons


async def test_a_down_destination_opens_its_breaker_and_requests_end_as_dead_letters() -> None:
    settings = outbound_settings(
        outbound_max_attempts=50,
        outbound_breaker_failures=2,
        outbound_breaker_cooldown=0.3,
        outbound_budget=1.0,
    )
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    letters = Letters()
    async with running_stage(settings, letters) as stage:
        messages = [outbound_message("http", {"url": url}, {"i": i}) for i in range(3)]
        result = await stage.handle(messages)
        breaker = stage.breaker(f"http:127.0.0.1:{url.split(':')[2].split('/')[0]}")
        state = breaker.state(time.monotonic())

    assert (result.delivered, result.dead_lettered) == (0, 3)
    assert state is not BreakerState.CLOSED  # probes kept failing
    # requests waited on the open breaker instead of hammering the host 50 times each
    assert result.attempts < 3 * 50
    assert len(letters.records) == 3
    for letter in letters.records:
        assert "ConnectError" in letter["reason"]
        assert "budget spent" in letter["reason"]
    assert any("circuit open" in letter["reason"] for letter in letters.records)


async def test_each_attempt_has_a_timeout() -> None:
    settings = outbound_settings(outbound_timeout=0.3, outbound_max_attempts=2)
    letters = Letters()
    async with http_sink(hang=True) as sink, running_stage(settings, letters) as stage:
        result = await stage.handle([outbound_message("http", {"url": sink.url}, {})])

    assert (result.dead_lettered, result.attempts) == (1, 2)
    assert len(sink.received) == 2
    assert "timed out" in letters.records[0]["reason"]


async def test_a_request_is_held_until_its_not_before_time() -> None:
    letters = Letters()
    async with http_sink([200]) as sink, running_stage(outbound_settings(), letters) as stage:
        not_before = int(time.time() * 1000) + 300
        message = outbound_message("http", {"url": sink.url}, {}, not_before_ms=not_before)
        result = await stage.handle([message])

    assert result.delivered == 1
    assert sink.received[0].at_ms >= not_before


async def test_undecodable_and_unknown_requests_are_dead_lettered() -> None:
    letters = Letters()
    async with running_stage(outbound_settings(), letters) as stage:
        garbage = outbound_message("http", {"url": "x"}, {})
        broken = type(garbage)(garbage.topic, 0, 1, None, b"\x00not avro")
        unknown = outbound_message("pigeon", {"to": "roof"}, {})
        not_a_url = outbound_message("http", {"url": "ftp://example.invalid/x"}, {})
        result = await stage.handle([broken, unknown, not_a_url])

    assert result.dead_lettered == 3
    reasons = sorted(letter["reason"] for letter in letters.records)
    assert any("unknown outbound kind 'pigeon'" in r for r in reasons)
    assert any("http(s)://" in r for r in reasons)
    assert all(r.startswith("outbound request refused") for r in reasons)


async def test_requests_wait_on_an_open_breaker_and_go_through_once_it_closes() -> None:
    settings = outbound_settings(outbound_breaker_failures=2, outbound_breaker_cooldown=0.2)
    letters = Letters()
    async with http_sink([503, 503, 200]) as sink, running_stage(settings, letters) as stage:
        first = outbound_message("http", {"url": sink.url}, {"n": 1}, key="a")
        result = await stage.handle([first])
        port = sink.url.split(":")[2].split("/")[0]
        state = stage.breaker(f"http:127.0.0.1:{port}").state(time.monotonic())
        second = await stage.handle([outbound_message("http", {"url": sink.url}, {}, key="b")])

    assert (result.delivered, result.attempts) == (1, 3)  # two failures opened it; the probe won
    assert state is BreakerState.CLOSED
    assert (second.delivered, second.attempts) == (1, 1)
    assert letters.records == []
    assert [r.headers["idempotency-key"] for r in sink.received] == ["a", "a", "a", "b"]


async def test_a_flow_cannot_reach_loopback_link_local_or_private_addresses_unless_allowed() -> (
    None
):
    letters = Letters()
    async with http_sink([200]) as sink:
        port = int(sink.url.split(":")[2].split("/")[0])
        urls = [
            sink.url,
            f"http://localhost:{port}/x",  # a name that resolves to loopback
            f"http://0x7f000001:{port}/x",
            f"http://2130706433:{port}/x",
            f"http://[::1]:{port}/x",
            f"http://[::ffff:127.0.0.1]:{port}/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/x",
            "http://192.168.1.1/x",
            "http://0.0.0.0:80/x",
        ]
        async with running_stage(outbound_settings(outbound_allow=[]), letters) as stage:
            refused = await stage.handle([outbound_message("http", {"url": u}, {}) for u in urls])
        allowed_settings = outbound_settings(outbound_allow=["127.0.0.1"])
        async with running_stage(allowed_settings, Letters()) as stage:
            allowed = await stage.handle(
                [
                    outbound_message("http", {"url": sink.url}, {}),
                    outbound_message("http", {"url": f"http://0x7f000001:{port}/hex"}, {}),
                ]
            )

    assert (refused.delivered, refused.dead_lettered, refused.attempts) == (0, len(urls), 10)
    reasons = [letter["reason"] for letter in letters.records]
    assert all(r.startswith("outbound address refused") for r in reasons), reasons
    assert all(letter["attempts"] == 1 for letter in letters.records)  # never retried
    assert sum("loopback" in r for r in reasons) == 6
    assert any("169.254.169.254:80 is a link-local address" in r for r in reasons)
    assert allowed.delivered == 2
    assert [r.path for r in sink.received] == ["/hooks/in?token=secret", "/hex"]  # only allowed
    assert sink.received[1].headers["host"] == f"0x7f000001:{port}"


async def test_the_platforms_own_endpoints_are_refused_unless_named_with_their_port() -> None:
    async with http_sink([200]) as sink:
        port = int(sink.url.split(":")[2].split("/")[0])
        letters = Letters()
        # the sink stands in for the platform's search engine
        as_search = {"search": f"http://localhost:{port}", "outbound_allow": ["127.0.0.0/8"]}
        async with running_stage(outbound_settings(**as_search), letters) as stage:
            refused = await stage.handle([outbound_message("http", {"url": sink.url}, {})])
        named = {**as_search, "outbound_allow": [f"127.0.0.1:{port}"]}
        async with running_stage(outbound_settings(**named), Letters()) as stage:
            allowed = await stage.handle([outbound_message("http", {"url": sink.url}, {})])

    assert (refused.dead_lettered, allowed.delivered) == (1, 1)
    assert "is one of the platform's own endpoints" in letters.records[0]["reason"]
    assert len(sink.received) == 1


def _get(url: str) -> OutboundRequest:
    return OutboundRequest("http", {"url": url, "method": "GET"}, None, "k", "f", "n", "e")


async def test_a_call_to_the_checked_address_still_verifies_tls_for_the_host_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path, "hooks.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate only
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    names_sent: list[str | None] = []

    def note_sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        names_sent.append(name)

    server_tls.sni_callback = note_sni
    sink = HttpSink([200])
    server = await asyncio.start_server(sink._serve, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]

    async def resolve(host: str, _port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]  # both names point at the test server

    settings = outbound_settings(outbound_max_attempts=1)
    transport = HttpTransport(settings, AddressGuard(settings, resolve))
    await transport.start()
    try:
        await transport.send(_get(f"https://hooks.test:{port}/in"))
        with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"):
            await transport.send(_get(f"https://other.test:{port}/in"))
    finally:
        await transport.close()
        server.close()
        await server.wait_closed()

    assert names_sent == ["hooks.test", "other.test"]  # SNI names the host, not the IP
    [received] = sink.received
    assert received.headers["host"] == f"hooks.test:{port}"

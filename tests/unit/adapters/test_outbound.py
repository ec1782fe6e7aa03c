"""Pure parts of the outbound transports: destinations, safe reasons, email building."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.adapters.outbound.amqp import AmqpTransport
from headwater.adapters.outbound.http import HttpTransport, _where
from headwater.adapters.outbound.smtp import SmtpTransport, build_email
from headwater.core.flows.state import OutboundRequest
from headwater.errors import DeliveryFailed
from headwater.settings import load_settings

DEFAULT_FROM = "headwater@example.com"


def request(kind: str, target: dict[str, Any], body: Any = None) -> OutboundRequest:
    return OutboundRequest(kind, target, body, "idem-7", "flow", "node", "event")


def test_http_destinations_are_host_and_port() -> None:
    http = HttpTransport(load_settings())
    assert http.destination(request("http", {"url": "https://api.example.com/x"})) == (
        "http:api.example.com:443"
    )
    assert http.destination(request("http", {"url": "http://u:p@hooks.local:8080/y?q=1"})) == (
        "http:hooks.local:8080"
    )
    with pytest.raises(DeliveryFailed) as refused:
        http.destination(request("http", {"url": "ftp://files.example.com/"}))
    assert not refused.value.retryable
    with pytest.raises(DeliveryFailed):
        http.destination(request("http", {}))


def test_reasons_never_carry_user_info_or_query_strings() -> None:
    assert _where("https://user:pw@api.example.com:8443/hook?token=abc") == (
        "https://api.example.com:8443/hook"
    )


def test_the_amqp_destination_names_the_server_without_credentials() -> None:
    settings = load_settings(outbound_amqp_url="amqp://app:s3cret@rabbit.internal:5671/vh")
    amqp = AmqpTransport(settings)
    assert amqp.destination(request("amqp", {"routing_key": "x"})) == "amqp:rabbit.internal:5671"


def test_smtp_server_comes_from_the_target_or_the_settings() -> None:
    smtp = SmtpTransport(load_settings(outbound_smtp_host="mail.internal", outbound_smtp_port=2525))
    assert smtp.destination(request("email", {})) == "smtp:mail.internal:2525"
    assert smtp.destination(request("email", {"host": "mx", "port": 25})) == "smtp:mx:25"
    with pytest.raises(DeliveryFailed):
        smtp.destination(request("email", {"port": "25"}))


def test_an_email_takes_subject_and_text_from_an_object_body() -> None:
    target = {"to": ["ann@example.com", "bob@example.com"], "from": "hw@example.com"}
    message, sender, recipients = build_email(
        request("email", target, {"subject": "Hi", "text": "Hello"}), DEFAULT_FROM
    )
    assert (sender, recipients) == ("hw@example.com", ["ann@example.com", "bob@example.com"])
    assert message["To"] == "ann@example.com, bob@example.com"
    assert message["Subject"] == "Hi"
    assert message["Message-ID"] == "<idem-7@headwater>"
    assert message.get_content().strip() == "Hello"


def test_an_email_with_a_plain_body_uses_the_target_subject() -> None:
    target = {"to": "ann@example.com", "from": "hw@example.com", "subject": "Plan"}
    message, _, _ = build_email(request("email", target, "Your plan changed"), DEFAULT_FROM)
    assert (message["Subject"], message.get_content().strip()) == ("Plan", "Your plan changed")


def test_an_email_without_a_from_comes_from_the_configured_address() -> None:
    message, sender, recipients = build_email(
        request("email", {"to": "ann@example.com"}, "x"), DEFAULT_FROM
    )
    assert (message["From"], sender, recipients) == (
        DEFAULT_FROM,
        DEFAULT_FROM,
        ["ann@example.com"],
    )


@pytest.mark.parametrize(
    "target",
    [
        {"from": "hw@example.com"},
        {"to": "not-an-address", "from": "hw@x.com"},
        {"to": "ann@example.com, eve@evil.example"},  # a comma adds nobody
        {"to": "ann@example.com\r\nBcc: eve@evil.example"},
        {"to": ["ann@example.com", "eve@evil.example,mallory@evil.example"]},
        {"to": "ann@example.com", "from": "hw@x.com, eve@evil.example"},
        {"to": "ann@example.com", "subject": "Hi\r\nBcc: eve@evil.example"},
        {"to": []},
    ],
)
def test_an_email_without_usable_addresses_or_with_injected_headers_fails_for_good(
    target: dict[str, Any],
) -> None:
    with pytest.raises(DeliveryFailed) as refused:
        build_email(request("email", target, "x"), DEFAULT_FROM)
    assert not refused.value.retryable

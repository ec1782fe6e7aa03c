"""A raw RFC 5322 message becomes the fields of one event, within caps; an email bridge
maps them like any payload (sender as profile, Message-ID as event id)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from headwater.core.bridge_config import Bridge
from headwater.core.bridge_mapping import ChannelMessage, MessageMapper
from headwater.core.email_message import EmailLimits, html_to_text, parse_email, sender_id
from headwater.core.intake import IntakeLimits
from headwater.errors import InvalidInput, PayloadTooLarge

ORDER = b"""From: Ann Example <Ann@Example.COM>
To: hw@shop.test, "Bob" <bob@shop.test>
Cc: carl@shop.test
Subject: =?utf-8?q?Caf=C3=A9?= order
Date: Mon, 30 Nov 2026 08:00:00 +0100
Message-ID: <m1@example.com>
X-Customer: c-42
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset=utf-8

Two coffees, please.
--b2
Content-Type: text/html; charset=utf-8

<html><head><title>t</title><style>p{color:red}</style></head><body>
<p>Two&nbsp;<b>coffees</b>,</p><script>alert(1)</script><div>please &amp; thanks</div>
</body></html>
--b2--
--b1
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--b1--
""".replace(b"\n", b"\r\n")


def test_a_message_becomes_its_fields_with_attachment_sizes_not_bytes() -> None:
    parsed = parse_email(ORDER, EmailLimits(), headers=["X-Customer", "X-Absent"])
    fields = parsed.fields
    assert fields["from"] == "ann@example.com" and fields["from_name"] == "Ann Example"
    assert fields["sender_id"] == sender_id("ANN@example.com")
    assert (fields["to"], fields["cc"]) == (["hw@shop.test", "bob@shop.test"], ["carl@shop.test"])
    assert fields["subject"] == "Café order"
    assert fields["date"] == "2026-11-30T08:00:00+01:00"
    assert fields["message_id"] == parsed.message_id == "<m1@example.com>"
    assert fields["text"] == "Two coffees, please."
    assert fields["html_text"] == "Two coffees,\nplease & thanks"
    assert fields["attachments"] == [
        {"name": "invoice.pdf", "content_type": "application/pdf", "size": 9}
    ]
    assert fields["headers"] == {"X-Customer": "c-42"}
    assert parsed.headers["x-customer"] == "c-42" and fields["truncated"] is False
    assert b"JVBER" not in orjson.dumps(fields)


def test_html_is_reduced_to_its_visible_text() -> None:
    html = "<style>x</style><h1>Hi</h1><p>a&lt;b <i>c</i></p><br/>d<script>e</script>"
    assert html_to_text(html) == "Hi\na<b c\nd"


@pytest.mark.parametrize(
    ("raw", "limits", "error", "reason"),
    [
        (b"", EmailLimits(), InvalidInput, "starts with no header field"),
        (b"\x00\x01garbage", EmailLimits(), InvalidInput, "starts with no header field"),
        (b"Subject: hi\r\n\r\nno sender", EmailLimits(), InvalidInput, "no sender address"),
        (ORDER, EmailLimits(max_bytes=500), PayloadTooLarge, "over the 500-byte limit"),
        (ORDER, EmailLimits(max_parts=3), PayloadTooLarge, "5 parts, over the limit of 3"),
    ],
)
def test_what_cannot_be_an_event_says_why(
    raw: bytes, limits: EmailLimits, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason):
        parse_email(raw, limits)


def test_a_part_of_a_larger_message_is_judged_by_the_whole_size() -> None:
    with pytest.raises(PayloadTooLarge, match="message is 5000 bytes"):
        parse_email(ORDER[:1000], EmailLimits(max_bytes=2000), size=5000)


def test_long_texts_are_cut_and_say_so() -> None:
    raw = b"From: a@b.test\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 500
    fields = parse_email(raw, EmailLimits(max_text_chars=100)).fields
    assert fields["text"] == "x" * 100 and fields["truncated"] is True


def email_bridge(channel: str = "imap", **mapping: Any) -> Bridge:
    imap = channel == "imap"
    return Bridge.model_validate(
        {
            "id": "mail1",
            "tenant": "acme",
            "env": "production",
            "channel": channel,
            "connection": {
                "url": "imaps://mail.test" if imap else "smtp://:2525",
                **({"username": "hw"} if imap else {}),
            },
            "subscription": {"headers": ["X-Customer"]},
            "mapping": {"event_type": "value:email", **mapping},
        }
    )


LIMITS = IntakeLimits(max_event_bytes=32 * 1024, max_request_bytes=64 * 1024)


def _mail(raw: bytes) -> ChannelMessage:
    return ChannelMessage(body=raw, topic="INBOX", received_at=1_767_225_600_000)


def test_an_email_is_keyed_by_its_sender_and_its_id_comes_from_the_message_id() -> None:
    mapper = MessageMapper(
        email_bridge(profile_id="json:sender_id", properties={"c": "header:x-CUSTOMER"}), LIMITS
    )
    accepted = mapper(_mail(ORDER))
    assert accepted.profile_id == sender_id("ann@example.com")
    [event] = accepted.record["events"]
    assert orjson.loads(event["properties"]) == {"c": "c-42"}
    assert accepted.record["channel"] == "imap"
    resent = ORDER.replace(b"Subject:", b"Received: by relay\r\nSubject:")
    assert mapper(_mail(resent)).event_ids == accepted.event_ids  # the same Message-ID
    other = MessageMapper(email_bridge(), LIMITS)
    no_id = ORDER.replace(b"Message-ID: <m1@example.com>\r\n", b"")
    assert other(_mail(no_id)).event_ids == other(_mail(no_id)).event_ids  # a hash
    assert other(_mail(no_id)).event_ids != other(_mail(resent)).event_ids


def test_an_email_event_holds_the_parsed_message_by_default() -> None:
    accepted = MessageMapper(email_bridge("smtp", event_time="json:date"), LIMITS)(_mail(ORDER))
    [event] = accepted.record["events"]
    properties = orjson.loads(event["properties"])
    assert properties["subject"] == "Café order" and properties["attachments"][0]["size"] == 9
    assert event["time"] == 1_796_022_000_000  # 2026-11-30T07:00:00Z


@pytest.mark.parametrize(
    ("channel", "connection", "subscription", "reason"),
    [
        ("imap", {"url": "imap://mail.test"}, {}, "connection.username"),
        ("smtp", {"url": "smtp://127.0.0.1"}, {}, "smtp://"),
        ("smtp", {"url": "smtp://:2525", "username": "u"}, {}, "no username"),
        ("smtp", {"url": "smtp://:2525"}, {"folder": "INBOX"}, "for imap bridges"),
        ("imap", {"url": "imap://m", "username": "u"}, {"senders": ["@x.test"]}, "smtp"),
        ("mqtt", {"url": "mqtt://m"}, {"topics": ["a"], "move_to": "Done"}, "imap/smtp"),
        ("smtp", {"url": "smtp://:2525"}, {"recipients": ["nobody"]}, "an address nor"),
        ("imap", {"url": "imap://m", "username": "u"}, {"folder": "Caf\u00e9"}, "ASCII"),
    ],
)
def test_email_bridges_refuse_what_they_cannot_run(
    channel: str, connection: dict[str, Any], subscription: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        Bridge.model_validate(
            {
                "id": "b",
                "tenant": "acme",
                "env": "production",
                "channel": channel,
                "connection": connection,
                "subscription": subscription,
                "mapping": {"event_type": "value:x"},
            }
        )

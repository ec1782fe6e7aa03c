"""Email bridges on real servers: messages APPENDed to a Dovecot folder, and messages
sent to the SMTP listener, become searchable events on their sender's profile with the
mapping applied; IMAP messages are \\Seen (or moved) only once stored; a malformed or
oversized message goes to the dead-letter topic with its reason (SMTP: 552 for an
oversized one) and the bridge goes on; Dovecot restarted mid-stream loses nothing and
stores nothing twice. (One module: the tests share one init and worker.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosmtplib
import orjson
import pytest
from pydantic import SecretStr

from headwater.adapters.secrets import secret_box
from headwater.commands.embedded import ManagedProcess, free_port
from headwater.core.email_message import sender_id
from headwater.core.ports.search import SearchStore
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.topics import Topics
from tests.support.bridges import (
    append_mail,
    connected,
    dead_letters,
    imap_bridge,
    imap_flags,
    publish_bridge,
    running_bridges,
    stored_events,
)
from tests.support.channels import ChannelUnavailable, ImapServer, start_dovecot, stop_group
from tests.support.kafka import read_topic
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

ANN, BOB = "Ann Example <Ann@Example.com>", "bob@example.com"


def mail(message_id: str, sender: str, body: str = "Two coffees, please.", **extra: str) -> bytes:
    headers = {
        "From": sender,
        "To": "orders@shop.test",
        "Subject": f"order {message_id}",
        "Date": "Mon, 30 Nov 2026 08:00:00 +0000",
        "Message-ID": f"<{message_id}@example.com>",
        **extra,
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{head}\r\n{body}\r\n".encode()


MIXED = {"MIME-Version": "1.0", "Content-Type": 'multipart/mixed; boundary="b"'}
HTML_AND_PDF = (
    "--b\r\nContent-Type: text/html\r\n\r\n<p>Hi <b>there</b></p><script>x()</script>\r\n"
    '--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="bill.pdf"'
    "\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--"
)


def with_key(settings: Settings) -> Settings:
    """The settings with a secrets key: IMAP passwords are stored sealed."""
    key = SecretStr("email-bridge-tests-key-0123456789abcdef")
    return settings.model_copy(update={"secrets_key": key})


def sealed(settings: Settings, password: str) -> str:
    return secret_box(settings).seal(password)


async def test_imap_messages_become_events_of_their_sender_and_are_seen_once_stored(
    shared_settings: Settings,
    bridge_worker: ManagedProcess,
    shared_store: SearchStore,
    imap: ImapServer,
) -> None:
    settings = with_key(shared_settings)
    bridge_id, folder = str(uuid.uuid4()), f"{settings.topic_prefix}-in"
    config = imap_bridge(
        imap,
        sealed(settings, imap.password),
        folder,
        event_type="value:email",
        profile_id="json:sender_id",
        event_time="json:date",
    )
    config["subscription"]["max_message_bytes"] = 4096
    await append_mail(imap, folder, [mail("a1", ANN, **{"X-Customer": "c-42"})])  # before
    await publish_bridge(settings, bridge_id, config)
    async with running_bridges(settings, "imap") as process:
        await connected(process, bridge_id)
        await append_mail(
            imap,
            folder,
            [
                b"\x00not a message at all",  # dead-lettered; the bridge goes on
                mail("big", BOB, body="x" * 5000),  # over the 4 KB cap: dead-lettered
                mail("b1", BOB, body=HTML_AND_PDF, **MIXED),
                mail("a1", ANN),  # again (another copy of one Message-ID): one event
            ],
        )
        events = await stored_events(shared_store, settings, bridge_id, 2)
        letters = await dead_letters(settings, bridge_id, 2)

        async def all_seen() -> bool:
            flags = await imap_flags(imap, folder)
            return len(flags) == 5 and all("\\Seen" in f for f in flags)

        await eventually(all_seen, timeout=30)
        stats = process.stats[bridge_id]
        assert (stats.delivered, stats.dead_lettered) == (3, 2)

    by_profile = {e["profile"]["id"]: e for e in events}
    assert sorted(by_profile) == sorted([sender_id("ann@example.com"), sender_id(BOB)])
    assert len(events) == 2
    ann = by_profile[sender_id("ann@example.com")]["properties"]
    assert (ann["from"], ann["from_name"], ann["subject"]) == (
        "ann@example.com",
        "Ann Example",
        "order a1",
    )
    assert ann["text"] == "Two coffees, please." and ann["headers"] == {"X-Customer": "c-42"}
    assert ann["to"] == ["orders@shop.test"] and ann["message_id"] == "<a1@example.com>"
    bob = by_profile[sender_id(BOB)]
    assert bob["properties"]["html_text"] == "Hi there"
    assert bob["properties"]["attachments"] == [
        {"name": "bill.pdf", "content_type": "application/pdf", "size": 9}
    ]
    assert (bob["type"], bob["channel"]) == ("email", "imap")
    assert bob["time"]["create"] == "2026-11-30T08:00:00.000Z"
    reasons = sorted(letter["reason"] for letter in letters)
    assert "over the 4096-byte limit" in reasons[0] and "no header field" in reasons[1]
    assert {(x["stage"], x["topic"]) for x in letters} == {("bridge-imap", f"imap:{folder}")}


async def test_imap_without_idle_polls_and_moves_what_it_stored(
    shared_settings: Settings, bridge_worker: ManagedProcess, imap: ImapServer
) -> None:
    settings = with_key(shared_settings)
    bridge_id, folder = str(uuid.uuid4()), f"{settings.topic_prefix}-poll"
    config = imap_bridge(imap, sealed(settings, imap.password), folder, event_type="json:subject")
    done = f"{folder}-done"
    config["subscription"].update(idle=False, poll_interval=1, move_to=done)
    await append_mail(imap, folder, [])
    await publish_bridge(settings, bridge_id, config)
    async with running_bridges(settings, "imap") as process:
        await connected(process, bridge_id)
        await append_mail(imap, folder, [mail("p1", ANN), mail("p2", BOB)])

        async def moved() -> bool:
            return len(await imap_flags(imap, done)) == 2 and not await imap_flags(imap, folder)

        await eventually(moved, timeout=30)
        assert process.stats[bridge_id].delivered == 2
    records = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).intake,
        INTAKE_BATCH,
        until=lambda rs: sum(r["source_id"] == bridge_id for r in rs) >= 2,
    )
    types = sorted(r["events"][0]["type"] for r in records if r["source_id"] == bridge_id)
    assert types == ["order p1", "order p2"]


async def test_smtp_answers_250_once_stored_and_refuses_what_it_must(
    shared_settings: Settings, bridge_worker: ManagedProcess, shared_store: SearchStore
) -> None:
    settings = shared_settings
    bridge_id, port = str(uuid.uuid4()), free_port()
    config = {
        "name": "test smtp",
        "channel": "smtp",
        "connection": {"url": f"smtp://127.0.0.1:{port}"},
        "subscription": {
            "recipients": ["@shop.test"],
            "senders": ["@example.com"],
            "max_message_bytes": 4096,
        },
        "mapping": {"event_type": "value:email", "profile_id": "json:sender_id"},
    }
    await publish_bridge(settings, bridge_id, config)

    async def send(raw: bytes, sender: str = BOB, to: str = "orders@shop.test") -> str:
        answers, message = await aiosmtplib.send(
            raw, sender=sender, recipients=[to], hostname="127.0.0.1", port=port, timeout=30
        )
        assert not answers, answers  # no recipient refused
        return str(message)

    async with running_bridges(settings, "smtp") as process:
        await connected(process, bridge_id)
        assert "stored" in await send(mail("s1", BOB))
        no_sender = b"Subject: who?\r\nMessage-ID: <s2@example.com>\r\n\r\nbody\r\n"
        assert "stored" in await send(no_sender)  # stored as a dead letter: 250
        with pytest.raises(aiosmtplib.SMTPResponseException) as large:
            await send(mail("s3", BOB, body="x" * 8000))
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as recipient:
            await send(mail("s4", BOB), to="someone@elsewhere.test")
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as sender:
            await send(mail("s5", "eve@evil.test"), sender="eve@evil.test")
        assert "stored" in await send(mail("s6", BOB))  # it goes on
        [event, _] = await stored_events(shared_store, settings, bridge_id, 2)
        [letter] = await dead_letters(settings, bridge_id, 1)
        stats = process.stats[bridge_id]
        assert (stats.delivered, stats.dead_lettered) == (2, 1)

    assert large.value.code == 552
    assert recipient.value.recipients[0].code == 550
    assert sender.value.code == 553
    assert event["profile"]["id"] == sender_id(BOB) and event["channel"] == "smtp"
    assert event["properties"]["to"] == ["orders@shop.test"]
    assert "no sender address" in letter["reason"] and letter["payload"] == no_sender
    assert letter["topic"] == "smtp:orders@shop.test"


# --- Dovecot restarted ---


class Dovecot:
    """A Dovecot of this test, restarted on the same port and mail."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.server, self._popen = start_dovecot(state)

    def restart(self) -> None:
        self.stop()
        self.server, self._popen = start_dovecot(self.state, port=self.server.port)

    def stop(self) -> None:
        stop_group(self._popen.pid)
        self._popen.wait(10)


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    try:
        server = Dovecot(tmp_path / "dovecot")
    except ChannelUnavailable as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


async def test_the_imap_bridge_reconnects_after_a_dovecot_restart_and_loses_nothing(
    shared_settings: Settings, bridge_worker: ManagedProcess, dovecot: Dovecot
) -> None:
    settings = with_key(shared_settings)
    server, folder = dovecot.server, "INBOX"
    bridge_id = str(uuid.uuid4())
    config = imap_bridge(
        server, sealed(settings, server.password), folder, event_type="value:order"
    )
    await publish_bridge(settings, bridge_id, config)
    count = 200
    async with running_bridges(settings, "imap") as process:
        await connected(process, bridge_id)
        await append_mail(server, folder, [mail(f"m{n}", BOB) for n in range(count // 2)])
        await asyncio.to_thread(dovecot.restart)  # mid-stream: some not yet marked
        await append_mail(server, folder, [mail(f"m{n}", BOB) for n in range(count // 2, count)])

        async def all_seen() -> bool:
            flags = await imap_flags(server, folder)
            return len(flags) == count and all("\\Seen" in f for f in flags)

        await eventually(all_seen, timeout=60)
        assert process.stats[bridge_id].connects >= 2

    wanted = {f"<m{n}@example.com>" for n in range(count)}
    seen: dict[str, set[str]] = {}

    def complete(records: list[dict[str, Any]]) -> bool:
        for record in (r for r in records if r["source_id"] == bridge_id):
            [event] = record["events"]
            message_id = orjson.loads(event["properties"])["message_id"]
            seen.setdefault(message_id, set()).add(event["id"])
        return wanted <= set(seen)

    await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).intake,
        INTAKE_BATCH,
        until=complete,
        timeout=30,
    )
    assert set(seen) == wanted
    assert all(len(ids) == 1 for ids in seen.values())  # a redelivery is the same event

"""No secret reaches a log line: by field name, by registered value, by shape; and each
line is one JSON object with the ids of its context."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pydantic import BaseModel, SecretStr

from headwater.adapters.secrets import SecretBox
from headwater.observability.logs import EVENT_ID, REQUEST_ID, configure_logging
from headwater.observability.redaction import MASK, redact_text, register_secret
from headwater.settings import load_settings

REGISTERED = "s3cr3t-registered-value-0042"
WRITE_KEY = "hw_0123456789abcdef0123456789abcdef"
API_KEY = "hwk.acme.k1d.Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLWJ5dGVz"


@dataclass
class Destination:
    url: str
    password: str


class Login(BaseModel):
    email: str
    password: str
    token: str | None = None


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)
    configure_logging("info", "json", [REGISTERED], stream=stream)
    yield stream
    root.handlers[:] = kept[0]
    root.setLevel(kept[1])
    logging.captureWarnings(False)


def _records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_objects_logged_whole_lose_their_secret_fields(lines: io.StringIO) -> None:
    log = logging.getLogger("test.redaction")
    log.info("config %s", {"url": "https://x.example", "api_key": "k-123456789", "n": 1})
    log.info("dest %s", Destination("https://x.example", "hunter2-destination"))
    log.info("login %r", Login(email="a@b.c", password="pw-of-the-user", token="tok-value-1"))
    log.info("nested %s", [{"auth": {"password": "deep-password-1"}}])
    log.info("extra", extra={"write_key": "wk-value-1234", "tenant": "acme"})
    text = lines.getvalue()
    for secret in ("k-123456789", "hunter2-destination", "pw-of-the-user", "tok-value-1"):
        assert secret not in text
    assert "deep-password-1" not in text and "wk-value-1234" not in text
    records = _records(lines)
    assert records[4]["write_key"] == MASK and records[4]["tenant"] == "acme"
    assert "https://x.example" in text  # what is not a secret stays


def test_registered_values_and_shapes_are_cut_from_messages_and_tracebacks(
    lines: io.StringIO,
) -> None:
    log = logging.getLogger("test.redaction")
    register_secret("late-registered-secret")
    log.warning("got %s and %s", REGISTERED, "late-registered-secret")
    log.warning(f"keys {WRITE_KEY} {API_KEY} bearer {JWT}")
    log.warning("url amqp://guest:rabbit-pass@host:5672/ header Authorization: Bearer abcdef123456")
    log.warning("pairs password=plain-pw1 token: 'tok-2-value' secret=\"sec-3-value\"")
    try:
        raise RuntimeError(f"failed with {REGISTERED}")
    except RuntimeError:
        log.exception("boom")
    text = lines.getvalue()
    for secret in (
        REGISTERED,
        "late-registered-secret",
        WRITE_KEY,
        API_KEY,
        JWT,
        "rabbit-pass",
        "abcdef123456",
        "plain-pw1",
        "tok-2-value",
        "sec-3-value",
    ):
        assert secret not in text, secret
    assert "hw_012..." in text  # the prefix the code already shows of a key stays
    assert _records(lines)[-1]["exception"].startswith("Traceback")  # type: ignore[union-attr]


def test_every_line_carries_the_ids_of_its_context(lines: io.StringIO) -> None:
    log = logging.getLogger("test.redaction")
    log.info("outside")
    request = REQUEST_ID.set("req-1")
    event = EVENT_ID.set("ev-1")
    try:
        log.info("inside")
    finally:
        EVENT_ID.reset(event)
        REQUEST_ID.reset(request)
    outside, inside = _records(lines)
    assert "request_id" not in outside
    assert inside["request_id"] == "req-1" and inside["event_id"] == "ev-1"
    assert inside["level"] == "info" and inside["logger"] == "test.redaction"


def test_text_on_a_terminal_json_elsewhere_unless_forced() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    root = logging.getLogger()
    kept = (list(root.handlers), root.level)
    try:
        for choice, stream, is_json in (
            ("auto", Terminal(), False),
            ("auto", io.StringIO(), True),
            ("json", Terminal(), True),
            ("text", io.StringIO(), False),
        ):
            configure_logging("info", choice, stream=stream)  # type: ignore[arg-type]
            logging.getLogger("t").info("hello")
            line = stream.getvalue().strip()
            assert line.startswith("{") is is_json, (choice, line)
    finally:
        root.handlers[:] = kept[0]
        root.setLevel(kept[1])
        logging.captureWarnings(False)


def test_settings_name_every_secret_they_hold() -> None:
    settings = load_settings(
        api_secret="a" * 32,
        secrets_key="k" * 32 + "," + "j" * 32,
        outbound_amqp_url=SecretStr("amqp://user:amqp-password@host/"),
        metrics_token="m" * 32,
    )
    found = set(settings.secret_values())
    assert {"a" * 32, "k" * 32, "j" * 32, "amqp-password", "m" * 32} <= found
    assert redact_text("nothing secret here") == "nothing secret here"


def test_what_the_secret_box_seals_or_opens_is_never_logged() -> None:
    box = SecretBox("k" * 32)
    sealed = box.seal("sealed-by-the-api-0001")
    assert redact_text("x sealed-by-the-api-0001 y") == f"x {MASK} y"
    other = SecretBox("k" * 32)._fernet.encrypt(b"opened-by-the-worker-02").decode()
    assert redact_text("opened-by-the-worker-02") == "opened-by-the-worker-02"
    assert box.open(other) == "opened-by-the-worker-02"
    assert redact_text("opened-by-the-worker-02") == MASK
    assert box.open(sealed) == "sealed-by-the-api-0001"

"""A raw RFC 5322 message -> the fields of one event (pure: stdlib ``email``, no I/O).

The IMAP and SMTP bridges hand the raw bytes here (through the bridge mapping), so what
an email event holds is the same whatever brought it:

- ``from`` (the sender's address, lower-cased), ``from_name``, and ``sender_id``: an id
  made from the address alone (the same sender is always the same id, a valid profile
  id: name it in the mapping's ``profile_id`` to key events by their sender);
- ``to`` and ``cc`` (lists of addresses), ``subject``, ``date`` (ISO 8601, when the
  header parses), ``message_id``;
- ``text``: the text/plain parts, and ``html_text``: the text/html parts reduced to
  text, each cut at ``max_text_chars`` (``truncated`` is then true);
- ``headers``: the configured headers (name as configured -> first value);
- ``attachments``: name, content type and size in bytes of every other part (never
  their bytes).

What cannot be an event raises an :class:`~headwater.errors.InputError` with the reason
(the bridge dead-letters the message): more than ``max_bytes`` or ``max_parts``, no
header fields, no sender address, a header that does not parse.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Any

from headwater.core.ids import name_id
from headwater.errors import InvalidInput, PayloadTooLarge

__all__ = ["EmailLimits", "ParsedEmail", "html_to_text", "parse_email", "sender_id"]

_SENDERS = bytes.fromhex("5d1e0c7a2b9f4e3d8c6b5a4f3e2d1c0b")  # namespace of sender ids
_HEADER_CHARS = 1000  # of one header value kept
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:", re.M)  # a header field's name and colon


@dataclass(frozen=True, slots=True)
class EmailLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_parts: int = 100
    max_text_chars: int = 4000


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    fields: dict[str, Any]  # the event's payload (see the module doc)
    headers: dict[str, str]  # every header: lower-cased name -> first value
    message_id: str | None


def sender_id(address: str) -> str:
    """The id of a sender address (case-insensitive): a UUID string, a valid profile id."""
    return name_id(_SENDERS, address.strip().lower())


def parse_email(
    raw: bytes, limits: EmailLimits, headers: Sequence[str] = (), size: int | None = None
) -> ParsedEmail:
    """``size``: the message's whole size when ``raw`` is only its beginning (IMAP)."""
    whole = max(size or 0, len(raw))
    if whole > limits.max_bytes:
        raise PayloadTooLarge(f"message is {whole} bytes, over the {limits.max_bytes}-byte limit")
    if not _HEADER_LINE.match(raw.lstrip(b"\r\n")[:1000]):
        raise InvalidInput("not an RFC 5322 message: it starts with no header field")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    parts = sum(1 for _ in message.walk())
    if parts > limits.max_parts:
        raise PayloadTooLarge(f"message has {parts} parts, over the limit of {limits.max_parts}")
    senders = _addresses(message, "from")
    if not senders:
        raise InvalidInput("message has no sender address (From)")
    fields: dict[str, Any] = {
        "from": senders[0],
        "from_name": _display_name(message),
        "sender_id": sender_id(senders[0]),
        "to": _addresses(message, "to"),
        "cc": _addresses(message, "cc"),
        "subject": (_header(message, "subject") or "")[: limits.max_text_chars],
    }
    if (date := _date(message)) is not None:
        fields["date"] = date
    message_id = (_header(message, "message-id") or "").strip() or None
    if message_id:
        fields["message_id"] = message_id
    body = _Body(limits)
    for part in message.walk():
        if not part.is_multipart():
            body.add(part)
    fields.update(text=body.text("plain"), html_text=body.text("html"))
    fields["truncated"] = body.truncated
    fields["attachments"] = body.attachments
    fields["headers"] = {
        wanted: value for wanted in headers if (value := _header(message, wanted)) is not None
    }
    every = {}
    for key in message.keys():  # noqa: SIM118 - a Message is no dict
        if key.lower() not in every and (value := _header(message, key)) is not None:
            every[key.lower()] = value
    return ParsedEmail(fields, every, message_id)


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
        return None if value is None else " ".join(str(value).split())[:_HEADER_CHARS]
    except Exception:
        raise InvalidInput(f"malformed {name} header", field=name) from None


def _addresses(message: Message, name: str) -> list[str]:
    try:
        found: list[str] = []
        for header in message.get_all(name) or ():
            for address in getattr(header, "addresses", ()):
                if "@" in address.addr_spec[1:-1]:
                    found.append(address.addr_spec.lower())
        return found
    except Exception:
        raise InvalidInput(f"malformed {name} header", field=name) from None


def _display_name(message: Message) -> str:
    try:
        addresses = getattr(message.get("from"), "addresses", ())
        return str(addresses[0].display_name)[:_HEADER_CHARS] if addresses else ""
    except Exception:
        return ""


def _date(message: Message) -> str | None:
    try:
        moment = getattr(message.get("date"), "datetime", None)
    except Exception:
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:  # "-0000": the zone is unknown; take it as UTC
        moment = moment.replace(tzinfo=UTC)
    return str(moment.isoformat())


class _Body:
    """The text of the text parts and what the others are, within the limits."""

    def __init__(self, limits: EmailLimits) -> None:
        self._limit = limits.max_text_chars
        self._texts: dict[str, list[str]] = {"plain": [], "html": []}
        self.attachments: list[dict[str, Any]] = []
        self.truncated = False

    def add(self, part: Message) -> None:
        kind = part.get_content_type()
        filename = _filename(part)
        subtype = part.get_content_subtype()
        inline = part.get_content_disposition() != "attachment" and filename is None
        if inline and part.get_content_maintype() == "text" and subtype in self._texts:
            text = _decoded(part)
            self._texts[subtype].append(html_to_text(text) if subtype == "html" else text)
            return
        payload = part.get_payload(decode=True)
        entry: dict[str, Any] = {"content_type": kind, "size": len(payload or b"")}
        if filename:
            entry["name"] = filename[:_HEADER_CHARS]
        self.attachments.append(entry)

    def text(self, subtype: str) -> str:
        joined = "\n\n".join(t.strip() for t in self._texts[subtype] if t.strip())
        if len(joined) > self._limit:
            self.truncated = True
            return joined[: self._limit]
        return joined


def _filename(part: Message) -> str | None:
    try:
        return part.get_filename()
    except Exception:
        return None


def _decoded(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            return str(part.get_content())
        except (LookupError, ValueError, AssertionError):  # unknown charset, bad encoding
            pass
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


# --- HTML -> text ---------------------------------------------------------------------

_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})  # fmt: skip
_HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self.out.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """The visible text of an HTML document: no tags, scripts or styles; entities
    decoded; a line per block; runs of blanks collapsed."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.out).splitlines())
    return "\n".join(line for line in lines if line)

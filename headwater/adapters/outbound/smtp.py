"""Email through an SMTP server (HEADWATER_OUTBOUND_SMTP_HOST unless the target names
another, which the address policy checks first)."""

from __future__ import annotations

import asyncio
import re
import socket
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import orjson

from headwater.adapters.outbound.addresses import AddressGuard
from headwater.adapters.outbound.base import ServerTransport
from headwater.core.flows.state import OutboundRequest
from headwater.errors import DeliveryFailed
from headwater.settings import Settings

__all__ = ["SmtpTransport", "build_email"]

# one plain address (no display name, no list): a comma or a line break adds nothing
_ADDRESS = re.compile(r"[^@\s,;:<>\"()\[\]\\]+@[^@\s,;:<>\"()\[\]\\]+")
MAX_RECIPIENTS = 50


class SmtpTransport(ServerTransport):
    """``target``: ``to`` (one address, or a list of them), optional ``from`` (else
    HEADWATER_OUTBOUND_SMTP_FROM), ``subject``, ``host`` and ``port``. ``body``: the
    text, or ``{"subject": ..., "text": ...}``. The envelope names exactly the ``to``
    addresses. The idempotency key goes out as the Message-ID so receivers can spot a
    duplicate."""

    scheme = "smtp"

    def __init__(self, settings: Settings, guard: AddressGuard | None = None) -> None:
        super().__init__(
            settings.outbound_smtp_host,
            settings.outbound_smtp_port,
            settings.outbound_timeout,
            guard or AddressGuard(settings),
        )
        self._from = settings.outbound_smtp_from

    async def send(self, request: OutboundRequest) -> None:
        host, port = self._server(request)
        message, sender, recipients = build_email(request, self._from)
        envelope: dict[str, Any] = {"sender": sender, "recipients": recipients}
        try:
            address, _ = await self._address(request)
            if address == host:
                await aiosmtplib.send(
                    message, hostname=host, port=port, timeout=self._timeout, **envelope
                )
            else:  # connect to the checked address; TLS still verifies the host name
                sock = await _connected(address, port)
                with sock:
                    await aiosmtplib.send(
                        message, hostname=host, sock=sock, timeout=self._timeout, **envelope
                    )
        except aiosmtplib.SMTPResponseException as exc:
            # 4yz replies are transient by the SMTP standard, 5yz permanent
            raise DeliveryFailed(
                f"smtp {host}:{port} answered {exc.code}", retryable=exc.code < 500
            ) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            raise DeliveryFailed(
                f"smtp {host}:{port} refused every recipient ({codes})",
                retryable=all(code < 500 for code in codes),
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(
                f"smtp {host}:{port}: {type(exc).__name__}", retryable=True
            ) from exc


async def _connected(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _single_line(value: Any, what: str) -> str:
    text = str(value)
    if "\r" in text or "\n" in text:
        raise DeliveryFailed(f"email {what} holds a line break", retryable=False)
    return text


def _addresses(value: Any, what: str) -> list[str]:
    """One address from a string, or each of a list: never split on commas."""
    found = [value] if isinstance(value, str) else value
    if not isinstance(found, list) or not found or len(found) > MAX_RECIPIENTS:
        raise DeliveryFailed(
            f"email {what} must be an address or a list of 1-{MAX_RECIPIENTS}", retryable=False
        )
    for address in found:
        if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
            shown = repr(address)[:80]
            raise DeliveryFailed(f"email {what} {shown} is not one address", retryable=False)
    return found


def build_email(request: OutboundRequest, default_from: str) -> tuple[EmailMessage, str, list[str]]:
    """The message, its sender and its recipients (the SMTP envelope)."""
    recipients = _addresses(request.target.get("to"), "'to'")
    [sender] = _addresses(request.target.get("from") or default_from, "'from'")
    body = request.body
    subject = request.target.get("subject", "")
    if isinstance(body, dict):
        subject = body.get("subject", subject)
        text = body.get("text")
        text = text if isinstance(text, str) else orjson.dumps(body).decode()
    else:
        text = body if isinstance(body, str) else orjson.dumps(body).decode()
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = _single_line("" if subject is None else subject, "subject")
    message["Message-ID"] = f"<{request.idempotency_key}@headwater>"
    message.set_content(text)
    return message, sender, recipients

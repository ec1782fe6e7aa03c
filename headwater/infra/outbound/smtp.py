"""Email through an SMTP server (localhost:25 unless the target names another)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import aiosmtplib
import orjson

from headwater.core.flows.state import OutboundRequest
from headwater.errors import DeliveryFailed
from headwater.infra.outbound.base import ServerTransport, target_text
from headwater.settings import Settings

__all__ = ["SmtpTransport"]


class SmtpTransport(ServerTransport):
    """``target``: ``to`` (an address or a list), ``from``, optional ``subject``,
    ``host`` and ``port``. ``body``: the text, or ``{"subject": ..., "text": ...}``.
    The idempotency key goes out as the Message-ID so receivers can spot a duplicate."""

    scheme = "smtp"

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings.outbound_smtp_host, settings.outbound_smtp_port, settings.outbound_timeout
        )

    async def send(self, request: OutboundRequest) -> None:
        host, port = self._server(request)
        message = build_email(request)
        try:
            await aiosmtplib.send(message, hostname=host, port=port, timeout=self._timeout)
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


def build_email(request: OutboundRequest) -> EmailMessage:
    to: Any = request.target.get("to")
    recipients = [to] if isinstance(to, str) else to
    if not recipients or not all(isinstance(r, str) and "@" in r for r in recipients):
        raise DeliveryFailed("email target needs 'to' addresses", retryable=False)
    body = request.body
    subject = request.target.get("subject", "")
    if isinstance(body, dict):
        subject = body.get("subject", subject)
        text = body.get("text")
        text = text if isinstance(text, str) else orjson.dumps(body).decode()
    else:
        text = body if isinstance(body, str) else orjson.dumps(body).decode()
    message = EmailMessage()
    message["From"] = target_text(request, "from")
    message["To"] = ", ".join(recipients)
    message["Subject"] = str(subject)
    message["Message-ID"] = f"<{request.idempotency_key}@headwater>"
    message.set_content(text)
    return message

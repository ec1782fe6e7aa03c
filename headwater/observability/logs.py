"""One logging set-up for every process (``headwater <command>``).

Each record goes to stderr as one JSON object per line when stderr is not a terminal
(text on a terminal; ``HEADWATER_LOG_FORMAT`` forces either), with the request id of the
HTTP request it belongs to and the event or message id where the code knows it (the
context variables below, or ``extra={"event_id": ...}``), and without secrets
(:mod:`headwater.observability.redaction`).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import IO, Any, Literal

import orjson

from headwater.observability.redaction import RedactingFilter, register_secrets

__all__ = [
    "EVENT_ID",
    "MESSAGE_ID",
    "REQUEST_ID",
    "JsonFormatter",
    "LogFormat",
    "configure_logging",
]

LogFormat = Literal["auto", "json", "text"]

REQUEST_ID: ContextVar[str | None] = ContextVar("headwater_request_id", default=None)
EVENT_ID: ContextVar[str | None] = ContextVar("headwater_event_id", default=None)
MESSAGE_ID: ContextVar[str | None] = ContextVar("headwater_message_id", default=None)

_CONTEXT = (("request_id", REQUEST_ID), ("event_id", EVENT_ID), ("message_id", MESSAGE_ID))
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's colored duplicate of the message
}
# libraries that log every request or reconnect at INFO
_CHATTY = ("aiokafka", "opensearch", "elastic_transport", "httpx", "httpcore", "aio_pika")


class _Context(logging.Filter):
    """Adds the request, event and message ids of the current context to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in _CONTEXT:
            if getattr(record, name, None) is None:
                setattr(record, name, variable.get())
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ids..., extras..., "exception"}``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_") and value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return orjson.dumps(line, default=str).decode()


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = " ".join(
            f"{name}={getattr(record, name)}"
            for name, _ in _CONTEXT
            if getattr(record, name, None) is not None
        )
        return f"{text} [{ids}]" if ids else text


def _wants_json(choice: LogFormat, stream: IO[str]) -> bool:
    if choice != "auto":
        return choice == "json"
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):
        return True


def configure_logging(
    level: str,
    choice: LogFormat = "auto",
    secrets: Iterable[str | None] = (),
    stream: IO[str] | None = None,
) -> None:
    """Replace the root logger's handlers with one redacting handler on ``stream``
    (stderr); ``secrets`` are cut out of every line from now on."""
    register_secrets(secrets)
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.addFilter(_Context())
    handler.addFilter(RedactingFilter())
    if _wants_json(choice, stream):
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quieter = max(logging.WARNING, logging.getLevelName(level.upper()))
    for chatty in _CHATTY:
        logging.getLogger(chatty).setLevel(quieter)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # through the root handler
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.captureWarnings(True)

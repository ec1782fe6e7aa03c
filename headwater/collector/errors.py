"""Domain errors to HTTP answers for the collector (http_errors.py): a 503 says
the event was not stored, so SDKs retry it."""

from __future__ import annotations

from fastapi import FastAPI

from headwater.collector.observed import refused
from headwater.errors import BrokerUnavailable
from headwater.http_errors import install_common_handlers

__all__ = ["install_error_handlers"]


def _not_stored(exc: Exception) -> str:
    if isinstance(exc, BrokerUnavailable):
        return "event not stored: the event log is unavailable, retry later"
    return f"event not stored: {exc}"


def install_error_handlers(app: FastAPI, retry_after: int) -> None:
    install_common_handlers(app, retry_after, _not_stored, refused)

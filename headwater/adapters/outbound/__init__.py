"""Transports of the destinations agent: one small module per kind of outbound request,
each implementing :class:`headwater.core.ports.outbound.Transport`."""

from __future__ import annotations

from headwater.adapters.outbound.base import build_transports

__all__ = ["build_transports"]

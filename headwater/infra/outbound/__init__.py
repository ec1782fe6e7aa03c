"""Transports of the destinations agent: one small module per kind of outbound request,
each behind :class:`~headwater.infra.outbound.base.Transport`."""

from __future__ import annotations

from headwater.infra.outbound.base import Transport, build_transports

__all__ = ["Transport", "build_transports"]

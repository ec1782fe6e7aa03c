"""Bridges: extra producers that turn messages from a channel (MQTT, AMQP) into intake
records through the collector's own code path (``core/intake.py``)."""

from headwater.bridges.app import create_app

__all__ = ["create_app"]

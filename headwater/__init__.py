"""Headwater: a customer data platform built as an event-streaming pipeline."""

__all__ = ["__version__"]

__version__ = "0.1.0"

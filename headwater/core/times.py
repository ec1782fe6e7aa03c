"""Event times as epoch milliseconds, computed without floating point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["as_datetime", "as_ms", "epoch_ms"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch; naive times are UTC (a float product drops a ms)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND


def as_ms(moment: datetime | int) -> int:
    """Epoch milliseconds of a decoded Avro timestamp: already an int, or a datetime."""
    return moment if isinstance(moment, int) else epoch_ms(moment)


def as_datetime(moment: datetime | int) -> datetime:
    """A decoded Avro timestamp as a datetime: already one, or epoch ms (then UTC)."""
    return moment if isinstance(moment, datetime) else _EPOCH + moment * _MILLISECOND

"""Every Prometheus metric Headwater exports (docs/operations.md, "Metrics").

The names and labels are a contract with the dashboards and manifests in ``deploy/``:
never rename one. Labels are bounded: a route template (never a URL), a logical topic
name, a stage, a reason from a fixed list, a configured destination. Never a profile or
event id, a tenant-supplied string or a secret.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from headwater.errors import (
    InputError,
    InvalidInput,
    MalformedInput,
    PayloadTooLarge,
    RateLimited,
    SignatureRefused,
    SourceForbidden,
    Unauthenticated,
    UnknownSource,
)

__all__ = [
    "BRIDGE_MESSAGES",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "EVENTS_ACCEPTED",
    "EVENTS_REJECTED",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "JOB_PROGRESS",
    "OUTBOUND_ATTEMPTS",
    "OUTBOUND_BREAKER_OPEN",
    "OUTBOUND_RETRIES",
    "PRODUCE_SECONDS",
    "PROFILE_REBUILD_SWITCHES",
    "SEARCH_BULK_ERRORS",
    "SEARCH_BULK_SECONDS",
    "STAGE_BATCH_SECONDS",
    "STAGE_MESSAGES_IN",
    "STAGE_RECORDS_OUT",
    "dead_letter_reason",
    "logical_topic",
    "rejection_reason",
    "service",
    "set_service",
]

# fast paths (a produce acknowledgement, a collector request) take milliseconds
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# batches and bulk requests take longer
_SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

HTTP_REQUESTS = Counter(
    "headwater_http_requests", "Answered requests", ["service", "route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "headwater_http_request_seconds", "Request duration", ["service", "route"], buckets=_FAST
)
EVENTS_ACCEPTED = Counter(
    "headwater_events_accepted", "Events accepted into intake", ["service", "channel"]
)
EVENTS_REJECTED = Counter(
    "headwater_events_rejected",
    "Requests or channel messages refused (one per refused request or message)",
    ["service", "channel", "reason"],
)
PRODUCE_SECONDS = Histogram(
    "headwater_produce_seconds",
    "Time from send to the Kafka acknowledgement",
    ["service", "topic"],
    buckets=_FAST,
)
STAGE_MESSAGES_IN = Counter(
    "headwater_stage_messages_in", "Messages consumed by a worker stage", ["stage"]
)
STAGE_RECORDS_OUT = Counter(
    "headwater_stage_records_out", "Records a stage produced (acknowledged)", ["stage", "topic"]
)
STAGE_BATCH_SECONDS = Histogram(
    "headwater_stage_batch_seconds", "Time to process one batch", ["stage"], buckets=_SLOW
)
CONSUMER_LAG = Gauge(
    "headwater_consumer_lag",
    "End offset minus committed offset, per partition this worker is assigned",
    ["stage", "topic", "partition"],
    multiprocess_mode="livemax",
)
DEAD_LETTERS = Counter(
    "headwater_dead_letters", "Records sent to the dead-letter topic", ["stage", "reason"]
)
OUTBOUND_ATTEMPTS = Counter(
    "headwater_outbound_attempts", "Outbound calls", ["destination_kind", "outcome"]
)
OUTBOUND_RETRIES = Counter("headwater_outbound_retries", "Outbound retries", ["destination_kind"])
OUTBOUND_BREAKER_OPEN = Gauge(
    "headwater_outbound_breaker_open",
    "Open circuit breakers (1 for a configured server whose breaker is open)",
    ["destination_kind", "destination"],
    multiprocess_mode="livesum",
)
SEARCH_BULK_SECONDS = Histogram(
    "headwater_search_bulk_seconds", "Bulk request duration", ["index_kind"], buckets=_SLOW
)
SEARCH_BULK_ERRORS = Counter(
    "headwater_search_bulk_errors", "Bulk item or request errors", ["index_kind", "reason"]
)
PROFILE_REBUILD_SWITCHES = Counter(
    "headwater_profile_rebuild_switches",
    "Partitions of the profile table a replay's rebuild replaced, or failed to",
    ["outcome"],
)
BRIDGE_MESSAGES = Counter(
    "headwater_bridge_messages", "Channel messages handled by bridges", ["kind", "outcome"]
)
JOB_PROGRESS = Gauge(
    "headwater_job_progress_ratio",
    "Progress (0..1) of running jobs",
    ["job_kind"],
    multiprocess_mode="livemax",
)

_service = "unknown"


def set_service(name: str) -> None:
    """Which process this is (collector, api, worker, bridge): the ``service`` label.
    Called once as a process starts; its scrapes leave out the ``*_created`` series."""
    global _service
    _service = name
    disable_created_metrics()  # type: ignore[no-untyped-call]


def service() -> str:
    return _service


# topics named by the platform: <prefix>.<logical name>; anything else (a tenant's topic
# that a flow publishes to) is "other"
_LOGICAL = frozenset(
    {
        "intake",
        "events",
        "profiles",
        "profile.ops",
        "identity",
        "merges",
        "outbound",
        "config",
        "config.history",
        "deadletter",
    }
)


def logical_topic(prefix: str, topic: str) -> str:
    """The bounded name of ``topic``: ``intake`` for ``hw.intake``, else ``other``."""
    if topic.startswith(prefix) and topic[len(prefix) : len(prefix) + 1] == ".":
        name = topic[len(prefix) + 1 :]
        if name in _LOGICAL:
            return name
    return "other"


_REASONS: tuple[tuple[type[InputError], str], ...] = (
    (PayloadTooLarge, "too_large"),
    (SignatureRefused, "signature"),
    (RateLimited, "rate_limited"),
    (UnknownSource, "unauthorized"),
    (SourceForbidden, "unauthorized"),
    (Unauthenticated, "unauthorized"),
    (MalformedInput, "invalid"),
    (InvalidInput, "invalid"),
)


def rejection_reason(error: BaseException) -> str:
    """The ``reason`` label of a refused request: a fixed list, never the message."""
    for kind, reason in _REASONS:
        if isinstance(error, kind):
            return reason
    return "other"


# dead-letter reasons are free text (they name the record); the label is one of these
_DEAD_LETTER_REASONS: tuple[tuple[str, str], ...] = (
    ("undecodable", "undecodable"),
    ("outbound request refused", "refused"),
    ("worker_max_record_bytes", "too_large"),
    ("profile_max_bytes", "too_large"),
    ("TooLarge", "too_large"),
    ("bridge ", "mapping"),
    ("circuit open", "breaker_open"),
    ("after ", "delivery_failed"),
    ("timed out", "delivery_failed"),
    ("refused for good", "rejected"),
)


def dead_letter_reason(reason: str, kind: str | None = None) -> str:
    """The bounded ``reason`` label of a dead letter: ``kind`` when the caller names one,
    else what the text begins or is known by, else ``other``."""
    if kind is not None:
        return kind
    for marker, label in _DEAD_LETTER_REASONS:
        if reason.startswith(marker) or (len(marker) > 8 and marker in reason):
            return label
    return "other"

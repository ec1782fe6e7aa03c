"""The one error hierarchy of Headwater.

    HeadwaterError
    ├── InputError                 client sent something we refuse (edges map it to 4xx)
    │   ├── MalformedInput          not parseable (bad JSON, bad encoding)        -> 400
    │   ├── InvalidInput            parseable but a field is missing or wrong     -> 422
    │   │   ├── ConditionSyntaxError  a condition does not parse (line, column, expected)
    │   │   ├── ConditionNotSearchable  a condition has no search-engine equivalent
    │   │   └── FlowInvalid           a flow or rule fails validation (every problem listed)
    │   ├── PayloadTooLarge         over a size limit                             -> 413
    │   ├── UnknownSource           event source does not exist                   -> 401
    │   ├── SignatureRefused        a signed webhook's signature is missing, wrong,
    │   │                           stale or replayed                              -> 401
    │   ├── NotFound                no such thing (a redirect; an entity of the caller's
    │   │                           tenant in the private API)                    -> 404
    │   ├── SourceForbidden         source disabled or channel not allowed        -> 403
    │   ├── RateLimited             the source sent more than its rate limit      -> 429
    │   └── AccessError             private API: who may do what
    │       ├── Unauthenticated     no, bad, expired or revoked credentials       -> 401
    │       ├── Forbidden           authenticated but not allowed                 -> 403
    │       ├── Conflict            the entity exists or changed meanwhile        -> 409
    │       └── TooManyAttempts     login locked after repeated failures          -> 429
    ├── DependencyError            a service we depend on failed (retry, back off)
    │   ├── BrokerUnavailable       Kafka did not acknowledge in time             -> 503
    │   ├── NotReady                configuration not loaded yet                  -> 503
    │   └── SearchUnavailable       the search engine is unreachable or overloaded
    ├── SearchRejected             the search engine refused a request for good
    ├── RecordRejected             Kafka refused a record for good (too large, bad topic)
    ├── ActionFailed               a flow node could not run (recorded in the trace)
    ├── DeliveryFailed             an outbound request failed (``retryable`` or not)
    ├── SchemaError                Avro schema problems
    │   └── UnknownSchema           a message names a writer schema we do not know
    └── ConfigurationError         settings or configuration records are wrong

Third-party exceptions are translated at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

__all__ = [
    "AccessError",
    "ActionFailed",
    "BrokerUnavailable",
    "ChannelError",
    "ConditionNotSearchable",
    "ConditionSyntaxError",
    "ConfigurationError",
    "Conflict",
    "DeliveryFailed",
    "DependencyError",
    "FlowInvalid",
    "Forbidden",
    "HeadwaterError",
    "InputError",
    "InvalidInput",
    "MalformedInput",
    "MalformedPacket",
    "NotFound",
    "NotReady",
    "PayloadTooLarge",
    "RateLimited",
    "RecordRejected",
    "SchemaError",
    "SearchRejected",
    "SearchUnavailable",
    "SecretsUnavailable",
    "SignatureRefused",
    "SourceForbidden",
    "TooManyAttempts",
    "Unauthenticated",
    "UnknownSchema",
    "UnknownSource",
]


class HeadwaterError(Exception):
    """Root of every error Headwater raises on purpose."""


class InputError(HeadwaterError):
    """The client sent input we refuse; ``status`` is the HTTP status the edges use."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class MalformedInput(InputError):
    status = 400


class InvalidInput(InputError):
    status = 422


class ConditionSyntaxError(InvalidInput):
    """A condition that does not parse or makes no sense; ``line`` and ``column`` are
    1-based, ``expected`` names what would have been accepted there."""

    def __init__(
        self,
        message: str,
        *,
        line: int,
        column: int,
        expected: tuple[str, ...] = (),
        field: str | None = None,
    ) -> None:
        super().__init__(f"{message} (line {line}, column {column})", field=field)
        self.line = line
        self.column = column
        self.expected = expected


class ConditionNotSearchable(InvalidInput):
    """A valid condition the search engine cannot answer the same way (e.g. a numeric
    range over a free-form trait, or an ``event.*`` path in a profile search)."""


class FlowInvalid(InvalidInput):
    """A flow or rule refused on save; ``problems`` lists every reason found."""

    def __init__(self, problems: list[str], *, field: str | None = None) -> None:
        super().__init__("; ".join(problems), field=field)
        self.problems = problems


class PayloadTooLarge(InputError):
    status = 413


class UnknownSource(InputError):
    status = 401


class SignatureRefused(InputError):
    """A source that requires signed webhooks got a request whose HMAC signature is
    missing, does not match, carries a stale timestamp or was seen before; nothing of
    it is stored."""

    status = 401


class NotFound(InputError):
    status = 404


class SourceForbidden(InputError):
    status = 403


class RateLimited(InputError):
    """Over the source's rate limit; ``retry_after`` seconds until the request would fit."""

    status = 429

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class AccessError(InputError):
    """The private API refuses a request because of who asks, or what they ask for."""


class Unauthenticated(AccessError):
    status = 401


class Forbidden(AccessError):
    status = 403


class Conflict(AccessError):
    status = 409


class TooManyAttempts(AccessError):
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DependencyError(HeadwaterError):
    """A dependency failed in a way that may pass: callers retry or answer 503."""


class BrokerUnavailable(DependencyError):
    pass


class ChannelError(DependencyError):
    """A bridge's channel server refused the connection or a subscription, ended the
    connection with a reason, or sent what its protocol does not allow: the bridge
    reconnects with back-off (the message names the reason, never a credential)."""


class MalformedPacket(ChannelError):
    """Bytes from a channel server that are not a valid packet of its protocol."""


class NotReady(DependencyError):
    """The process cannot answer yet (e.g. configuration still loading)."""


class SearchUnavailable(DependencyError):
    pass


class SecretsUnavailable(DependencyError):
    """Stored secrets cannot be sealed or opened: HEADWATER_SECRETS_KEY is unset or wrong."""


class SearchRejected(HeadwaterError):
    """The search engine refused a request; retrying the same request will not help."""


class RecordRejected(HeadwaterError):
    """A record that can never be written as it is (over a size limit, an invalid or
    forbidden topic): retrying will not help, so its cause is dead-lettered instead."""


class ActionFailed(HeadwaterError):
    """A flow action could not do what its node asked (bad value, unwritable path); the
    runner records it in the node's trace and the branch stops there."""


class DeliveryFailed(HeadwaterError):
    """An outbound request (HTTP call, email, publish) failed; ``retryable`` says whether
    trying again may help (connection refused, timeout, 5xx) or not (4xx, bad target).
    The message never holds credentials or headers."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class SchemaError(HeadwaterError):
    pass


class UnknownSchema(SchemaError):
    pass


class ConfigurationError(HeadwaterError):
    pass

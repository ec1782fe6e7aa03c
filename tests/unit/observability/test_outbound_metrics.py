"""Open breakers are counted under a configured server's name, or ``<kind>:other`` for
destinations a flow chose itself (an HTTP host is a tenant's string: never a label)."""

from __future__ import annotations

from headwater.agents.observed import OutboundObserved
from headwater.core.delivery import CircuitBreaker
from headwater.core.flows.state import OutboundRequest
from headwater.errors import DeliveryFailed
from headwater.observability.exposition import metrics_body
from tests.support.metrics import parse_metrics


class _Server:
    """A transport whose default server is configured (as SMTP's, MQTT's)."""

    def destination(self, request: OutboundRequest) -> str:
        return f"mqtt:{request.target.get('host', 'broker.internal')}:1883"


class _Http:
    """A transport with no default: every destination comes from the flow."""

    def destination(self, request: OutboundRequest) -> str:
        if "url" not in request.target:
            raise DeliveryFailed("no url", retryable=False)
        return f"http:{request.target['url']}:443"


def _gauge(kind: str, destination: str) -> float:
    return parse_metrics(metrics_body().decode()).value(
        "headwater_outbound_breaker_open", destination_kind=kind, destination=destination
    )


def test_open_breakers_are_counted_by_configured_server_or_as_other() -> None:
    observed = OutboundObserved({"mqtt": _Server(), "http": _Http()})  # type: ignore[dict-item]
    breakers = {name: CircuitBreaker(1, 30.0) for name in ("mqtt:broker.internal:1883",)}
    breakers["mqtt:tenant-chosen.example:1883"] = CircuitBreaker(1, 30.0)
    breakers["http:a.example:443"] = CircuitBreaker(1, 30.0)
    breakers["http:b.example:443"] = CircuitBreaker(1, 30.0)
    for destination, kind in (
        ("mqtt:broker.internal:1883", "mqtt"),
        ("mqtt:tenant-chosen.example:1883", "mqtt"),
        ("http:a.example:443", "http"),
        ("http:b.example:443", "http"),
    ):
        breakers[destination].failed(0.0)  # one failure opens these
        observed.breakers(kind, destination, breakers, 1.0)
    assert _gauge("mqtt", "mqtt:broker.internal:1883") == 1
    assert _gauge("mqtt", "mqtt:other") == 1
    assert _gauge("http", "http:other") == 2
    assert "a.example" not in metrics_body().decode()

    breakers["http:a.example:443"].succeeded()
    observed.breakers("http", "http:a.example:443", breakers, 2.0)
    assert _gauge("http", "http:other") == 1

"""The Grafana dashboard (deploy/grafana/headwater.json) and the alerting rules
(deploy/prometheus/alerts.yml) are valid PromQL and query only the agreed metrics.

The names are the ones the metrics and the dashboard were built to (docs/operations.md,
"Metrics"): a metric renamed in the code, or a query with a typo, fails here instead of
leaving an empty panel or an alert that never fires in production.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "headwater.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}

# name -> type, as agreed between the metrics and the deployment work (issue 19)
AGREED_METRICS = {
    "headwater_http_requests_total": "counter",
    "headwater_http_request_seconds": "histogram",
    "headwater_events_accepted_total": "counter",
    "headwater_events_rejected_total": "counter",
    "headwater_produce_seconds": "histogram",
    "headwater_stage_messages_in_total": "counter",
    "headwater_stage_records_out_total": "counter",
    "headwater_stage_batch_seconds": "histogram",
    "headwater_consumer_lag": "gauge",
    "headwater_dead_letters_total": "counter",
    "headwater_outbound_attempts_total": "counter",
    "headwater_outbound_retries_total": "counter",
    "headwater_outbound_breaker_open": "gauge",
    "headwater_search_bulk_seconds": "histogram",
    "headwater_search_bulk_errors_total": "counter",
    "headwater_bridge_messages_total": "counter",
    "headwater_job_progress_ratio": "gauge",
}
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
# what the issue asks the dashboard to show, by the metric that shows it
REQUIRED = {
    "intake rate": "headwater_events_accepted_total",
    "rejects by reason": "headwater_events_rejected_total",
    "consumer lag": "headwater_consumer_lag",
    "stage batch latency": "headwater_stage_batch_seconds",
    "dead letters": "headwater_dead_letters_total",
    "destination attempts": "headwater_outbound_attempts_total",
    "destination retries": "headwater_outbound_retries_total",
    "breaker state": "headwater_outbound_breaker_open",
    "search bulk latency": "headwater_search_bulk_seconds",
    "search bulk errors": "headwater_search_bulk_errors_total",
    "request rates": "headwater_http_requests_total",
}


def _panels(dashboard: dict[str, object]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for panel in dashboard["panels"]:  # type: ignore[attr-defined]
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def _expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        target["expr"]
        for panel in _panels(dashboard)
        for target in panel.get("targets", [])  # type: ignore[attr-defined]
    ]


def _alert_expressions() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def _series(expr: str) -> list[str]:
    """The series an expression selects, from its parsed PromQL (a syntax error raises)."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    found: list[str] = []

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def metric_of(series: str) -> str:
    """The metric a queried series belongs to (a histogram's _bucket, _sum, _count)."""
    if series in AGREED_METRICS:
        return series
    for suffix in HISTOGRAM_SERIES:
        base = series.removesuffix(suffix)
        if base != series and AGREED_METRICS.get(base) == "histogram":
            return base
    raise AssertionError(f"{series} is not one of the agreed metrics")


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_queried_metric_is_an_agreed_one(source: str) -> None:
    expressions = _expressions() if source == "dashboard" else _alert_expressions()
    assert len(expressions) >= 10
    unknown = {series for expr in expressions for series in _series(expr) if not _is_agreed(series)}
    assert not unknown, f"queries name metrics nobody serves: {sorted(unknown)}"


def test_a_syntax_error_is_caught() -> None:
    with pytest.raises(ValueError):
        _series("sum(rate(headwater_events_accepted_total[$__rate_interval])")


def _is_agreed(series: str) -> bool:
    try:
        metric_of(series)
    except AssertionError:
        return False
    return True


def test_a_misspelt_metric_is_caught() -> None:
    assert _is_agreed("headwater_stage_batch_seconds_bucket")
    assert not _is_agreed("headwater_stage_batch_second_bucket")
    assert not _is_agreed("headwater_consumer_lag_bucket")  # a gauge has no buckets


def test_histograms_are_read_as_quantiles_of_their_buckets() -> None:
    for expr in _expressions() + _alert_expressions():
        for series in _series(expr):
            if AGREED_METRICS[metric_of(series)] == "histogram":
                assert series.endswith("_bucket") and "histogram_quantile(" in expr, expr
            elif AGREED_METRICS[metric_of(series)] == "counter":
                assert "rate(" in expr or "increase(" in expr, f"a raw counter: {expr}"


def test_the_dashboard_shows_what_an_operator_needs() -> None:
    queried = {metric_of(s) for expr in _expressions() for s in _series(expr)}
    missing = {what: name for what, name in REQUIRED.items() if name not in queried}
    assert not missing, f"no panel for {missing}"
    expressions = _expressions()
    for quantile in ("0.5", "0.99"):
        assert any(
            f"histogram_quantile({quantile}" in e and "headwater_stage_batch_seconds" in e
            for e in expressions
        ), f"no p{quantile} of the stage batch latency"


def test_panels_use_the_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
    for panel in _panels(dashboard):
        if panel.get("type") != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    ids = [panel["id"] for panel in _panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids repeat"


def _package_defines_metrics() -> bool:
    return any(
        "prometheus_client" in path.read_text() for path in (ROOT / "headwater").rglob("*.py")
    )


@pytest.mark.skipif(
    not _package_defines_metrics(), reason="the package defines no Prometheus metric yet"
)
def test_the_package_defines_every_metric_the_dashboard_queries() -> None:
    """Each dashboard metric is named in the code: as the full name, or without the
    ``headwater_`` namespace or a counter's ``_total`` (prometheus_client adds both)."""
    source = "\n".join(p.read_text() for p in (ROOT / "headwater").rglob("*.py"))
    expressions = _expressions() + _alert_expressions()
    queried = {metric_of(s) for expr in expressions for s in _series(expr)}
    missing = []
    for name in sorted(queried):
        bare = name.removeprefix("headwater_").removesuffix("_total")
        spelled = rf"[\"'](headwater_)?{re.escape(bare)}(_total)?[\"']"
        if not re.search(spelled, source):
            missing.append(name)
    assert not missing, f"the dashboard queries metrics the code does not define: {missing}"

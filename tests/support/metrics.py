"""Reading a process's ``/metrics`` in tests (Prometheus text, parsed by
prometheus_client's own parser)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Scrape", "parse_metrics", "scrape"]


@dataclass(frozen=True)
class Scrape:
    samples: list[tuple[str, dict[str, str], float]]

    def value(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
        return sum(
            value
            for sample, found, value in self.samples
            if sample == name and all(found.get(k) == v for k, v in labels.items())
        )

    def series(self, name: str) -> list[dict[str, str]]:
        return [found for sample, found, _ in self.samples if sample == name]


def parse_metrics(text: str) -> Scrape:
    return Scrape(
        [
            (sample.name, dict(sample.labels), float(sample.value))
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]
    )


async def scrape(
    url: str,
    headers: dict[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Scrape:
    """GET ``url`` (through ``transport``: an app in this process) and parse it."""
    async with httpx.AsyncClient(timeout=10, transport=transport) as http:
        answer = await http.get(url, headers=headers)
    answer.raise_for_status()
    assert answer.headers["content-type"].startswith("text/plain")
    return parse_metrics(answer.text)

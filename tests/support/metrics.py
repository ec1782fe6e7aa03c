"""Reading a process's ``/metrics`` in tests (Prometheus text, parsed by
prometheus_client's own parser)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Scrape", "scrape"]


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


async def scrape(url: str, headers: dict[str, str] | None = None) -> Scrape:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(url, headers=headers)
    answer.raise_for_status()
    assert answer.headers["content-type"].startswith("text/plain")
    return Scrape(
        [
            (sample.name, dict(sample.labels), float(sample.value))
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        ]
    )

"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import Endpoints, container_endpoints, embedded_endpoints


@pytest.fixture(scope="session", params=["embedded", "containers"])
def endpoints(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Endpoints]:
    """A real Kafka-protocol broker and search server (see tests/support/services.py)."""
    if request.param == "containers":
        with container_endpoints() as found:
            yield found
    else:
        logs: Path = tmp_path_factory.mktemp("services")
        with embedded_endpoints(logs) as found:
            yield found

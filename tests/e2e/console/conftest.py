"""One ``headwater up`` stack, its admin and a loopback webhook receiver, shared by the
console's browser tests (screens and flows) of this package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import UpStack, run_up
from tests.e2e.console_browser import (
    TMS_KEY,
    Console,
    Hooks,
    console_on,
    loopback_hooks,
    need_built_console,
    own_prefixes,
)
from tests.support.services import Endpoints

PREFIXES = own_prefixes()


@pytest.fixture(scope="package")
def hooks() -> Iterator[Hooks]:
    with loopback_hooks() as server:
        yield server


@pytest.fixture(scope="package")
def stack(
    endpoints: Endpoints, hooks: Hooks, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[UpStack]:
    need_built_console()
    external = not endpoints.standins
    port = hooks.url.split(":")[2].split("/")[0]
    settings = {
        **PREFIXES,
        "HEADWATER_OUTBOUND_ALLOW": f'["127.0.0.1:{port}"]',  # only the test's server
        "HEADWATER_TMS_KEY": TMS_KEY,
    }
    with run_up(
        tmp_path_factory.mktemp("console"), endpoints if external else None, settings=settings
    ) as up:
        yield up


@pytest.fixture(scope="package")
def console(stack: UpStack) -> Console:
    return console_on(stack, PREFIXES)

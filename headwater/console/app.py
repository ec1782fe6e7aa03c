"""The private API app factory (``headwater api``). Never mounted on the collector."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from headwater import __version__
from headwater.console.errors import install_error_handlers
from headwater.console.login import prune_revocations
from headwater.console.models import ErrorBody
from headwater.console.routes import (
    accounts,
    actions,
    automation,
    bridges,
    console_info,
    dashboard,
    data,
    destinations,
    health,
    history,
    jobs,
    merge_settings,
    profile_search,
    secrets,
    source_signing,
    sources,
    stats,
    tenants,
    user,
    workers,
)
from headwater.console.runtime import ConsoleRuntime
from headwater.console.web_ui import console_routes
from headwater.errors import HeadwaterError
from headwater.observability.exposition import GuardedMetrics, HttpMetrics
from headwater.settings import Settings

__all__ = ["PUBLIC_ROUTES", "create_app"]

# Routes answered without credentials; every other route needs them (tests enforce it).
PUBLIC_ROUTES = frozenset({"/health", "/openapi.json", "/user/token", "/user/token/refresh"})

log = logging.getLogger(__name__)

_ERRORS = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        401: "no, invalid, expired or revoked credentials",
        403: "the role or tenant may not do this",
        422: "a field is missing or invalid",
        503: "Kafka or the search engine is unavailable; retry",
    }.items()
}


PRUNE_EVERY = 3600.0  # seconds between sweeps of expired revoked-token entries


async def _prune_forever(runtime: ConsoleRuntime) -> None:
    while True:
        try:
            pruned = await prune_revocations(runtime, datetime.now(UTC))
            if pruned:
                log.info("removed %d expired revoked-token entries", pruned)
        except (HeadwaterError, TimeoutError) as exc:  # try again next time
            log.warning("pruning revoked tokens failed: %s", exc)
        await asyncio.sleep(PRUNE_EVERY)


def create_app(settings: Settings, runtime: ConsoleRuntime | None = None) -> FastAPI:
    """Refuses (ConfigurationError) without HEADWATER_API_SECRET: there is no default."""
    runtime = runtime or ConsoleRuntime.create(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        pruning = asyncio.create_task(_prune_forever(runtime), name="prune-revocations")
        try:
            yield
        finally:
            pruning.cancel()
            await asyncio.gather(pruning, return_exceptions=True)
            await runtime.stop()

    app = FastAPI(
        title="Headwater private API",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses=_ERRORS,  # type: ignore[arg-type]
    )
    app.state.runtime = runtime
    for router in (
        health.router,
        user.router,
        accounts.router,
        sources.sources,
        source_signing.router,
        sources.mappings,
        sources.event_types,
        automation.flows,
        automation.rules,
        automation.segments,
        merge_settings.router,
        secrets.router,
        data.router,
        stats.router,
        dashboard.router,
        console_info.router,
        profile_search.router,
        actions.router,
        tenants.router,
        history.router,
        destinations.router,
        workers.router,
        bridges.bridges,
        jobs.router,
    ):
        app.include_router(router)
    app.router.routes.extend(console_routes())  # static files, no credentials
    install_error_handlers(app, settings.retry_after)
    # GET /metrics answers only the scrape token (HEADWATER_METRICS_TOKEN), never a
    # user's credentials: it is no route of the API (docs/operations.md, "Metrics")
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    app.add_middleware(GuardedMetrics, token=token)
    app.add_middleware(HttpMetrics, service="api")  # outermost: every answer, request ids
    return app

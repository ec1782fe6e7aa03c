"""The private API app factory (``headwater api``). Never mounted on the collector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from headwater import __version__
from headwater.console.errors import install_error_handlers
from headwater.console.models import ErrorBody
from headwater.console.routes import accounts, data, health, sources, stats, tenants, user
from headwater.console.runtime import ConsoleRuntime
from headwater.settings import Settings

__all__ = ["PUBLIC_ROUTES", "create_app"]

# Routes answered without credentials; every other route needs them (tests enforce it).
PUBLIC_ROUTES = frozenset({"/health", "/openapi.json", "/user/token", "/user/token/refresh"})

_ERRORS = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        401: "no, invalid, expired or revoked credentials",
        403: "the role or tenant may not do this",
        422: "a field is missing or invalid",
        503: "Kafka or the search engine is unavailable; retry",
    }.items()
}


def create_app(settings: Settings, runtime: ConsoleRuntime | None = None) -> FastAPI:
    """Refuses (ConfigurationError) without HEADWATER_API_SECRET: there is no default."""
    runtime = runtime or ConsoleRuntime.create(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
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
        sources.mappings,
        data.router,
        stats.router,
        tenants.router,
    ):
        app.include_router(router)
    install_error_handlers(app, settings.retry_after)
    return app

"""The collector app factory. Only collection and health routes are mounted."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from headwater import __version__
from headwater.collector import observed
from headwater.collector.errors import install_error_handlers
from headwater.collector.hot_paths import CollectorApp
from headwater.collector.redirect_routes import redirect_router
from headwater.collector.routes import OPENAPI_MODELS, router
from headwater.collector.runtime import CollectorRuntime
from headwater.collector.segment_routes import SEGMENT_MODELS, segment_router
from headwater.observability.exposition import HttpMetrics
from headwater.settings import Settings

__all__ = ["YOUNG_GC_THRESHOLD", "create_app"]

# Objects allocated (net) before a young-generation collection; CPython's default is 700.
# A request's objects stay alive while it waits for Kafka's acknowledgement, so each
# collection scans the objects of every request in flight (32 /v1/batch requests of 100
# messages: ~150,000) and promotes them, to be scanned again by the older generations:
# ~0.65 ms of CPU per such request at 700 (docs/performance.md). A collection costs what
# is alive, so rarer collections cost less; garbage without cycles is freed by reference
# counting either way, and a collection of 100,000 objects takes a few milliseconds.
YOUNG_GC_THRESHOLD = 100_000


def create_app(settings: Settings, runtime: CollectorRuntime | None = None) -> FastAPI:
    runtime = runtime or CollectorRuntime.create(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        # Everything allocated so far lives as long as the process: keep it out of
        # the collector's view so collections stay short under load (p99: 38 -> 14 ms).
        gc.freeze()
        thresholds = gc.get_threshold()
        gc.set_threshold(YOUNG_GC_THRESHOLD, *thresholds[1:])
        try:
            yield
        finally:
            gc.set_threshold(*thresholds)
            await runtime.stop()

    app = CollectorApp(
        title="Headwater collector",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.include_router(router)
    app.include_router(segment_router)
    app.include_router(redirect_router)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        max_age=86400,
    )
    install_error_handlers(app, settings.retry_after)
    # outermost: counts every answer, and gives every log line of a request its id
    app.add_middleware(HttpMetrics, service=observed.SERVICE)
    _document_models(app)
    return app


def _document_models(app: FastAPI) -> None:
    """Add request models that routes read by hand (for size limits) to the OpenAPI doc."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in [*OPENAPI_MODELS, *SEGMENT_MODELS]:
                model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(model_schema.pop("$defs", {}))
                components[model.__name__] = model_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

"""The health endpoint of a bridge process (``headwater bridge KIND``): the bridges run
in its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from headwater import __version__
from headwater.bridges.process import BridgeProcess
from headwater.observability.exposition import CONTENT_TYPE_LATEST, HttpMetrics, metrics_body
from headwater.settings import Settings

__all__ = ["create_app"]


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def create_app(settings: Settings, channel: str) -> FastAPI:
    process = BridgeProcess(settings, channel)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await process.start()
        try:
            yield
        finally:
            await process.stop()

    app = FastAPI(
        title=f"Headwater {channel} bridge",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.process = process

    @app.get("/health", summary="Liveness, and each bridge's state and counters")
    async def health(_: Request) -> Response:
        bridges = {i: s.as_dict() for i, s in sorted(process.stats.items())}
        return _json({"status": "ok", "channel": channel, "bridges": bridges})

    @app.get("/health/ready", summary="Readiness: Kafka reachable and configuration loaded")
    async def ready(_: Request) -> Response:
        kafka = await process.sender.producer.reachable()
        config = process.config.caught_up
        ok = kafka and config
        bridges = {i: s.as_dict() for i, s in sorted(process.stats.items())}
        body = {"status": "ready" if ok else "not ready", "kafka": kafka, "config": config}
        return _json({**body, "bridges": bridges}, 200 if ok else 503)

    @app.get("/metrics", summary="Prometheus metrics of this process")
    async def metrics(_: Request) -> Response:
        return Response(metrics_body(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(HttpMetrics, service="bridge")
    return app

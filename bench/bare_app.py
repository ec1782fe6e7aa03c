"""The baseline for the collector benchmark: FastAPI on uvicorn, parse the body, answer.

Same server settings as ``headwater collector`` (uvloop, httptools, no access log).
"""

from __future__ import annotations

import sys
import uuid

import orjson
import uvicorn
from fastapi import FastAPI, Request
from starlette.responses import Response

app = FastAPI()


@app.post("/track")
async def track(request: Request) -> Response:
    body = orjson.loads(await request.body())
    answer = {"profile": {"id": str(uuid.uuid4())}, "events": len(body.get("events", []))}
    return Response(orjson.dumps(answer), media_type="application/json")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    uvicorn.run(
        "bench.bare_app:app" if workers > 1 else app,
        workers=workers,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )

"""Test-only transport node: lets the official Elasticsearch client talk to an
OpenSearch-compatible server by sending plain JSON media types instead of the
``compatible-with=N`` vendor types that such servers refuse with 406."""

from __future__ import annotations

import re
from typing import Any

from elastic_transport import AiohttpHttpNode

_VENDOR = re.compile(r"application/vnd\.elasticsearch\+(json|x-ndjson); ?compatible-with=\d+")


class PlainMediaTypeNode(AiohttpHttpNode):
    async def perform_request(  # type: ignore[override]
        self, method: str, target: str, body: bytes | None = None, headers: Any = None, **kw: Any
    ) -> Any:
        if headers:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                if name in headers:
                    headers[name] = _VENDOR.sub(r"application/\1", headers[name])
        return await super().perform_request(method, target, body=body, headers=headers, **kw)

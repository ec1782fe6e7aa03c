"""The console (the web GUI built from ``console-ui/``), served as static files under
``/ui/`` by ``headwater api``. The files are public (they hold no data); every call they
make to the API carries the user's token, and the API stays the gate.

Any path under ``/ui/`` that is not a file answers ``index.html`` (the single-page app
routes in the browser), so a reload of ``/ui/profiles/p-1`` works.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["UI_DIR", "UI_PATH", "console_routes"]

UI_PATH = "/ui"
UI_DIR = Path(__file__).parent / "web"  # `npm run build` in console-ui/ writes here


class _SinglePageApp(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or path.startswith("assets/"):
                raise
            return await super().get_response("index.html", scope)


def console_routes(directory: Path = UI_DIR) -> list[Mount]:
    """``/ui/`` serving the built console (``/ui`` redirects there), or nothing when it
    was not built (no Node at install time): the API works without it."""
    if not (directory / "index.html").is_file():
        return []
    return [Mount(UI_PATH, app=_SinglePageApp(directory=directory, html=True), name="console")]

"""Private API fixtures: the real app on the real broker and search server.

Requests go through httpx's ASGI transport; the app's runtime (config log, producer,
search client) is started for real, as ``headwater api`` would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from argon2 import PasswordHasher

from headwater.commands.init import run_init
from headwater.console import create_app
from headwater.console.passwords import PasswordVault
from headwater.console.runtime import ConsoleRuntime
from headwater.core.ports.search import BulkAction
from headwater.core.tenancy import events_index
from headwater.settings import Settings
from tests.support.services import Endpoints, settings_for

TMS_KEY = "tms-key-for-tests-0123456789abcdef-0123"
API_SECRET = "api-secret-for-tests-0123456789abcdef-0123"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def api_settings(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(
        endpoints,
        tmp_path_factory.mktemp("api"),
        api_secret=API_SECRET,
        tms_key=TMS_KEY,
        login_max_failures=3,
        secrets_key="secrets-key-for-tests-0123456789abcdef",
    )


def cheap_vault() -> PasswordVault:
    """argon2id with small costs: the same code path, fast enough for many logins."""
    return PasswordVault(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@dataclass
class Api:
    http: httpx.AsyncClient
    runtime: ConsoleRuntime
    settings: Settings

    async def tenant(self, tenant_id: str, email: str | None = None) -> dict[str, object]:
        """Create (or find) a tenant through the TMS route."""
        response = await self.http.post(
            "/tenants",
            headers={"x-tms-key": TMS_KEY},
            json={
                "id": tenant_id,
                "name": f"Tenant {tenant_id}",
                "admin_email": email or f"admin@{tenant_id}.example",
                "admin_password": PASSWORD,
            },
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def login(self, email: str, password: str = PASSWORD, **form: str) -> httpx.Response:
        return await self.http.post(
            "/user/token", data={"username": email, "password": password, **form}
        )

    async def token(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        response = await self.login(email, password)
        assert response.status_code == 200, response.text
        return {"authorization": f"Bearer {response.json()['access_token']}"}

    async def user(self, admin: dict[str, str], email: str, role: str) -> dict[str, str]:
        """A user of the admin's tenant with ``role``; returns its auth header."""
        response = await self.http.post(
            "/users", headers=admin, json={"email": email, "role": role, "password": PASSWORD}
        )
        assert response.status_code in (201, 409), response.text
        return await self.token(email)

    async def roles(self, tenant: str) -> dict[str, dict[str, str]]:
        """``tenant`` with its admin and one user of every other role: auth headers by role."""
        await self.tenant(tenant)
        admin = await self.token(f"admin@{tenant}.example")
        roles = {"admin": admin}
        for role in ("marketer", "developer", "maintainer"):
            roles[role] = await self.user(admin, f"{role}@{tenant}.example", role)
        return roles

    async def store(self, tenant: str, env: str, actions: list[BulkAction]) -> None:
        """Write documents of ``tenant``/``env`` (every one must be written), then
        refresh its events, profiles and sessions so that reads see them."""
        outcome = await self.runtime.search.bulk(actions)
        assert outcome.written == len(actions), outcome
        prefix = self.settings.index_prefix
        for family in ("events", "profiles", "sessions"):
            await self.runtime.search.refresh(f"{prefix}-{tenant}-{env}-{family}")


def event_action(
    settings: Settings, tenant: str, env: str, now: datetime, event: str, kind: str, profile: str
) -> BulkAction:
    """An event ``event`` of type ``kind``, of ``profile`` and its session ``se-{profile}``,
    as the worker writes it (created and inserted ``now``)."""
    stamp = now.isoformat()
    return BulkAction(
        events_index(settings.index_prefix, tenant, env, now),
        event,
        {
            "id": event,
            "type": kind,
            "tenant": tenant,
            "env": env,
            "profile": {"id": profile},
            "session": {"id": f"se-{profile}"},
            "time": {"create": stamp, "insert": stamp},
        },
    )


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def api(api_settings: Settings) -> AsyncIterator[Api]:
    await run_init(api_settings)
    runtime = ConsoleRuntime.create(api_settings, passwords=cheap_vault())
    app = create_app(api_settings, runtime)
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield Api(http, runtime, api_settings)
    finally:
        await runtime.stop()


MakeTenant = Callable[[str], Awaitable[dict[str, str]]]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path

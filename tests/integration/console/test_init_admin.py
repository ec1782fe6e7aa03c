"""``headwater init --admin-email``: the first admin, once, with no default password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from headwater.commands.init import run_init
from headwater.console import create_app
from headwater.errors import ConfigurationError
from headwater.settings import Settings
from tests.integration.console.conftest import API_SECRET, PASSWORD

pytestmark = pytest.mark.integration


@pytest.mark.asyncio(loop_scope="session")
async def test_init_creates_the_admin_once(settings: Settings) -> None:
    settings = settings.model_copy(
        update={"admin_password": SecretStr(PASSWORD), "api_secret": SecretStr(API_SECRET)}
    )
    first = await run_init(settings, admin_email="Root@Example.com")
    assert first.admin is not None
    assert any(key.startswith("user/default/") for key in first.config_written)

    changed = settings.model_copy(update={"admin_password": SecretStr("another password 123")})
    second = await run_init(changed, admin_email="root@example.com")
    assert second.admin == first.admin
    assert second.config_written == []  # nothing changed, the password neither

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            ok = await http.post(
                "/user/token", data={"username": "root@example.com", "password": PASSWORD}
            )
            assert ok.status_code == 200 and ok.json()["role"] == "admin"
            assert ok.json()["tenant"] == "default"
            other = await http.post(
                "/user/token",
                data={"username": "root@example.com", "password": "another password 123"},
            )
            assert other.status_code == 401


@pytest.mark.asyncio(loop_scope="session")
async def test_init_refuses_an_admin_without_a_password(settings: Settings) -> None:
    with pytest.raises(ConfigurationError):
        await run_init(settings, admin_email="root@example.com")


def test_cli_takes_the_password_from_the_environment_only(
    settings: Settings, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(
        HEADWATER_KAFKA=settings.kafka_servers,
        HEADWATER_SEARCH=settings.search_hosts[0],
        HEADWATER_TOPIC_PREFIX=settings.topic_prefix,
        HEADWATER_INDEX_PREFIX=settings.index_prefix,
    )
    command = [sys.executable, "-m", "headwater", "init", "--admin-email", "ops@example.com"]
    # no password and no terminal: refused, nothing printed that looks like a password
    refused = subprocess.run(
        command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 2
    assert "HEADWATER_ADMIN_PASSWORD" in refused.stderr

    env["HEADWATER_ADMIN_PASSWORD"] = PASSWORD
    done = subprocess.run(
        command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert '"admin": "' in done.stdout

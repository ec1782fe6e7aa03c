"""``headwater tenant ...``: the same provisioning as the TMS routes, from a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from headwater.core.accounts import USER_KIND
from headwater.core.config import config_key
from headwater.core.tenancy import tenant_key
from tests.integration.console.conftest import PASSWORD, Api
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def headwater(
    api: Api, *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(
        HEADWATER_KAFKA=api.settings.kafka_servers,
        HEADWATER_SEARCH=api.settings.search_hosts[0],
        HEADWATER_TOPIC_PREFIX=api.settings.topic_prefix,
        HEADWATER_INDEX_PREFIX=api.settings.index_prefix,
        HEADWATER_LOG_LEVEL="warning",
    )
    if password is not None:
        env["HEADWATER_ADMIN_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "headwater", "tenant", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_tenant_commands_create_suspend_and_resume(api: Api) -> None:
    created = headwater(
        api,
        "create",
        "cli_a",
        "--name",
        "CLI A",
        "--admin-email",
        "ops@cli-a.example",
        password=PASSWORD,
    )
    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert body["id"] == "cli_a" and body["status"] == "active" and body["admin_id"]
    assert PASSWORD not in created.stdout + created.stderr
    # the API process reads the CLI's records from hw.config a moment later; wait on
    # that, not on logins (failed logins would count towards the lockout)
    await eventually(lambda: _status(api, "active"), timeout=5)
    await eventually(lambda: _has_user(api, body["admin_id"]), timeout=5)
    assert (await api.login("ops@cli-a.example")).status_code == 200

    suspended = headwater(api, "suspend", "cli_a")
    assert json.loads(suspended.stdout)["status"] == "suspended"
    await eventually(lambda: _status(api, "suspended"), timeout=5)
    assert (await api.login("ops@cli-a.example")).status_code == 403
    listed = json.loads(headwater(api, "list").stdout)
    assert {"id": "cli_a", "status": "suspended"}.items() <= next(
        t for t in listed if t["id"] == "cli_a"
    ).items()
    resumed = headwater(api, "resume", "cli_a")
    assert json.loads(resumed.stdout)["status"] == "active"
    await eventually(lambda: _status(api, "active"), timeout=5)
    assert (await api.login("ops@cli-a.example")).status_code == 200


async def _status(api: Api, status: str) -> bool:
    entry = api.runtime.config.get(tenant_key("cli_a"))
    return entry is not None and entry.data["status"] == status


async def _has_user(api: Api, user_id: str) -> bool:
    return api.runtime.config.get(config_key(USER_KIND, "cli_a", None, user_id)) is not None


async def test_tenant_create_refuses_without_a_password_or_with_a_bad_id(api: Api) -> None:
    no_password = headwater(api, "create", "cli_b", "--admin-email", "ops@cli-b.example")
    assert no_password.returncode == 2 and "HEADWATER_ADMIN_PASSWORD" in no_password.stderr
    bad_id = headwater(api, "create", "Bad-Id", "--admin-email", "ops@x.example", password=PASSWORD)
    assert bad_id.returncode == 2
    missing = headwater(api, "suspend")
    assert missing.returncode == 2
    listed = {t["id"] for t in json.loads(headwater(api, "list").stdout)}
    assert not {"cli_b", "Bad-Id"} & listed

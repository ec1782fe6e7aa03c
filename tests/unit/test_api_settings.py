"""Settings of the private API: no default secret, no weak one."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from headwater.console.runtime import ConsoleRuntime
from headwater.errors import ConfigurationError
from headwater.settings import load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("HEADWATER_"):
            monkeypatch.delenv(name)


def test_the_api_refuses_to_build_without_a_secret() -> None:
    settings = load_settings(kafka="127.0.0.1:9092")
    assert settings.api_secret is None
    with pytest.raises(ConfigurationError, match="HEADWATER_API_SECRET"):
        ConsoleRuntime.create(settings)


@pytest.mark.parametrize("name", ["HEADWATER_API_SECRET", "HEADWATER_TMS_KEY"])
def test_short_secrets_are_refused(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "too-short")
    with pytest.raises(ValidationError):
        load_settings()


def test_secret_from_environment_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_API_SECRET", "s" * 40)
    settings = load_settings()
    assert settings.api_signing_key == "s" * 40
    assert "s" * 40 not in repr(settings)


def test_headwater_api_refuses_to_start_without_a_secret() -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HEADWATER_")}
    done = subprocess.run(
        [sys.executable, "-m", "headwater", "api", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "HEADWATER_API_SECRET is not set" in done.stderr

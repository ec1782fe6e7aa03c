"""The public-input limits are typed settings with sane defaults and a consistent pair
of size limits (a profile travels as one record)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from headwater.agents.configured import profile_limits
from headwater.core.profiles import ProfileLimits
from headwater.settings import load_settings


def test_defaults_are_the_fold_defaults() -> None:
    assert profile_limits(load_settings()) == ProfileLimits()


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_PROFILE_MAX_EVENT_TYPES", "50")
    monkeypatch.setenv("HEADWATER_PROFILE_MAX_KEYS", "20")
    monkeypatch.setenv("HEADWATER_PROFILE_MAX_VALUE_BYTES", "512")
    assert profile_limits(load_settings()) == ProfileLimits(50, 20, 512)


def test_a_profile_limit_that_would_not_fit_a_record_is_refused() -> None:
    with pytest.raises(ValidationError, match="profile_max_bytes"):
        load_settings(profile_max_bytes=1024 * 1024)
    load_settings(profile_max_bytes=1024 * 1024, worker_max_record_bytes=2 * 1024 * 1024)

"""The worker knows the destinations agent and installs it alone when asked."""

from __future__ import annotations

from pathlib import Path

from headwater.agents.worker import AGENTS, build_worker_app
from headwater.settings import load_settings
from headwater.streams.store import release_state_dirs


def test_destinations_is_a_worker_agent(tmp_path: Path) -> None:
    assert "destinations" in AGENTS
    settings = load_settings(kafka="127.0.0.1:9", data_dir=tmp_path, worker_store="memory")
    try:
        app = build_worker_app(settings, ["destinations"])
        assert sorted(app.agents) == ["destinations"]
    finally:
        release_state_dirs()  # the slot the app claimed

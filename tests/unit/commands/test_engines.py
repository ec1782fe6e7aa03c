"""What `headwater engines` says when Java or Maven is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.commands.engines import KAFKA, fetch
from headwater.commands.engines.fetch import java_binary
from headwater.commands.engines.run import new_cluster_id
from headwater.errors import ConfigurationError


def test_a_missing_maven_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    with pytest.raises(ConfigurationError, match=r"Maven not found: install it .*apt-get"):
        fetch(KAFKA, tmp_path / "cache")


def test_a_missing_java_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ConfigurationError, match=r"Java 17\+ not found: install it"):
        java_binary()


def test_a_fetched_engine_is_reused_without_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = KAFKA.home(tmp_path)
    home.mkdir(parents=True)
    (home / ".fetched").write_text(KAFKA.stamp())
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn, no java: nothing is fetched again
    assert fetch(KAFKA, tmp_path) == home


def test_a_new_kafka_cluster_id_never_begins_with_a_dash() -> None:
    """kafka-storage format reads ``-t -x...`` as an option (a CI run failed so)."""
    dashed, plain = b"\xf8" + bytes(15), bytes(16)  # base64 "-A..." and "AAA..."
    draws = iter([dashed, dashed, plain])

    found = new_cluster_id(lambda: next(draws))

    assert found == "A" * 22
    assert not new_cluster_id().startswith("-")

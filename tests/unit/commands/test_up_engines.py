"""``headwater up --engines``: the choice, what it checks before starting anything, and
how it names the broker whose log the worker's state is built from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from headwater.commands.cli import _parser
from headwater.commands.engines.run import kafka_cluster_id
from headwater.commands.up_engines import APACHE, STANDINS, UpEngines
from headwater.errors import ConfigurationError
from headwater.settings import load_settings


def engines(choice: str, tmp_path: Path, **endpoints: str) -> UpEngines:
    """``up``'s engines with an empty cache, and no endpoints unless given (whatever the
    environment says)."""
    values: dict[str, object] = {"engines_cache": tmp_path / "cache", "kafka": None, "search": None}
    values.update(endpoints)
    return UpEngines(choice, load_settings(**values), tmp_path)


def test_up_runs_on_the_stand_ins_unless_told_otherwise() -> None:
    assert _parser().parse_args(["up"]).engines == STANDINS
    assert _parser().parse_args(["up", "--engines", "apache"]).engines == APACHE


def test_up_refuses_an_unknown_engine(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["up", "--engines", "docker"])
    assert exited.value.code == 2
    assert "invalid choice: 'docker' (choose from" in capsys.readouterr().err


def test_the_stand_ins_need_no_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no java, no mvn
    monkeypatch.delenv("JAVA_HOME", raising=False)
    engines(STANDINS, tmp_path).check()


def test_apache_without_java_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ConfigurationError, match=r"^Java 17\+ not found: install it \(Debian"):
        engines(APACHE, tmp_path).check()


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a java without mvn")
def test_apache_without_maven_nor_fetched_jars_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_java = tmp_path / "bin"
    only_java.mkdir()
    (only_java / "java").symlink_to(Path(str(shutil.which("java"))).resolve())
    monkeypatch.setenv("PATH", str(only_java))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ConfigurationError, match=r"^Maven not found: install it \(Debian"):
        engines(APACHE, tmp_path).check()  # the cache under tmp_path is empty


def test_apache_with_both_endpoints_configured_needs_no_java(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    configured = engines(APACHE, tmp_path, kafka="kafka-1:9092", search="http://search:9200")
    configured.check()
    assert configured.summary() == {"engines": APACHE, "engines_data": None}


def test_the_summary_says_where_the_data_lives(tmp_path: Path) -> None:
    assert engines(STANDINS, tmp_path).summary() == {"engines": STANDINS, "engines_data": None}
    assert "stopping loses their data" in engines(STANDINS, tmp_path).describe()
    apache = engines(APACHE, tmp_path)
    assert apache.summary() == {"engines": APACHE, "engines_data": str(tmp_path / "engines")}
    assert apache.describe().endswith(f"their data is kept in {tmp_path / 'engines'}")


def test_the_kafka_log_is_named_by_its_cluster_id(tmp_path: Path) -> None:
    assert kafka_cluster_id(tmp_path) is None  # never started: nothing to keep state for
    meta = tmp_path / "kafka" / "logs" / "meta.properties"
    meta.parent.mkdir(parents=True)
    meta.write_text("#\nnode.id=1\ndirectory.id=x\nversion=1\ncluster.id=5HzlCz5bRW672S8uY5TA0A\n")
    assert kafka_cluster_id(tmp_path) == "5HzlCz5bRW672S8uY5TA0A"

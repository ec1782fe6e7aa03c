"""deploy/compose.yaml: valid against the Compose Specification's JSON schema, and the
facts the stack relies on (health checks, one-shot init, volumes, secrets kept out of
git)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
HEADWATER_SERVICES = ("init", "collector", "worker", "api")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def _errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_it_validates_against_the_compose_schema(compose: dict[str, Any]) -> None:
    assert _errors(compose) == []


def test_the_schema_catches_a_mistake(compose: dict[str, Any]) -> None:
    """The vendored schema is strict enough to matter: a misspelt key fails."""
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["helthcheck"] = broken["services"]["worker"].pop("healthcheck")
    assert any("helthcheck" in e for e in _errors(broken))


def test_kafka_runs_in_kraft_mode_on_the_official_image(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "zookeeper" not in json.dumps(compose).lower()


def test_opensearch_is_2_19_and_its_security_is_off_only_with_a_comment(
    compose: dict[str, Any],
) -> None:
    search = compose["services"]["opensearch"]
    assert search["image"].startswith("opensearchproject/opensearch:2.19.")
    assert search["environment"]["DISABLE_SECURITY_PLUGIN"] == "true"
    text = (DEPLOY / "compose.yaml").read_text()
    before = text[: text.index("DISABLE_SECURITY_PLUGIN")].splitlines()[-3:]
    assert any("local use" in line for line in before), before


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name in ("kafka", "opensearch", "collector", "worker", "api"):
        assert compose["services"][name]["healthcheck"]["test"], name


def test_init_runs_once_before_the_processes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["init"]["restart"] == "no"
    assert services["init"]["command"][0] == "init"
    for name in ("collector", "worker", "api"):
        wait = services[name]["depends_on"]["init"]["condition"]
        assert wait == "service_completed_successfully", name
    for engine in ("kafka", "opensearch"):
        assert services["init"]["depends_on"][engine]["condition"] == "service_healthy"


def test_state_lives_on_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    mounts = {
        name: [m.split(":")[0] for m in services[name]["volumes"] if isinstance(m, str)]
        for name in ("kafka", "opensearch", "worker")
    }
    assert mounts["kafka"] == ["kafka-data"]
    assert "opensearch-data" in mounts["opensearch"]
    assert mounts["worker"] == ["worker-state"]
    assert {"kafka-data", "opensearch-data", "worker-state"} <= set(compose["volumes"])


def test_commands_are_the_clis(compose: dict[str, Any]) -> None:
    """Each service's command parses with `headwater`'s own parser (the image's
    entrypoint), flags included."""
    from headwater.commands.cli import _parser

    for name in HEADWATER_SERVICES:
        _parser().parse_args(compose["services"][name]["command"])


def test_secrets_come_from_env_files_that_are_not_committed(compose: dict[str, Any]) -> None:
    files = {f for name in HEADWATER_SERVICES for f in compose["services"][name]["env_file"]}
    assert files == {"env/secrets.env", "env/api.env", "env/init.env"}
    for file in files:
        assert (DEPLOY / f"{file}.example").is_file(), file
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(DEPLOY / file)], cwd=ROOT, check=False
        )
        assert ignored.returncode == 0, f"{file} would be committed"
    # no secret value in the compose file itself
    for name in HEADWATER_SERVICES:
        environment = compose["services"][name].get("environment", {})
        assert not {k for k in environment if k.endswith(("SECRET", "KEY", "PASSWORD", "TOKEN"))}
    assert "HEADWATER_API_SECRET" not in json.dumps(compose["services"]["collector"])


def test_prometheus_scrapes_the_agreed_ports() -> None:
    """Collector 9102 (its own listener), worker 9103, the API's /metrics with the token."""
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {name: job["static_configs"][0]["targets"] for name, job in jobs.items()}
    assert targets == {
        "headwater-collector": ["collector:9102"],
        "headwater-worker": ["worker:9103"],
        "headwater-api": ["api:8687"],
    }
    assert jobs["headwater-api"]["authorization"]["credentials_file"] == (
        "/etc/prometheus/metrics-token"
    )


def test_grafana_is_provisioned_with_the_dashboard(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    mounted = {m.split(":")[1] for m in grafana["volumes"] if m.startswith("./")}
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "headwater.yaml").read_text()
    )
    folder = provider["providers"][0]["options"]["path"]
    assert f"{folder}/headwater.json" in mounted
    assert grafana["profiles"] == ["monitoring"]

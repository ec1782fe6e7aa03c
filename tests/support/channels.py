"""Channel servers the destination (and bridge) tests publish to: Mosquitto (MQTT),
RabbitMQ (AMQP) and Dovecot (IMAP), from Debian's packages, on free loopback ports.

The tests take them from the environment when set (``HEADWATER_TEST_MQTT=host:port``,
``HEADWATER_TEST_AMQP=amqp://user:pass@host:port/``, ``HEADWATER_TEST_IMAP=host:port``
with ``HEADWATER_TEST_IMAP_LOGIN=user:password``), else start their own for the test
session. ``.ci/run`` starts one of each for the whole run with ``up`` and passes them on
through those variables; ``down`` stops them::

    python -m tests.support.channels up --state-dir DIR   # prints the variables
    python -m tests.support.channels down --state-dir DIR

Without the server's binary the test is skipped, except under CI (``CI`` set), where a
missing server is a failure: CI must never pass by skipping what it was meant to check.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MQTT_ENV = "HEADWATER_TEST_MQTT"
AMQP_ENV = "HEADWATER_TEST_AMQP"
IMAP_ENV = "HEADWATER_TEST_IMAP"
IMAP_LOGIN_ENV = "HEADWATER_TEST_IMAP_LOGIN"
MOSQUITTO = ("mosquitto", "/usr/sbin/mosquitto")
RABBITMQ = ("/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server")
DOVECOT = ("/usr/sbin/dovecot", "dovecot")
START_TIMEOUT = 90.0


class ChannelUnavailable(RuntimeError):
    """The server's binary is not installed here."""


@dataclass(frozen=True)
class MqttServer:
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """The variables that hand this server to the tests (``mqtt_server``)."""
        return {MQTT_ENV: self.address}


@dataclass(frozen=True)
class AmqpServer:
    host: str
    port: int

    @property
    def url(self) -> str:
        # RabbitMQ's guest account logs in from loopback only, which is all we use
        return f"amqp://guest:guest@{self.host}:{self.port}/"

    def environment(self) -> dict[str, str]:
        return {AMQP_ENV: self.url}


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    user: str = "hw"
    password: str = "hw-test-secret"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        return {IMAP_ENV: self.address, IMAP_LOGIN_ENV: f"{self.user}:{self.password}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(candidates: tuple[str, ...], package: str) -> str:
    for candidate in candidates:
        found = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
        if found:
            return found
    raise ChannelUnavailable(f"{package} is not installed (apt-get install -y {package})")


def _wait_listening(port: int, popen: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"{what} exited with {popen.returncode}; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} not listening on 127.0.0.1:{port} after {START_TIMEOUT}s")


def _spawn(
    args: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: stopped as a whole
        )


def start_mosquitto(
    state: Path, extra: str = "", port: int | None = None
) -> tuple[MqttServer, subprocess.Popen[bytes]]:
    """``extra``: more lines for its configuration file; ``port``: the one it had before
    (a restart), else a free one."""
    binary = _binary(MOSQUITTO, "mosquitto")
    port = port or _free_port()
    state.mkdir(parents=True, exist_ok=True)
    config = state / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra}"
    )
    log = state / "mosquitto.log"
    popen = _spawn([binary, "-c", str(config)], log)
    _wait_listening(port, popen, log, "mosquitto")
    return MqttServer("127.0.0.1", port), popen


def start_rabbitmq(
    state: Path, port: int | None = None
) -> tuple[AmqpServer, subprocess.Popen[bytes]]:
    """``port``: the one it had before (a restart: the same node, its durable queues and
    persistent messages), else a free one."""
    binary = _binary(RABBITMQ, "rabbitmq-server")
    port, dist_port, epmd_port = port or _free_port(), _free_port(), _free_port()
    home = state / "rabbitmq"
    (home / "log").mkdir(parents=True, exist_ok=True)
    (home / "enabled_plugins").write_text("[].\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),  # the Erlang cookie lives there
        "RABBITMQ_NODENAME": f"hwtest{port}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
        "RABBITMQ_LOG_BASE": str(home / "log"),
        "RABBITMQ_PID_FILE": str(home / "rabbitmq.pid"),
        "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        # a port-mapper of its own, on loopback, so two runs never share one
        "ERL_EPMD_PORT": str(epmd_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
    }
    log = state / "rabbitmq.log"
    popen = _spawn([binary], log, env)
    (home / "epmd.port").write_text(str(epmd_port))
    _wait_listening(port, popen, log, "rabbitmq-server")
    return AmqpServer("127.0.0.1", port), popen


# Dovecot as root: its login processes run as dovenull, chrooted, and each mail process
# chroots into the state's mail directory as root before it becomes the dovecot user
# (Dovecot refuses mail access as root), so no directory above has to be open to it.
DOVECOT_CONF = """\
base_dir = {sockets}
state_dir = {state}/lib
log_path = {state}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = root
default_internal_group = root
first_valid_uid = 0
mail_chroot = {state}/mail
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {state}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home=/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _socket_dir(state: Path) -> Path:
    """Where Dovecot puts its sockets for ``state``: a short path of its own, the same for
    a restart, because a unix socket's path may not pass 107 bytes and ``state`` can be
    deep (pytest's per-test directories, one level deeper under pytest-xdist)."""
    digest = hashlib.sha1(str(state).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"hw-dovecot-{digest}"


def start_dovecot(
    state: Path, port: int | None = None
) -> tuple[ImapServer, subprocess.Popen[bytes]]:
    """Dovecot (IMAP, IDLE on) with one user and maildirs under ``state``; ``port``: the
    one it had before (a restart on the same mail), else a free one."""
    binary = _binary(DOVECOT, "dovecot-imapd")
    if os.geteuid() != 0:
        raise ChannelUnavailable("the test Dovecot runs as root (it switches users)")
    import pwd

    owner = pwd.getpwnam("dovecot")
    port = port or _free_port()
    state = state.resolve()
    server = ImapServer("127.0.0.1", port)
    home = state / "mail" / server.user
    home.mkdir(parents=True, exist_ok=True)
    for path in (state / "mail", home):
        os.chown(path, owner.pw_uid, owner.pw_gid)
    (state / "passwd").write_text(f"{server.user}:{{PLAIN}}{server.password}\n")
    config = state / "dovecot.conf"
    config.write_text(DOVECOT_CONF.format(state=state, port=port, sockets=_socket_dir(state)))
    log = state / "dovecot.out"
    popen = _spawn([binary, "-F", "-c", str(config)], log)
    _wait_listening(port, popen, log, "dovecot")
    return server, popen


def stop_rabbitmq(state: Path, pid: int) -> None:
    """The node, then the port-mapper it started (a daemon in a session of its own)."""
    stop_group(pid)
    port_file = state / "rabbitmq" / "epmd.port"
    epmd = shutil.which("epmd")
    if epmd and port_file.exists():
        subprocess.run(
            [epmd, "-port", port_file.read_text(), "-kill"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=10,
        )


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (zombies, dead but not yet reaped by
    their parent, do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def stop_group(pgid: int, timeout: float = 20.0) -> None:
    """SIGTERM the process group ``pgid``, then SIGKILL whatever is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _group_alive(pgid):
            time.sleep(0.1)
        if not _group_alive(pgid):
            return


def _parse_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


@contextmanager
def mqtt_server(state: Path) -> Iterator[MqttServer]:
    if given := os.environ.get(MQTT_ENV):
        yield MqttServer(*_parse_host_port(given))
        return
    server, popen = start_mosquitto(state)
    try:
        yield server
    finally:
        stop_group(popen.pid)
        popen.wait(10)


@contextmanager
def amqp_server(state: Path) -> Iterator[AmqpServer]:
    if given := os.environ.get(AMQP_ENV):
        rest = given.split("@", 1)[-1].split("/", 1)[0]
        yield AmqpServer(*_parse_host_port(rest))
        return
    server, popen = start_rabbitmq(state)
    try:
        yield server
    finally:
        stop_rabbitmq(state, popen.pid)
        popen.wait(10)


@contextmanager
def imap_server(state: Path) -> Iterator[ImapServer]:
    if given := os.environ.get(IMAP_ENV):
        user, _, password = os.environ.get(IMAP_LOGIN_ENV, "").partition(":")
        yield ImapServer(*_parse_host_port(given), user=user, password=password)
        return
    server, popen = start_dovecot(state)
    try:
        yield server
    finally:
        stop_group(popen.pid)
        popen.wait(10)


def _up(state: Path) -> None:
    state.mkdir(parents=True, exist_ok=True)
    mqtt, mqtt_popen = start_mosquitto(state)
    (state / "mosquitto.pgid").write_text(str(mqtt_popen.pid))
    amqp, amqp_popen = start_rabbitmq(state)
    (state / "rabbitmq.pgid").write_text(str(amqp_popen.pid))
    imap, imap_popen = start_dovecot(state / "dovecot")
    (state / "dovecot.pgid").write_text(str(imap_popen.pid))
    for server in (mqtt, amqp, imap):
        for variable, value in server.environment().items():
            print(f"{variable}={value}")


def _down(state: Path) -> None:
    mosquitto, rabbitmq = state / "mosquitto.pgid", state / "rabbitmq.pgid"
    if mosquitto.exists():
        stop_group(int(mosquitto.read_text()))
        mosquitto.unlink()
    if rabbitmq.exists():
        stop_rabbitmq(state, int(rabbitmq.read_text()))
        rabbitmq.unlink()
    if (dovecot := state / "dovecot.pgid").exists():
        stop_group(int(dovecot.read_text()))
        dovecot.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.channels")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        (_up if args.action == "up" else _down)(args.state_dir)
    except (ChannelUnavailable, RuntimeError) as exc:
        print(f"channels: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

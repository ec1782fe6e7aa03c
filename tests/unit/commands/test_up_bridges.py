"""``headwater up --bridges``: only known channels, and their health ports checked free
before anything starts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from headwater.commands.cli import main
from headwater.commands.stack import StackPorts, _Stack
from headwater.errors import ConfigurationError
from headwater.settings import load_settings


def test_an_unknown_bridge_channel_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "--bridges", "mqtt,pop3"]) == 2
    assert "--bridges: no pop3 bridge (mqtt, amqp, kafka, imap, smtp)" in capsys.readouterr().err


def test_the_email_bridges_have_health_ports_of_their_own() -> None:
    ports = StackPorts(8000)
    assert [ports.bridge(kind) for kind in ("kafka", "imap", "smtp")] == [8007, 8008, 8009]


def test_a_taken_bridge_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    settings = load_settings(kafka="127.0.0.1:1", search="http://127.0.0.1:1")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        ports = StackPorts(port - 6)  # the amqp bridge's health port is base + 6
        assert ports.bridge("amqp") == port and ports.bridge("mqtt") == port - 1
        stack = _Stack(settings, ports, tmp_path, bridges=("amqp",))
        with pytest.raises(ConfigurationError, match=rf"{port} \(amqp bridge\)"):
            stack._check_ports()

"""The test servers that must be told their port (nginx, ``trapline serve``) take another when
another process took the one chosen for them before they bound it: a connection to the first
would reach that process instead, and a server that exits fails the test that needed it."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import processes, source_servers
from tests.support.moto import free_port
from tests.support.processes import running


@pytest.fixture
def taken() -> Iterator[int]:
    """A loopback port something else listens on, which the next free port chosen is."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _first(port: int) -> Callable[[], int]:
    """A free-port chooser that answers ``port`` once, then free ports."""
    ports = iter([port])
    return lambda: next(ports, None) or free_port()


def test_nginx_takes_another_port_when_its_first_is_taken(
    tmp_path: Path, taken: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not Path(source_servers.NGINX).exists():
        pytest.skip(f"no {source_servers.NGINX}: run scripts/test-services.sh")
    root = tmp_path / "files"
    root.mkdir()
    (root / "night.txt").write_text("moths")
    monkeypatch.setattr(source_servers, "free_port", _first(taken))
    with source_servers.nginx_server(root, tmp_path / "nginx") as port:
        assert port != taken
        answer = httpx.get(f"http://127.0.0.1:{port}/html/night.txt")
        assert (answer.status_code, answer.text) == (200, "moths")
    assert "already in use" in (tmp_path / "nginx" / "error.log").read_text()


def test_a_server_takes_another_port_when_its_first_is_taken(
    tmp_path: Path, taken: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processes, "free_port", _first(taken))
    with running(["serve", "--data-dir", str(tmp_path / "data")], cwd=tmp_path) as server:
        assert server.url != f"http://127.0.0.1:{taken}"
        assert httpx.get(f"{server.url}/readyz").json()["status"] == "ok"
    refused = (tmp_path / f"server-{taken}.log").read_text()
    assert "already in use" in refused

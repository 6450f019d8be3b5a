"""Which requests are routine (logged at DEBUG when they succeed), and the start-up box."""

from __future__ import annotations

import pytest

from trapline.cli.banner import boxed
from trapline.http.middleware import is_routine


def _scope(method: str, path: str, query: bytes = b"", agent: str = "curl/8") -> dict:
    return {
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(b"user-agent", agent.encode())],
    }


@pytest.mark.parametrize(
    ("method", "path", "query", "agent"),
    [
        ("POST", "/api/v2/tasks/next/", b"", "python-requests/2"),
        ("POST", "/api/v2/tasks/extend", b"", "x"),
        ("POST", "/api/v2/jobs/12/tasks/", b"", "x"),
        ("POST", "/api/v2/jobs/12/result/", b"", "x"),
        ("GET", "/api/v2/jobs/", b"ids_only=1&incomplete_only=1", "python-requests/2"),
        ("GET", "/api/v2/blobs/images/1/ab/cd/x.jpg", b"sig=1", "x"),
        ("GET", "/livez", b"", "kube-probe"),
        ("GET", "/api/v2/projects/", b"limit=100", "trapline/0.1.0"),
    ],
)
def test_machines_requests_are_routine(method: str, path: str, query: bytes, agent: str) -> None:
    assert is_routine(_scope(method, path, query, agent))


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("POST", "/api/v2/jobs/", b""),
        ("GET", "/api/v2/jobs/", b"project=2"),
        ("GET", "/api/v2/jobs/12/", b""),
        ("POST", "/api/v2/projects/2/images/", b""),
        ("DELETE", "/api/v2/jobs/12/tasks/", b""),
        ("GET", "/api/v2/images/3/download", b""),
    ],
)
def test_peoples_requests_are_not(method: str, path: str, query: bytes) -> None:
    assert not is_routine(_scope(method, path, query))


def test_the_box_frames_every_line() -> None:
    text = boxed(["short", "a longer line"])
    lines = text.splitlines()
    assert lines[0] == lines[-1] == "+" + "-" * 15 + "+"
    assert lines[1] == "| short         |"
    assert {len(line) for line in lines} == {17}

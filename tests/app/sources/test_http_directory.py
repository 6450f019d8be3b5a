"""What only HTTP listings do: link rules, truncated bodies, redirects, header credentials."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.support.source_servers import LOOPBACK, PASSWORD, USER, http_serving, nginx_server
from trapline.outbound import OutboundPolicy
from trapline.settings import parse_network
from trapline.sources import open_gateway
from trapline.sources.base import GatewayConfig, SourceError

Answer = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def serving(answer: Answer, host: str = "127.0.0.1") -> Iterator[str]:
    """A threaded HTTP server whose every GET and HEAD ``answer`` handles; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer(self)

        do_HEAD = do_GET

        def log_message(self, *_: object) -> None:
            pass

    with http_serving(Handler, host) as url:
        yield url


def page(handler: BaseHTTPRequestHandler, body: str, status: int = 200) -> None:
    data = body.encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data)


def keys(url: str, **options: object) -> list[str]:
    options.setdefault("policy", LOOPBACK)
    with open_gateway("http_directory", GatewayConfig(url=url, **options)) as gateway:  # type: ignore[arg-type]
        return sorted(e.key for e in gateway.entries())


def test_only_links_below_the_source_are_taken() -> None:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/traps/one/":
            page(
                handler,
                '<a href="../">up</a> <a href="?C=M;O=A">sort</a> <a href="/traps/one/">self</a>'
                '<a href="a.jpg">a</a> <a href="/traps/one/b.jpg">b</a>'
                '<a href="http://example.org/traps/one/c.jpg">elsewhere</a>'
                '<a href="/traps/two/d.jpg">sibling</a> <a href="//127.0.0.1:1/e.jpg">port</a>'
                '<a href="sub/f.jpg">deeper, listed by its own folder</a> <a href="g.jpg#x">g</a>'
                '<a href="%2e%2e/h.jpg">encoded parent</a> <a href="sub/">sub</a>'
                '<a href="http://[::1">unclosed bracket</a> <a href="//[::1/i.jpg">i</a>',
            )
        elif handler.path == "/traps/one/sub/":
            page(handler, '<a href="f.jpg">f</a> <a href="/traps/one/a.jpg">back up</a>')
        else:
            page(handler, "x", 200)

    with serving(answer) as url:
        assert keys(url + "traps/one/") == ["a.jpg", "b.jpg", "g.jpg"]
        assert keys(url + "traps/one", depth=1) == ["a.jpg", "b.jpg", "g.jpg", "sub/f.jpg"]


def test_a_body_cut_short_fails_the_download() -> None:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/":
            page(handler, '<a href="cut.jpg">cut.jpg</a>')
            return
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.send_header("ETag", '"v1"')
        handler.end_headers()
        if handler.command == "GET":
            handler.wfile.write(b"x" * 400)
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)

    with (
        serving(answer) as url,
        open_gateway("http_directory", GatewayConfig(url=url, policy=LOOPBACK)) as gateway,
    ):
        [entry] = gateway.entries()
        assert entry.etag == '"v1"'
        entry_without_size = type(entry)(key=entry.key, etag=entry.etag)
        with pytest.raises(SourceError, match="broke off") as caught:
            gateway.fetch(entry_without_size)
    assert caught.value.transient


def test_redirects_to_another_scheme_are_refused() -> None:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "ftp://127.0.0.1/photos/")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with serving(answer) as url, pytest.raises(SourceError, match="must keep its scheme"):
        keys(url)


def test_a_redirect_to_a_loopback_address_not_allowed_is_refused() -> None:
    hits: list[str] = []

    def target(handler: BaseHTTPRequestHandler) -> None:
        hits.append(handler.path)
        page(handler, '<a href="secret.jpg">s</a>')

    with serving(target, host="127.0.0.2") as inside:

        def answer(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(302)
            handler.send_header("Location", inside)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with serving(answer) as url:
            only_first = OutboundPolicy(allow_networks=(parse_network("127.0.0.1/32"),))
            with pytest.raises(SourceError, match=r"does not call 127\.0\.0\.2"):
                keys(url, policy=only_first)
            assert hits == []  # refused before connecting
            assert keys(url, policy=LOOPBACK) == ["secret.jpg"]  # allowed, it is followed
    assert hits[0] == "/"


def test_credentials_go_to_their_own_origin_only() -> None:
    seen: dict[str, str | None] = {}

    def other(handler: BaseHTTPRequestHandler) -> None:
        seen["other"] = handler.headers.get("Authorization")
        page(handler, '<a href="a.jpg">a</a> 1')

    with serving(other, host="127.0.0.3") as elsewhere:

        def answer(handler: BaseHTTPRequestHandler) -> None:
            seen["first"] = handler.headers.get("Authorization")
            handler.send_response(302)
            handler.send_header("Location", elsewhere)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with serving(answer) as url:
            keys(url, credentials={"authorization": "Bearer station-key"})
    assert seen == {"first": "Bearer station-key", "other": None}


def test_a_pre_encoded_authorization_header_opens_nginx_basic_auth(tmp_path: Path) -> None:
    root = tmp_path / "files"
    (root / "night-1").mkdir(parents=True)
    (root / "night-1" / "a.jpg").write_bytes(b"x")
    value = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    with nginx_server(root, tmp_path / "nginx") as port:
        url = f"http://127.0.0.1:{port}/private/"
        with pytest.raises(SourceError, match="401"):
            keys(url, depth=1)
        assert keys(url, depth=1, credentials={"authorization": value}) == ["night-1/a.jpg"]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "link-local"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - the address refused, never bound
        ("::ffff:169.254.169.254", "link-local"),
    ],
)
def test_the_guard_refuses_a_name_that_resolves_inside(address: str, reason: str) -> None:
    """Decided on the resolved address before anything connects (the resolver is the test's)."""
    import ipaddress

    connected: list[str] = []
    policy = OutboundPolicy(resolver=lambda host, port: [ipaddress.ip_address(address)])
    config = GatewayConfig(url="http://photos.example.org/traps/", policy=policy)
    with open_gateway("http_directory", config) as gateway, pytest.raises(SourceError) as caught:
        list(gateway.entries())
    assert "resolves to no public address" in caught.value.detail
    assert not connected
    assert reason  # the kinds of address, each refused for its own reason by the guard


@pytest.mark.parametrize("kind", ["http_directory", "ftp"])
def test_a_name_that_does_not_resolve_is_told_as_one_that_resolves_inside(kind: str) -> None:
    """A run's error must not tell a name that does not resolve from one that resolves to a
    private address: either would map the server's network through its DNS."""
    import ipaddress

    def nowhere(host: str, port: int) -> list[ipaddress.IPv4Address]:
        raise OSError(f"{host}: Name or service not known")

    def inside(host: str, port: int) -> list[ipaddress.IPv4Address]:
        return [ipaddress.IPv4Address("10.1.2.3")]

    scheme = "ftp" if kind == "ftp" else "http"
    said = []
    for resolver in (nowhere, inside):
        config = GatewayConfig(
            url=f"{scheme}://photos.example.org/traps/",
            policy=OutboundPolicy(resolver=resolver),
            credentials={"username": "u", "password": "p"} if kind == "ftp" else {},
        )
        with open_gateway(kind, config) as gateway, pytest.raises(SourceError) as caught:
            list(gateway.entries())
        said.append(caught.value.detail)
    assert said[0] == said[1], said
    assert "resolves to no public address" in said[0]

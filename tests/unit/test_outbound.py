"""The outbound guard: which URLs the server calls, decided on resolved addresses.

The decision is tested as a unit (name -> addresses -> verdict) with resolvers that never
touch DNS; anything that connects does so to 127.0.0.0/8 only.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from tests.support.push_services import FakeService, Listener, fake_service, listener
from tests.support.source_servers import Station, http_serving, self_signed_certificate
from trapline.outbound import (
    IPAddress,
    OutboundBlocked,
    OutboundPolicy,
    Resolver,
    blocked_reason,
    system_resolver,
)
from trapline.protocol.service import PipelineRequest
from trapline.services.pipelines.service_client import ServiceClient, ServiceError, _first_problem
from trapline.settings import Settings


def numeric(host: str, port: int) -> list[IPAddress]:
    """The C library's reading of an address literal, in any spelling; never a DNS lookup."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def names(table: dict[str, list[str]]) -> Resolver:
    """A resolver answering from ``table`` (address literals are read as ``numeric`` does)."""

    def resolve(host: str, port: int) -> list[IPAddress]:
        if host in table:
            return [ipaddress.ip_address(a) for a in table[host]]
        return numeric(host, port)

    return resolve


STRICT = OutboundPolicy(resolver=numeric)


# -- the decision, one address at a time --


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.255.255.254", "a loopback address"),
        ("::1", "a loopback address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104 - an address to refuse
        ("0.1.2.3", "an unspecified address"),
        ("::", "an unspecified address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("172.31.255.255", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd00::1", "a private address"),
        ("fc00::1", "a private address"),
        ("fec0::1", "a private address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("100.127.255.254", "a shared (carrier-grade NAT) address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("255.255.255.255", "the broadcast address"),
        ("240.0.0.1", "a reserved address"),
        ("192.0.2.1", "a reserved address"),
        ("198.18.0.1", "a reserved address"),
        ("2001:db8::1", "a reserved address"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a reserved address"),  # Teredo
        ("::ffff:127.0.0.1", "a loopback address written as IPv6"),
        ("::ffff:169.254.169.254", "a link-local address written as IPv6"),
        ("::ffff:10.0.0.1", "a private address written as IPv6"),
        ("::127.0.0.1", "a loopback address written as IPv6"),  # IPv4-compatible
        ("::a9fe:a9fe", "a link-local address written as IPv6"),
        ("64:ff9b::a9fe:a9fe", "a link-local address written as IPv6"),  # NAT64
        ("2002:7f00:1::1", "a loopback address written as IPv6"),  # 6to4
        ("2002:c0a8:101::1", "a private address written as IPv6"),
    ],
)
def test_blocked_addresses_are_named_for_what_they_are(address: str, reason: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "172.32.0.1",  # just past 172.16.0.0/12
        "100.128.0.1",  # just past 100.64.0.0/10
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",  # NAT64 of a public address
        "2002:808:808::1",  # 6to4 of a public address
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


# -- URLs: every spelling of an address is read to the address --


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/", "is a loopback address"),
        ("http://2130706433/", "resolves to no public address"),  # decimal
        ("http://0x7f000001/", "resolves to no public address"),  # hex
        ("http://0x7f.0.0.1/", "resolves to no public address"),
        ("http://017700000001/", "resolves to no public address"),  # octal, whole
        ("http://127.1/", "resolves to no public address"),  # short
        ("http://127.0.1/", "resolves to no public address"),
        ("http://[::1]:2000/", "is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "is a loopback address written as IPv6"),
        ("http://[::ffff:7f00:1]/", "is a loopback address written as IPv6"),
        ("http://[0:0:0:0:0:ffff:7f00:1]/", "is a loopback address written as IPv6"),
        ("http://169.254.169.254/latest/meta-data/", "is a link-local address"),
        ("http://2852039166/", "resolves to no public address"),  # 169.254.169.254
        ("http://0xa9fea9fe/", "resolves to no public address"),
        ("http://[::ffff:a9fe:a9fe]/", "is a link-local address written as IPv6"),
        ("http://[fe80::1]:2000/", "is a link-local address"),
        ("http://0.0.0.0:8000/", "is an unspecified address"),
        ("http://0/", "resolves to no public address"),
        ("http://[::]/", "is an unspecified address"),
        ("https://10.0.0.5/", "is a private address"),
        ("http://167772165/", "resolves to no public address"),  # 10.0.0.5
        ("http://[fd12:3456::1]/", "is a private address"),
        ("http://100.64.0.1/", "is a shared (carrier-grade NAT) address"),
        ("http://224.0.0.251/", "is a multicast address"),
        ("http://255.255.255.255/", "is the broadcast address"),
        ("HTTP://127.0.0.1/", "is a loopback address"),
        ("http://[64:ff9b:1::a9fe:a9fe]/", "is a local translation address"),  # RFC 8215
        ("http://[::ffff:0:a9fe:a9fe]/", "is a link-local address written as IPv6"),  # SIIT
    ],
)
def test_other_spellings_of_a_blocked_address_are_refused(url: str, reason: str) -> None:
    with pytest.raises(OutboundBlocked) as refused:
        STRICT.check_url(url)

    assert reason in refused.value.detail
    assert refused.value.status_code == 400
    assert "TRAPLINE_OUTBOUND_ALLOW_NETWORKS" in refused.value.detail


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://8.8.8.8/", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://8.8.8.8/", "only http and https"),
        ("http:///nohost", "only http and https URLs with a host"),
        ("http://user:pw@8.8.8.8/", "user name or password"),
        ("http://user@8.8.8.8/", "user name or password"),
        ("http://0177.0.0.1/", "is not a URL the server can call"),  # octal parts
        ("http://[::ffff:127.0.0.1/", "is not a URL the server can call"),
    ],
)
def test_only_plain_http_urls_are_called(url: str, says: str) -> None:
    with pytest.raises(OutboundBlocked) as refused:
        STRICT.check_url(url, trusted=True)  # not even for an admin

    assert says in refused.value.detail


def test_a_public_address_passes_and_is_what_gets_connected_to() -> None:
    assert STRICT.check_url("https://8.8.8.8/info") == [ipaddress.ip_address("8.8.8.8")]


def test_a_name_is_refused_when_any_of_its_addresses_is_blocked() -> None:
    policy = OutboundPolicy(
        resolver=names(
            {
                "mixed.example.org": ["93.184.216.34", "10.0.0.7"],
                "public.example.org": ["93.184.216.34", "2606:2800:220:1::1"],
                "metadata.google.internal": ["169.254.169.254"],
            }
        )
    )

    with pytest.raises(OutboundBlocked) as refused:
        policy.check_url("http://mixed.example.org:2000/")
    assert "mixed.example.org: it resolves to no public address" in refused.value.detail
    assert "10.0.0.7" not in refused.value.detail  # the server's own network is not mapped
    with pytest.raises(OutboundBlocked):
        policy.check_url("http://metadata.google.internal/")
    assert policy.check_url("http://public.example.org/") == [
        ipaddress.ip_address("93.184.216.34"),
        ipaddress.ip_address("2606:2800:220:1::1"),
    ]


def test_a_name_that_does_not_resolve_is_an_os_error() -> None:
    with pytest.raises(OSError, match="resolves to no address"):
        OutboundPolicy(resolver=names({"gone.example.org": []})).check_url(
            "http://gone.example.org/"
        )


def test_the_allow_list_opens_its_networks_and_no_other() -> None:
    policy = OutboundPolicy(
        allow_networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("fd00::/8")),
        resolver=numeric,
    )

    assert policy.check_url("http://127.0.0.1:2000/") == [ipaddress.ip_address("127.0.0.1")]
    assert policy.check_url("http://2130706433/")
    assert policy.check_url("http://[::ffff:127.0.0.1]/")  # the mapped form of an allowed one
    assert policy.check_url("http://[fd00::5]/")
    for other in ("http://169.254.169.254/", "http://10.0.0.1/", "http://[::1]/"):
        with pytest.raises(OutboundBlocked):
            policy.check_url(other)


def test_a_trusted_call_may_reach_any_address() -> None:
    for url in ("http://127.0.0.1:2000/", "http://169.254.169.254/", "http://[fe80::1]/"):
        assert STRICT.check_url(url, trusted=True)


def test_the_allow_list_comes_from_the_settings() -> None:
    settings = Settings(_env_file=None, outbound_allow_networks=" 127.0.0.0/8, fd00::/8 ,10.1.2.3")

    policy = OutboundPolicy.from_settings(settings.security)

    assert policy.allow_networks == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
        ipaddress.ip_network("10.1.2.3/32"),
    )
    assert Settings(_env_file=None).security.outbound_allow_networks == []


def test_the_allow_list_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAPLINE_OUTBOUND_ALLOW_NETWORKS", "192.168.0.0/16")

    assert Settings(_env_file=None).security.outbound_allow_networks == [
        ipaddress.ip_network("192.168.0.0/16")
    ]


@pytest.mark.parametrize("bad", ["10.0.0.1/8", "10.0.0.0/33", "gpu-box", "10.0.0.0/8;rm"])
def test_a_bad_network_in_the_allow_list_is_a_clear_error(bad: str) -> None:
    with pytest.raises(
        ValueError, match=r"is not a network in CIDR notation such as 10\.0\.0\.0/8"
    ):
        Settings(_env_file=None, outbound_allow_networks=f"127.0.0.0/8,{bad}")


def test_the_system_resolver_reads_literals_without_duplicates() -> None:
    assert system_resolver("127.0.0.1", 80) == [ipaddress.ip_address("127.0.0.1")]
    assert system_resolver("2130706433", 80) == [ipaddress.ip_address("127.0.0.1")]


# -- requests: checked when connecting, to the address that was checked --


LOOPBACK_ONLY = (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.fixture
def blocked() -> Iterator[Listener]:
    """A listener on 127.0.0.2, outside LOOPBACK_ONLY: nothing may ever connect to it."""
    with listener("127.0.0.2") as other:
        yield other


@pytest.fixture
def service() -> Iterator[FakeService]:
    with fake_service() as served:
        yield served


def test_a_blocked_address_is_never_connected_to(blocked: Listener) -> None:
    with STRICT.http_client() as http, pytest.raises(OutboundBlocked):
        http.get(blocked.url + "/info")

    assert blocked.connections() == 0


def test_the_connection_goes_to_the_checked_address_under_the_name(service: FakeService) -> None:
    port = httpx.URL(service.url).port
    policy = OutboundPolicy(
        LOOPBACK_ONLY,
        resolver=names({"gpu-box.example.org": ["127.0.0.1"]}),
    )

    with policy.http_client() as http:
        answer = http.get(f"http://gpu-box.example.org:{port}/readyz")

    assert answer.status_code == 200
    (call,) = service.calls
    assert call.headers["Host"] == f"gpu-box.example.org:{port}"


def test_a_name_that_rebinds_after_the_check_is_refused_when_connecting(
    service: FakeService, blocked: Listener
) -> None:
    """DNS rebinding: allowed when registered, a blocked address at call time."""
    answers = {"rebind.example.org": ["127.0.0.1"]}
    policy = OutboundPolicy(LOOPBACK_ONLY, resolver=names(answers))
    port = httpx.URL(blocked.url).port
    url = f"http://rebind.example.org:{port}"
    client = ServiceClient(process_timeout=5, policy=policy)

    client.check(url, trusted=False)
    answers["rebind.example.org"] = ["127.0.0.2"]
    with pytest.raises(ServiceError) as failed:
        client.info(url, trusted=False)
    not_ready = client.readiness_error(url, trusted=False)
    with pytest.raises(ServiceError):
        client.process(url, PipelineRequest(pipeline="quarter", source_images=[]), trusted=False)
    client.close()

    assert failed.value.code == "address_not_allowed"
    assert failed.value.transient is False
    assert "resolves to no public address" in failed.value.detail
    assert not_ready is not None
    assert "resolves to no public address" in not_ready
    assert blocked.connections() == 0


def test_trusted_and_untrusted_calls_share_no_connection(service: FakeService) -> None:
    client = ServiceClient(process_timeout=5, policy=STRICT)

    assert client.readiness_error(service.url, trusted=True) is None  # a connection is pooled
    refused = client.readiness_error(service.url, trusted=False)
    client.close()

    assert refused is not None
    assert "is a loopback address" in refused
    assert service.paths() == ["/readyz"]


def test_a_redirect_is_checked_like_the_first_request(blocked: Listener) -> None:
    policy = OutboundPolicy(LOOPBACK_ONLY, resolver=numeric)
    with (
        fake_service(FakeService(redirect_to=blocked.url)) as redirecting,
        policy.http_client(follow_redirects=True) as http,
    ):
        with pytest.raises(OutboundBlocked):
            http.get(redirecting.url + "/info")
        redirecting.redirect_to = "http://169.254.169.254"
        with pytest.raises(OutboundBlocked):
            http.get(redirecting.url + "/info")
        redirecting.redirect_to = "http://me:secret@127.0.0.1:1"
        with pytest.raises(OutboundBlocked):
            http.get(redirecting.url + "/info")

    assert blocked.connections() == 0
    assert len(redirecting.calls) == 3


def test_the_service_client_does_not_follow_redirects(blocked: Listener) -> None:
    client = ServiceClient(process_timeout=5, policy=OutboundPolicy(resolver=numeric))
    with fake_service(FakeService(redirect_to=blocked.url)) as redirecting:
        with pytest.raises(ServiceError) as failed:
            client.info(redirecting.url, trusted=True)  # even for an admin's service
        not_ready = client.readiness_error(redirecting.url, trusted=True)
    client.close()

    assert "answered HTTP 307 (a redirect, which trapline does not follow" in failed.value.detail
    assert blocked.url not in failed.value.detail
    assert not_ready is not None
    assert "HTTP 307" in not_ready
    assert blocked.connections() == 0


def test_proxies_from_the_environment_are_not_used(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, blocked: Listener
) -> None:
    """A proxy would be connected to instead of the checked address."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, blocked.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert os.environ["HTTP_PROXY"] == blocked.url

    with OutboundPolicy(LOOPBACK_ONLY).http_client() as http:
        assert http.get(service.url + "/readyz").status_code == 200

    assert blocked.connections() == 0


def test_an_answer_that_is_not_http_is_not_quoted() -> None:
    """The HTTP parser's own message quotes the bytes the service sent."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"http://127.0.0.1:{server.getsockname()[1]}"

        def answer_garbage() -> None:
            peer, _ = server.accept()
            with peer:
                peer.recv(65536)
                peer.sendall(b"SECRET-hunter2 is not a status line\r\n\r\n")

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        client = ServiceClient(process_timeout=5, policy=OutboundPolicy(LOOPBACK_ONLY))
        with pytest.raises(ServiceError) as failed:
            client.info(url, trusted=False)
        client.close()
        thread.join()

    assert failed.value.code == "service_unreachable"
    assert "its answer is not valid HTTP" in failed.value.detail
    assert "hunter2" not in failed.value.detail


class _Counts(BaseModel):
    per_label: dict[str, int]
    mode: Literal["fast", "slow"]


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ('{"per_label": {"hunter2": "x"}, "mode": "fast"}', "per_label.…: Input should be"),
        ('{"per_label": {}, "mode": "hunter2"}', "mode: Input should be 'fast' or 'slow'"),
        ('{"per_label": {}, "mode": 1, "hunter2": 1}', "mode: Input should be 'fast' or 'slow'"),
    ],
)
def test_a_contract_problem_names_the_contract_not_what_the_service_sent(
    answer: str, says: str
) -> None:
    with pytest.raises(ValidationError) as invalid:
        _Counts.model_validate_json(answer)

    problem = _first_problem(invalid.value, _Counts)

    assert problem.startswith(says)
    assert "hunter2" not in problem


def test_an_ordinary_account_cannot_tell_a_private_name_from_one_that_does_not_resolve() -> None:
    """Registration answers both alike, so the server's DNS cannot be mapped through it."""
    resolver = names({"db.internal": ["10.0.0.5"], "nothing.internal": []})
    client = ServiceClient(process_timeout=5, policy=OutboundPolicy(resolver=resolver))
    details = []
    try:
        for host in ("db.internal", "nothing.internal"):
            with pytest.raises(OutboundBlocked) as refused:
                client.check(f"http://{host}:8000/", trusted=False)
            details.append(refused.value.detail.replace(host, "#"))
    finally:
        client.close()
    assert details[0] == details[1]
    assert "resolves to no public address" in details[0]


# -- TLS --


class _Hello(Station):
    def do_GET(self) -> None:
        self.answer(200, b"", "text/plain")


@pytest.fixture
def tls_service(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on loopback with a self-signed certificate: its URL and certificate."""
    certificate = self_signed_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate)
    with http_serving(_Hello, tls=context) as url:
        yield url, certificate


def test_tls_certificates_are_verified(tls_service: tuple[str, Path]) -> None:
    url, certificate = tls_service
    policy = OutboundPolicy(LOOPBACK_ONLY, resolver=numeric)
    for _ in range(2):  # each client, also the second over the shared context, verifies
        with policy.http_client() as http, pytest.raises(httpx.ConnectError, match="VERIFY"):
            http.get(url)

    trusting = ssl.create_default_context(cafile=certificate)
    with httpx.Client(transport=policy.transport(verify=trusting), trust_env=False) as http:
        assert http.get(url).status_code == 200


def test_an_answerer_replies_only_to_what_the_guard_lets_through() -> None:
    answered: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        answered.append(str(request.url))
        return httpx.Response(200, json={"stand-in": True})

    policy = OutboundPolicy(
        resolver=names({"gpu.example.org": ["93.184.215.14"], "inside.example.org": ["10.0.0.5"]}),
        answer=answer,
    )
    with policy.http_client(trusted=False) as http:
        assert http.get("http://gpu.example.org:2000/info").json() == {"stand-in": True}
        for url in ("http://inside.example.org/info", "http://127.0.0.1/info", "http://[::1/"):
            with pytest.raises((OutboundBlocked, httpx.InvalidURL)):
                http.get(url)
    with policy.http_client(trusted=True) as http:  # an admin's service: no address rule
        assert http.get("http://inside.example.org/readyz").status_code == 200
    assert answered == ["http://gpu.example.org:2000/info", "http://inside.example.org/readyz"]

"""Sites every gateway test runs over: one per kind of source and listing format."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.moto import new_bucket, s3_client
from tests.support.settings import make_settings
from tests.support.source_servers import (
    LOOPBACK,
    PASSWORD,
    USER,
    FolderSite,
    ftp_server,
    nginx_server,
    python_http_server,
    self_signed_certificate,
    write_apache_pages,
)
from trapline.settings import Settings
from trapline.sources.base import GatewayConfig

#: Every site the contract suite runs over.
SITES = [
    "local",
    "nginx_html",
    "nginx_json",
    "nginx_auth",
    "http_server",
    "apache_page",
    pytest.param("s3", marks=pytest.mark.s3),
    "ftp",
    "ftp_list",
    "ftps",
]


@dataclass
class BucketSite:
    """An S3 site: a bucket of the moto server, under a prefix."""

    endpoint: str
    bucket: str
    kind: str = "s3"
    prefix: str = "cams/trap-1"

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def credentials(self) -> dict[str, str]:
        return {"access_key_id": "testing", "secret_access_key": "testing"}

    def put(self, key: str, data: bytes) -> None:
        s3_client(self.endpoint).put_object(
            Bucket=self.bucket, Key=f"{self.prefix}/{key}", Body=data
        )

    def remove(self, key: str) -> None:
        s3_client(self.endpoint).delete_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}")

    def config(self, **options: Any) -> GatewayConfig:
        options.setdefault("credentials", self.credentials)
        options.setdefault("policy", LOOPBACK)
        options.setdefault("timeout", 10.0)
        return GatewayConfig(url=self.url, endpoint_url=self.endpoint, **options)


@pytest.fixture(params=SITES)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A place to put files, read by a gateway of the site's kind."""
    yield from make_site(request.param, tmp_path, request)


def make_site(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The site called ``name`` (see SITES), its servers running while the generator is open."""
    root = tmp_path / "files"
    root.mkdir()
    if name == "local":
        yield FolderSite("local", root, str(root), local_roots=(tmp_path,))
    elif name.startswith("nginx"):
        with nginx_server(root, tmp_path / "nginx") as port:
            where = {"nginx_html": "html", "nginx_json": "json", "nginx_auth": "private"}[name]
            credentials = {"username": USER, "password": PASSWORD} if name == "nginx_auth" else {}
            url = f"http://127.0.0.1:{port}/{where}/"
            yield FolderSite("http_directory", root, url, credentials)
    elif name == "http_server":
        with python_http_server(root) as port:
            yield FolderSite("http_directory", root, f"http://127.0.0.1:{port}/")
    elif name == "apache_page":
        write_apache_pages(root)
        with python_http_server(root) as port:
            url = f"http://127.0.0.1:{port}/"
            yield FolderSite("http_directory", root, url, refresh=write_apache_pages)
    elif name == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        yield BucketSite(endpoint, new_bucket(endpoint))
    elif name in ("ftp", "ftp_list", "ftps"):
        cert = self_signed_certificate(tmp_path) if name == "ftps" else None
        if cert is not None:
            request.getfixturevalue("monkeypatch").setenv("SSL_CERT_FILE", str(cert))
        with ftp_server(root, mlsd=name != "ftp_list", certfile=cert) as port:
            scheme = "ftps" if cert else "ftp"
            credentials = {"username": USER, "password": PASSWORD}
            yield FolderSite("ftp", root, f"{scheme}://127.0.0.1:{port}/", credentials)
    else:  # pragma: no cover
        raise ValueError(name)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """The suite's settings, with loopback allowed (the servers here listen on it) and the
    test's folder open to local sources."""
    return make_settings(
        request,
        tmp_path,
        database_url,
        outbound_allow_networks="127.0.0.0/8",
        sources_local_roots=str(tmp_path),
        sources_timeout=10.0,
    )

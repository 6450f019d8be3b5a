"""Pull sources: gateways that list and read the places stations put their photos.

``open_gateway(kind, config)`` picks a gateway by a source's kind from ``KINDS``; each kind's
module is imported only when used. ``services/sources/sources.py`` keeps the records and runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from trapline.errors import InvalidInput
from trapline.sources.base import Entry, Gateway, GatewayConfig, SourceError


def _check_http(url: str) -> None:
    from trapline.outbound import check_form

    check_form(url)


def _check_s3(url: str) -> None:
    from trapline.sources.s3 import bucket_of

    bucket_of(url)


def _check_ftp(url: str) -> None:
    from trapline.sources.ftp import server_of

    server_of(url)


def _check_local(url: str) -> None:
    from trapline.sources.local import folder_of

    folder_of(url)


@dataclass(frozen=True)
class Kind:
    """A kind of source: its gateway, the credentials it takes, how its URL looks."""

    name: str
    #: ``module:Class`` of the gateway, imported when first used.
    gateway: str
    #: Credential names the kind takes; each tuple in ``required`` is one accepted set.
    credentials: frozenset[str]
    required: tuple[frozenset[str], ...]
    #: Raises InvalidInput when a URL is not of the kind's form.
    check_url: Callable[[str], None]
    example: str


KINDS: Mapping[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "http_directory",
            "trapline.sources.http_directory:HttpDirectoryGateway",
            frozenset({"username", "password", "authorization"}),
            (frozenset(),),
            _check_http,
            "https://station.example.org/photos/",
        ),
        Kind(
            "s3",
            "trapline.sources.s3:S3Gateway",
            frozenset({"access_key_id", "secret_access_key"}),
            (frozenset({"access_key_id", "secret_access_key"}),),
            _check_s3,
            "s3://bucket/prefix",
        ),
        Kind(
            "ftp",
            "trapline.sources.ftp:FtpGateway",
            frozenset({"username", "password"}),
            (frozenset({"username", "password"}),),
            _check_ftp,
            "ftp://ftp.example.org/cameras/trap-1",
        ),
        Kind(
            "local",
            "trapline.sources.local:LocalGateway",
            frozenset(),
            (frozenset(),),
            _check_local,
            "/srv/traps/trap-1",
        ),
    )
}


def kind_of(name: str) -> Kind:
    """The kind of this name; InvalidInput naming the kinds there are."""
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(sorted(KINDS))
        raise InvalidInput(f"kind must be one of {known} (got {name!r})", field="kind") from None


def open_gateway(kind: str, config: GatewayConfig) -> Gateway:
    """A gateway of this kind over ``config``."""
    module, _, cls = kind_of(kind).gateway.partition(":")
    gateway: type[Gateway] = getattr(importlib.import_module(module), cls)
    return gateway(config)


__all__ = [
    "KINDS",
    "Entry",
    "Gateway",
    "GatewayConfig",
    "Kind",
    "SourceError",
    "kind_of",
    "open_gateway",
]

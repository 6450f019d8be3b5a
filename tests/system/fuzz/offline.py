"""``python tests/system/fuzz/offline.py serve …``: ``trapline`` whose outbound guard stands in
for the world outside, so the fuzz run reaches routes that make the server call a URL.

Every policy the server builds comes from ``OutboundPolicy.from_settings``; here it also gets a
resolver that asks no DNS (an address literal is itself, a name resolves to one public address)
and an answerer that replies as a processing service would instead of connecting. The guard
itself is untouched: a generated URL is parsed, checked for its form, resolved and judged by
the address rules as on any server, and only a request the guard lets through is answered here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

import httpx

from trapline.outbound import IPAddress, OutboundPolicy
from trapline.settings import SecuritySettings

#: Where every host name "resolves": a public address (no connection is ever made to it).
NAMES_RESOLVE_TO = ipaddress.ip_address("93.184.215.14")
#: The pipeline every stood-in service offers; not the fuzzed project's pull pipeline.
PIPELINE = {
    "name": "Fuzz push",
    "slug": "fuzz-push",
    "version": 1,
    "algorithms": [{"name": "Detector", "key": "fuzz-detector", "task_type": "detection"}],
}


def resolve(host: str, port: int) -> list[IPAddress]:
    """An address literal as itself; any name as ``NAMES_RESOLVE_TO``."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        return [NAMES_RESOLVE_TO]


def answer(request: httpx.Request) -> httpx.Response:
    """What a processing service answers: ``/info``, ``/livez`` and ``/readyz``; 404 else."""
    path = request.url.path.rstrip("/")
    if path.endswith("/info"):
        return httpx.Response(200, json={"name": "Stand-in service", "pipelines": [PIPELINE]})
    if path.endswith(("/livez", "/readyz")):
        return httpx.Response(200, json={"status": "ok"})
    return httpx.Response(404, json={"detail": "not found"})


def _offline(built: Any) -> Any:
    def from_settings(cls: type[OutboundPolicy], settings: SecuritySettings, **_: Any) -> Any:
        return replace(built(settings), resolver=resolve, answer=answer)

    return classmethod(from_settings)


if __name__ == "__main__":
    OutboundPolicy.from_settings = _offline(OutboundPolicy.from_settings)  # type: ignore[method-assign]
    from trapline.cli.main import main

    main()

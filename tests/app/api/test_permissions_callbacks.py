"""Who may call what in the callback API: every endpoint against every kind of caller.

Extends the matrix of ``test_permissions`` and reuses its sites, worlds and callers. The
signed calls (status, presign, bulk, finalize) take no token: every token, whoever holds it,
is answered 401 without a signature, and a foreign analysis answers exactly as a missing one.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.permissions import (
    CALLERS,
    Endpoint,
    Site,
    World,
    assert_error_body,
    build_world,
    generic_path,
    refusals_world,
    snapshot,
)
from tests.support.refusals import answered_as_missing

API = "/api/v2"
MATRIX_TAGS = {"callbacks"}

#: Calls of people (token); ``{analysis}`` and ``{secret}`` are made for each case.
ENDPOINTS = [
    Endpoint("POST", "/images/{image}/analyses", 201, "member",
             lambda _: {"json": {"model_name": "m", "model_version": "1"}}),
    Endpoint("GET", "/images/{image}/analyses", 200, "viewer"),
    Endpoint("GET", "/analyses/{analysis}", 200, "viewer"),
    Endpoint("POST", "/projects/{project}/callback-secrets", 201, "manager",
             lambda _: {"json": {"name": "cluster"}}),
    Endpoint("GET", "/projects/{project}/callback-secrets", 200, "manager"),
    Endpoint("DELETE", "/projects/{project}/callback-secrets/{secret}", 204, "manager"),
    Endpoint("GET", "/callbacks/stats", 200, "admin"),
]  # fmt: skip
#: Signed calls: a token is no signature.
SIGNED = [
    ("PATCH", "/analyses/{analysis}/status", {"status": "processing"}),
    ("POST", "/analyses/{analysis}/artifacts/presign", {"artifact_type": "log", "filename": "a"}),
    ("POST", "/analyses/{analysis}/annotations:bulk", {"annotations": []}),
    ("POST", "/analyses/{analysis}/finalize", {"status": "completed"}),
]


def _extra_ids(world: World) -> dict[str, Any]:
    owner = world.accounts["owner"]
    made = world.site.request(
        "POST", f"/images/{world.image}/analyses", owner, json={"model_name": "m"}
    )
    assert made.status_code == 201, made.text
    secret = world.site.request(
        "POST", f"/projects/{world.project}/callback-secrets", owner, json={"name": "s"}
    )
    assert secret.status_code == 201, secret.text
    return {**world.ids(), "analysis": made.json()["id"], "secret": secret.json()["id"]}


@pytest.mark.parametrize(
    ("caller", "endpoint"),
    [pytest.param(c, e, id=f"{c}-{e}") for e in ENDPOINTS for c in CALLERS],
)
def test_calls_of_people(site: Site, caller: str, endpoint: Endpoint) -> None:
    expected = endpoint.expected(caller)
    if endpoint.method != "GET" and expected < 400:
        _call_of_people(site, caller, endpoint, _world_with_ids(site))
        return
    # Reads and refusals change nothing: they share a world.
    with refusals_world(site, "callbacks", lambda: _world_with_ids(site)) as made:
        _call_of_people(site, caller, endpoint, made)


def _world_with_ids(site: Site) -> tuple[World, dict[str, Any]]:
    world = build_world(site)
    return world, _extra_ids(world)


def _call_of_people(
    site: Site, caller: str, endpoint: Endpoint, made: tuple[World, dict[str, Any]]
) -> None:
    world, ids = made
    expected = endpoint.expected(caller)
    before = _callbacks_snapshot(world) if endpoint.method != "GET" and expected >= 400 else None
    response = site.request(
        endpoint.method,
        endpoint.path.format(**ids),
        world.accounts.get(caller),
        **(endpoint.body(world) if endpoint.body else {}),
    )
    assert response.status_code == expected, response.text
    if before is not None:
        assert _callbacks_snapshot(world) == before, "a refused request changed the project"
    if expected >= 400:
        assert_error_body(response, expected)
    if caller in ("anonymous", "non-member"):
        for secret in world.secrets:
            assert secret not in response.text


def _callbacks_snapshot(world: World) -> list[Any]:
    """The project, its image's analyses and its callback secrets, read by the admin."""
    admin = world.accounts["admin"]
    paths = [f"/images/{world.image}/analyses", f"/projects/{world.project}/callback-secrets"]
    answers = [world.site.request("GET", path, admin) for path in paths]
    assert [a.status_code for a in answers] == [200] * len(paths)
    return [*snapshot(world), *(a.json() for a in answers)]


@pytest.mark.parametrize("caller", CALLERS)
def test_signed_calls_take_no_token(site: Site, caller: str) -> None:
    with refusals_world(site, "callbacks", lambda: _world_with_ids(site)) as (world, ids):
        for method, path, body in SIGNED:
            mine = site.request(method, path.format(**ids), world.accounts.get(caller), json=body)
            assert mine.status_code == 401, mine.text
            assert mine.json()["code"] == "bad_signature"


def test_a_foreign_analysis_answers_as_a_missing_one(site: Site) -> None:
    world = build_world(site)
    ids = _extra_ids(world)
    stranger = world.accounts["non-member"]
    for path, named in (
        ("/analyses/{analysis}", "analysis"),
        ("/images/{image}/analyses", "image"),
    ):
        theirs = site.request("GET", path.format(**ids), stranger)
        missing = site.request("GET", path.format(analysis=10**9, image=10**9), stranger)
        assert theirs.status_code == missing.status_code == 404
        assert answered_as_missing(theirs, missing, ids[named], 10**9), (theirs.text, missing.text)


def test_matrix_covers_every_endpoint_of_its_router(site: Site) -> None:
    paths = site.client.get(f"{API}/openapi.json").json()["paths"]
    served = {
        (method.upper(), generic_path(path.removeprefix(API)))
        for path, operations in paths.items()
        for method, operation in operations.items()
        if set(operation.get("tags", ())) & MATRIX_TAGS
    }
    listed = {(e.method, generic_path(e.path)) for e in ENDPOINTS}
    listed |= {(m, generic_path(p)) for m, p, _ in SIGNED}
    assert served == listed

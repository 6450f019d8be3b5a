"""Who may call what: every /api/v2 endpoint against every kind of caller.

Each case works on a project owned by ``owner`` that holds one deployment, one image and one
collection; ``viewer``, ``member`` and ``manager`` belong to it with those roles;
``non-member`` owns a project of their own but not this one; ``admin`` belongs to nothing and
may do everything; ``service`` is the project's service account, which may call only the
worker protocol (and see who it is and which projects it serves): everything else is refused
before any object is looked up.

The matrix has hundreds of cases on two backends, so it does not make a database per case:
each backend gets one site (database, app and accounts) for the whole module. Reads share one
project per site; every write that is allowed gets a project made just for it, and the refused
writes share one, which each case checks it left unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.permissions import (
    API,
    CALLERS,
    ROLES,
    Endpoint,
    Site,
    World,
    assert_error_body,
    assert_foreign_answers_as_missing,
    build_world,
    generic_path,
    refusals_world,
    small_jpeg,
    snapshot,
    spare_token,
    with_occurrence,
)
from tests.support.refusals import answered_as_missing

#: The routers (OpenAPI tags) whose every endpoint is in the matrix.
MATRIX_TAGS = {
    "users", "tokens", "projects", "deployments", "images", "collections", "events", "taxa",
}  # fmt: skip


@pytest.fixture
def world(site: Site) -> World:
    """A project made for this test alone."""
    return with_occurrence(build_world(site))


@pytest.fixture
def shared_world(site: Site) -> World:
    """A project every read-only case of the backend looks at."""
    if site.shared is None:
        site.shared = with_occurrence(build_world(site))
    return site.shared


def _json(payload: dict[str, Any]) -> Callable[[World], dict[str, Any]]:
    return lambda _: {"json": payload}


ENDPOINTS = [
    # Users and the caller's own tokens.
    Endpoint(
        "POST",
        "/users",
        201,
        "admin",
        lambda w: {"json": {"email": f"newcomer-{w.project}@example.org"}},
    ),
    Endpoint("GET", "/users/me", 200, "signed-in", workers=True),
    Endpoint("POST", "/tokens", 201, "signed-in", _json({"name": "laptop"})),
    Endpoint("GET", "/tokens", 200, "signed-in"),
    Endpoint("DELETE", "/tokens/{token}", 204, "signed-in"),
    # Projects and members.
    Endpoint("POST", "/projects", 201, "signed-in", _json({"name": "Fresh"})),
    Endpoint("GET", "/projects", 200, "signed-in", workers=True),
    Endpoint("GET", "/projects/{project}", 200, "viewer"),
    Endpoint("PATCH", "/projects/{project}", 200, "manager", _json({"name": "Renamed"})),
    Endpoint("DELETE", "/projects/{project}", 204, "owner"),
    Endpoint("GET", "/projects/{project}/members", 200, "viewer"),
    Endpoint(
        "POST",
        "/projects/{project}/members",
        201,
        "manager",
        lambda w: {"json": {"email": w.accounts["non-member"].email, "role": "viewer"}},
    ),
    Endpoint("DELETE", "/projects/{project}/members/{viewer}", 204, "manager"),
    # Deployments.
    Endpoint(
        "POST",
        "/projects/{project}/deployments",
        201,
        "member",
        _json({"name": "Trap B", "latitude": 45.5, "longitude": -73.6}),
    ),
    Endpoint("GET", "/projects/{project}/deployments", 200, "viewer"),
    Endpoint("GET", "/deployments/{deployment}", 200, "viewer"),
    Endpoint("PATCH", "/deployments/{deployment}", 200, "member", _json({"description": "moved"})),
    Endpoint("DELETE", "/deployments/{deployment}", 204, "manager"),
    # Events.
    Endpoint("GET", "/deployments/{deployment}/events", 200, "viewer"),
    Endpoint("GET", "/events/{event}", 200, "viewer"),
    Endpoint(
        "PUT", "/deployments/{deployment}/event-rule", 200, "member", _json({"rule": "night"})
    ),
    Endpoint("GET", "/deployments/{deployment}/counting", 200, "viewer"),
    Endpoint(
        "GET",
        "/deployments/{deployment}/compare",
        200,
        "viewer",
        lambda w: {"params": {"a": w.pipeline, "b": w.pipeline}},
    ),
    Endpoint(
        "PUT",
        "/deployments/{deployment}/counting",
        200,
        "manager",
        lambda w: {"json": {"pipeline": w.pipeline}},
    ),
    Endpoint(
        "PUT",
        "/projects/{project}/event-rule",
        200,
        "manager",
        _json({"rule": "sequence", "gap_seconds": 30}),
    ),
    Endpoint("GET", "/event-regroupings/{regrouping}", 200, "viewer"),
    Endpoint("GET", "/events/{event}/occurrences", 200, "viewer"),
    Endpoint("GET", "/occurrences/{occurrence}", 200, "viewer"),
    # A project's listings and its counts as rows.
    Endpoint("GET", "/projects/{project}/occurrences", 200, "viewer"),
    Endpoint("GET", "/projects/{project}/events", 200, "viewer"),
    Endpoint("GET", "/projects/{project}/counts", 200, "viewer"),
    # camtrapR's tables.
    Endpoint("GET", "/projects/{project}/record-table", 200, "viewer"),
    Endpoint("GET", "/projects/{project}/camera-operation", 200, "viewer"),
    Endpoint(
        "GET",
        "/projects/{project}/detection-history",
        200,
        "viewer",
        lambda w: {"params": {"taxon": w.taxon}},
    ),
    # The world's occurrence has one detection: a member's split or merge gets as far as the
    # 400 that says so, past every right.
    Endpoint(
        "POST",
        "/occurrences/{occurrence}/split",
        400,
        "member",
        lambda w: {"json": {"detection_ids": [w.occurrence]}},
    ),
    Endpoint(
        "POST",
        "/events/{event}/occurrences/merge",
        400,
        "member",
        lambda w: {"json": {"occurrence_ids": [w.occurrence, w.occurrence]}},
    ),
    # Taxa, labels, identifications and the species view.
    Endpoint(
        "POST",
        "/projects/{project}/taxa",
        200,
        "manager",
        lambda _: {
            "files": {"file": ("t.csv", io.BytesIO(b"scientific_name,rank\nPlantae,kingdom\n"))}
        },
    ),
    Endpoint("GET", "/projects/{project}/taxa", 200, "viewer"),
    Endpoint(
        "GET", "/projects/{project}/taxa/search", 200, "viewer", lambda _: {"params": {"q": "an"}}
    ),
    Endpoint("GET", "/projects/{project}/taxa/export", 200, "viewer"),
    Endpoint("GET", "/projects/{project}/taxa/{taxon}", 200, "viewer"),
    Endpoint("GET", "/projects/{project}/taxa-list", 200, "viewer"),
    Endpoint(
        "PUT",
        "/projects/{project}/taxa-list",
        200,
        "manager",
        lambda w: {"json": {"taxa_list_id": w.taxa_list}},
    ),
    Endpoint("GET", "/projects/{project}/labels", 200, "viewer"),
    Endpoint(
        "POST",
        "/projects/{project}/labels",
        200,
        "member",
        lambda w: {"json": {"label": "animal", "taxon_id": w.taxon}},
    ),
    Endpoint("GET", "/projects/{project}/species", 200, "viewer"),
    Endpoint("GET", "/projects/{project}/identification-queue", 200, "viewer"),
    Endpoint("GET", "/projects/{project}/identifications/unplaced", 200, "viewer"),
    Endpoint("GET", "/projects/{project}/counting", 200, "viewer"),
    Endpoint("GET", "/occurrences/{occurrence}/identifications", 200, "viewer"),
    Endpoint(
        "POST",
        "/occurrences/{occurrence}/identifications",
        201,
        "member",
        lambda w: {"json": {"taxon_id": w.taxon, "comment": "a bird"}},
    ),
    Endpoint(
        "POST",
        "/projects/{project}/identifications",
        201,
        "member",
        lambda w: {"json": {"occurrence_ids": [w.occurrence], "taxon_id": w.taxon}},
    ),
    Endpoint(
        "POST",
        "/annotations/{detection}/identifications",
        201,
        "member",
        lambda w: {"json": {"taxon_id": w.taxon}},
    ),
    # The owner's identification: its author, or a manager, withdraws it.
    Endpoint("POST", "/identifications/{identification}/withdraw", 200, "manager"),
    # Images.
    Endpoint(
        "POST",
        "/projects/{project}/images",
        201,
        "member",
        lambda _: {"files": [("files", ("new.jpg", io.BytesIO(small_jpeg()), "image/jpeg"))]},
    ),
    Endpoint("GET", "/projects/{project}/images", 200, "viewer"),
    Endpoint("GET", "/images/{image}", 200, "viewer"),
    Endpoint("DELETE", "/images/{image}", 204, "manager"),
    Endpoint("GET", "/images/{image}/download", 307, "viewer"),
    Endpoint("GET", "/images/{image}/thumbnail", 307, "viewer"),
    Endpoint("GET", "/annotations/{detection}/crop", 307, "viewer"),
    # Collections.
    Endpoint(
        "POST",
        "/projects/{project}/collections",
        201,
        "member",
        lambda w: {"json": {"name": "Mine", "image_ids": [w.image]}},
    ),
    Endpoint("GET", "/projects/{project}/collections", 200, "viewer"),
    Endpoint("GET", "/collections/{collection}", 200, "viewer"),
    Endpoint("DELETE", "/collections/{collection}", 204, "member"),
    Endpoint("GET", "/collections/{collection}/images", 200, "viewer"),
]


def _cases(reads: bool) -> list[Any]:
    return [
        pytest.param(caller, endpoint, id=f"{caller}-{endpoint}")
        for endpoint in ENDPOINTS
        if (endpoint.method == "GET") == reads
        for caller in CALLERS
    ]


def _check(world: World, caller: str, endpoint: Endpoint) -> None:
    account = world.accounts.get(caller)
    ids = world.ids()
    if "{token}" in endpoint.path:
        # Service accounts make no tokens: theirs is another's.
        maker = account if caller not in ("anonymous", "service") else None
        ids["token"] = spare_token(world.site, maker or world.accounts["owner"])
    expected = endpoint.expected(caller)
    writes = endpoint.method != "GET"
    before = snapshot(world) if writes and expected >= 400 else None

    response = world.site.request(
        endpoint.method,
        endpoint.path.format(**ids),
        account,
        **(endpoint.body(world) if endpoint.body else {}),
    )

    assert response.status_code == expected, response.text
    if expected >= 400:
        assert_error_body(response, expected)
    if expected == 307:  # the signed link itself needs no token
        assert world.site.client.get(response.headers["location"]).status_code == 200
    if before is not None:
        assert snapshot(world) == before, "a refused request changed the project"
    if caller in ("anonymous", "non-member"):
        for secret in world.secrets:
            assert secret not in response.text, f"{secret!r} leaked to {caller}"


@pytest.mark.parametrize(("caller", "endpoint"), _cases(reads=True))
def test_reads(shared_world: World, caller: str, endpoint: Endpoint) -> None:
    _check(shared_world, caller, endpoint)


@pytest.mark.parametrize(("caller", "endpoint"), _cases(reads=False))
def test_writes(site: Site, caller: str, endpoint: Endpoint) -> None:
    def make() -> World:
        return with_occurrence(build_world(site))

    if endpoint.expected(caller) < 400:
        _check(make(), caller, endpoint)
        return
    with refusals_world(site, "project", make) as world:
        _check(world, caller, endpoint)


def test_matrix_covers_every_endpoint_of_its_routers(site: Site) -> None:
    paths = site.client.get(f"{API}/openapi.json").json()["paths"]
    served = {
        (method.upper(), generic_path(path.removeprefix(API)))
        for path, operations in paths.items()
        for method, operation in operations.items()
        if set(operation.get("tags", ())) & MATRIX_TAGS
    }
    assert served == {(e.method, generic_path(e.path)) for e in ENDPOINTS} | ADMIN_USER_ROUTES


#: The admin's user routes act on another account (deactivate it, reset its password), which
#: would change the accounts this matrix uses; tests/app/api/test_admin_users.py checks each one
#: refuses every caller but an admin.
ADMIN_USER_ROUTES = {
    ("GET", "/users"),
    ("GET", "/users/{}"),
    ("POST", "/users/{}/tokens"),
    ("POST", "/users/{}/deactivate"),
    ("POST", "/users/{}/activate"),
    ("POST", "/users/{}/password"),
}


@pytest.mark.parametrize("caller", CALLERS[1:])
def test_project_list_shows_only_projects_of_the_caller(world: World, caller: str) -> None:
    account = world.accounts[caller]
    response = world.site.request("GET", "/projects?limit=1000", account)
    assert response.status_code == 200
    listed = {p["id"]: p["name"] for p in response.json()["results"]}
    if caller == "non-member":
        assert world.project not in listed
        assert "Stranger's own" in listed.values()
        for secret in world.secrets:
            assert secret not in response.text
    else:
        assert listed[world.project] == world.name


@pytest.mark.parametrize("caller", ROLES)
def test_project_shows_the_callers_role(shared_world: World, caller: str) -> None:
    account = shared_world.accounts[caller]
    response = shared_world.site.request("GET", f"/projects/{shared_world.project}", account)
    assert response.status_code == 200
    assert response.json()["role"] == caller


@pytest.mark.parametrize(
    "authorization", ["Token not-a-real-token", "Bearer not-a-real-token", "Basic dXNlcjpwYXNz"]
)
def test_unknown_credentials_are_refused_like_none(shared_world: World, authorization) -> None:
    response = shared_world.site.client.get(
        f"{API}/projects/{shared_world.project}", headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    assert_error_body(response, 401)
    for secret in shared_world.secrets:
        assert secret not in response.text


def test_revoked_token_stops_working(site: Site) -> None:
    account = site.accounts["viewer"]
    spare = site.request("POST", "/tokens", account, json={"name": "spare"}).json()
    spare_account = Account(account.id, account.email, spare["token"])
    assert site.request("GET", "/users/me", spare_account).status_code == 200
    assert site.request("DELETE", f"/tokens/{spare['id']}", account).status_code == 204
    refused = site.request("GET", "/users/me", spare_account)
    assert refused.status_code == 401
    assert_error_body(refused, 401)


@pytest.mark.parametrize("caller", ["non-member", "viewer", "manager", "admin"])
def test_tokens_of_others_cannot_be_revoked(site: Site, caller: str) -> None:
    owner = site.accounts["owner"]
    owners_spare = spare_token(site, owner)
    response = site.request("DELETE", f"/tokens/{owners_spare}", site.accounts[caller])
    assert response.status_code == 404
    assert_error_body(response, 404)
    listed = site.request("GET", "/tokens", owner).json()["results"]
    assert owners_spare in [t["id"] for t in listed if t["revoked_at"] is None]


def test_a_foreign_object_answers_exactly_as_a_missing_one(world: World) -> None:
    """Same status, same JSON, byte for byte: the answer tells an outsider nothing."""
    assert_foreign_answers_as_missing(world, ENDPOINTS, world.ids())


def test_a_foreign_token_answers_as_a_missing_one(site: Site) -> None:
    theirs = spare_token(site, site.accounts["owner"])
    missing = theirs + 10**9
    stranger = site.accounts["non-member"]
    foreign = site.request("DELETE", f"/tokens/{theirs}", stranger)
    absent = site.request("DELETE", f"/tokens/{missing}", stranger)
    assert foreign.status_code == absent.status_code == 404
    assert answered_as_missing(foreign, absent, theirs, missing), (foreign.text, absent.text)

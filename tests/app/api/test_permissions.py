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
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.databases import BACKENDS, PostgresDatabases, SqliteDatabases, require_postgres
from trapline.app import create_app
from trapline.db.engine import Database
from trapline.imaging.synthetic import light_trap_jpeg
from trapline.platform import Platform
from trapline.services import users
from trapline.services.occurrences import track_due
from trapline.settings import Settings

API = "/api/v2"
T = TypeVar("T")

#: Project roles from least to most rights; each includes the rights of those before it.
ROLES = ("viewer", "member", "manager", "owner")
CALLERS = ("anonymous", "non-member", *ROLES, "admin", "service")
#: The JSON ``code`` each refusal answers with.
ERROR_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
}
#: The routers (OpenAPI tags) whose every endpoint is in the matrix.
MATRIX_TAGS = {
    "users", "tokens", "projects", "deployments", "images", "collections", "events", "taxa",
}  # fmt: skip

_jpeg_seeds = itertools.count(1)
_world_serials = itertools.count(1)


def _small_jpeg() -> bytes:
    """A new tiny JPEG each call, so uploads never deduplicate against another case's."""
    return light_trap_jpeg(next(_jpeg_seeds), width=64, height=48)


@dataclass
class Site:
    """One backend's database and app, with an account for every kind of caller."""

    client: AppClient
    accounts: dict[str, Account]
    shared: World | None = None
    #: Worlds the refused writes share, with the cases that used them, by the name of their
    #: kind (see ``refusals_world``).
    refusals: dict[str, tuple[Any, int]] = field(default_factory=dict)

    def request(
        self, method: str, path: str, account: Account | None, **kwargs: Any
    ) -> httpx.Response:
        """Call the API as ``account`` (None: anonymously); redirects are returned, not followed."""
        headers = account.headers if account else {}
        return self.client.request(
            method, API + path, headers=headers, follow_redirects=False, **kwargs
        )


@dataclass
class Sites:
    """Sites made on first use, kept for the whole module (in any test order)."""

    tmp_path_factory: pytest.TempPathFactory
    sqlite_databases: SqliteDatabases
    postgres_databases: PostgresDatabases
    made: dict[str, Site] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def get(self, backend: str) -> Site:
        if backend not in self.made:
            self.made[backend] = self._open(backend)
        return self.made[backend]

    def _open(self, backend: str) -> Site:
        folder: Path = self.tmp_path_factory.mktemp(f"permissions-{backend}")
        if backend == "sqlite":
            url = self.sqlite_databases.new(folder)
        else:
            url = self.postgres_databases.new()
            self.cleanups.append(lambda: self.postgres_databases.drop(url))
        settings = Settings(
            data_dir=folder / "data",
            database_url=url,
            secret_key="test-secret-key",
            max_upload_bytes=5 * 1024 * 1024,
            max_request_bytes=20 * 1024 * 1024,
            # The push-service matrix registers a fake service on loopback as a manager.
            outbound_allow_networks="127.0.0.0/8",
            _env_file=None,
        )
        db = Database.from_url(settings.db.resolved_url(settings.server.data_dir))
        self.cleanups.append(db.dispose)
        platform = Platform.from_settings(settings, db=db)
        self.cleanups.append(platform.close)
        client = AppClient(create_app(platform))
        client.__enter__()
        self.cleanups.append(lambda: client.__exit__(None, None, None))

        def account(name: str, *, admin: bool = False) -> Account:
            email = f"{name}@example.org"
            user = users.create_user(db, None, email, name.title(), is_admin=admin)
            return Account(user.id, email, users.create_token(db, user, "tests").secret)

        accounts = {
            "non-member": account("stranger"),
            "viewer": account("vera"),
            "member": account("mark"),
            "manager": account("nina"),
            "owner": account("olive"),
            "admin": account("root", admin=True),
        }
        site = Site(client, accounts)
        own = site.request(
            "POST", "/projects", accounts["non-member"], json={"name": "Stranger's own"}
        )
        assert own.status_code == 201, own.text
        return site

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            cleanup()


@pytest.fixture(scope="module")
def sites(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
) -> Iterator[Sites]:
    made = Sites(tmp_path_factory, sqlite_databases, postgres_databases)
    yield made
    made.close()


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, sites: Sites) -> Site:
    if request.param == "postgres":
        require_postgres()
    return sites.get(request.param)


@dataclass(frozen=True)
class World:
    """A project with one of everything, as the matrix's cases see it."""

    site: Site
    project: int
    deployment: int
    image: int
    collection: int
    #: The project's name, and the names and the hash a caller outside it must never read.
    name: str
    secrets: tuple[str, ...]
    #: The project's service account.
    service: Account
    #: The image's event, and a regrouping of events (of a second, empty deployment).
    event: int = 0
    regrouping: int = 0
    #: The image's file name, and the occurrence tracked from its one imported detection.
    filename: str = ""
    occurrence: int = 0
    #: The occurrence's one detection, a taxon of the project's list, and the owner's
    #: identification of the occurrence.
    detection: int = 0
    taxon: int = 0
    taxa_list: int = 0
    identification: int = 0

    @property
    def accounts(self) -> dict[str, Account]:
        return {**self.site.accounts, "service": self.service}

    def ids(self) -> dict[str, Any]:
        """Values for the placeholders of endpoint paths."""
        return {
            "project": self.project,
            "deployment": self.deployment,
            "image": self.image,
            "collection": self.collection,
            "viewer": self.accounts["viewer"].id,
            "event": self.event,
            "regrouping": self.regrouping,
            "occurrence": self.occurrence,
            "detection": self.detection,
            "taxon": self.taxon,
            "identification": self.identification,
        }


def build_world(site: Site) -> World:
    """A new project owned by ``owner``, with members, a deployment, an image, a collection."""
    owner = site.accounts["owner"]
    # Names unique to this world: other worlds of the site may be visible to the same caller.
    serial = next(_world_serials)
    names = {
        "project": f"Secret Meadow Moths {serial}",
        "deployment": f"Hidden Trap North {serial}",
        "image": f"private-night-{serial}-20240601213000.jpg",
        "collection": f"Confidential picks {serial}",
    }

    def post(path: str, **kwargs: Any) -> dict[str, Any]:
        response = site.request("POST", path, owner, **kwargs)
        assert response.status_code == 201, response.text
        return response.json()

    project = post("/projects", json={"name": names["project"]})["id"]
    for role in ("viewer", "member", "manager"):
        email = site.accounts[role].email
        post(f"/projects/{project}/members", json={"email": email, "role": role})
    deployment = post(f"/projects/{project}/deployments", json={"name": names["deployment"]})["id"]
    uploaded = post(
        f"/projects/{project}/images",
        files=[("files", (names["image"], io.BytesIO(_small_jpeg()), "image/jpeg"))],
        data={"deployment_id": str(deployment)},
    )["results"][0]
    collection = post(
        f"/projects/{project}/collections",
        json={"name": names["collection"], "image_ids": [uploaded["id"]]},
    )["id"]
    made = post(f"/projects/{project}/service-tokens", json={"name": f"Farm {serial}"})
    spare = post(f"/projects/{project}/deployments", json={"name": f"Spare {serial}"})["id"]
    rule = site.request("PUT", f"/deployments/{spare}/event-rule", owner, json={"rule": "night"})
    assert rule.status_code == 200, rule.text
    image = site.request("GET", f"/images/{uploaded['id']}", owner).json()
    assert image["event_id"] is not None, image
    return World(
        site,
        project,
        deployment,
        uploaded["id"],
        collection,
        name=names["project"],
        secrets=(*names.values(), uploaded["sha256"]),
        service=Account(made["user_id"], f"service-{made['user_id']}", made["token"]),
        event=image["event_id"],
        regrouping=rule.json()["regrouping"]["id"],
        filename=names["image"],
    )


def with_occurrence(world: World) -> World:
    """The world with an occurrence of its image: one detection imported as MegaDetector
    output (which registers an import pipeline in the project), tracked."""
    site, project, filename, event = world.site, world.project, world.filename, world.event
    detections = [{"category": "1", "conf": 0.9, "bbox": [0.1, 0.1, 0.3, 0.3]}]
    results = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal"},
        "images": [{"file": filename, "detections": detections}],
    }
    owner = site.accounts["owner"]
    data = json.dumps(results).encode()
    files = {"file": ("md.json", io.BytesIO(data), "application/json")}
    imported = site.request("POST", f"/projects/{project}/imports/megadetector", owner, files=files)
    assert imported.status_code == 200, imported.text
    platform: Platform = site.client.app.state.platform  # type: ignore[attr-defined]
    track_due(platform.db, platform.store)
    found = site.request("GET", f"/events/{event}/occurrences", owner).json()
    assert found["count"] == 1, found
    occurrence = found["results"][0]
    return with_taxa(
        replace(world, occurrence=occurrence["id"], detection=occurrence["best_detection_id"])
    )


def with_taxa(world: World) -> World:
    """The world with a taxa list of one taxon, and the owner's identification of its
    occurrence as that taxon."""
    site, owner = world.site, world.site.accounts["owner"]
    taxa = io.BytesIO(b"scientific_name,rank\nAnimalia,kingdom\n")
    imported = site.request(
        "POST", f"/projects/{world.project}/taxa", owner, files={"file": ("t.csv", taxa)}
    )
    assert imported.status_code == 200, imported.text
    listed = site.request("GET", f"/projects/{world.project}/taxa", owner).json()
    taxon = int(listed["results"][0]["id"])
    taxa_list = site.request("GET", f"/projects/{world.project}/taxa-list", owner).json()["id"]
    made = site.request(
        "POST",
        f"/occurrences/{world.occurrence}/identifications",
        owner,
        json={"taxon_id": taxon},
    )
    assert made.status_code == 201, made.text
    return replace(
        world, taxon=taxon, taxa_list=int(taxa_list), identification=int(made.json()["id"])
    )


@pytest.fixture
def world(site: Site) -> World:
    """A project made for this test alone."""
    return with_occurrence(build_world(site))


@contextmanager
def refusals_world(
    site: Site, kind: str, make: Callable[[], T], *, uses: int | None = None
) -> Iterator[T]:
    """The world of ``kind`` that the site's cases which change nothing (refused writes) share,
    made on first use (and again after ``uses`` cases, for cases that add to it first).

    A refusal changes nothing, which each such case checks against a snapshot; a case that
    fails (a write let through, say) drops the world, so the next case gets a new one and no
    failure spreads to the cases after it."""
    world, used = site.refusals.get(kind) or (make(), 0)
    site.refusals[kind] = (world, used + 1)
    if uses is not None and used + 1 >= uses:
        del site.refusals[kind]
    try:
        yield world
    except BaseException:
        site.refusals.pop(kind, None)
        raise


@pytest.fixture
def shared_world(site: Site) -> World:
    """A project every read-only case of the backend looks at."""
    if site.shared is None:
        site.shared = with_occurrence(build_world(site))
    return site.shared


@dataclass(frozen=True)
class Endpoint:
    """One route, the least right it needs and its status when allowed."""

    method: str
    path: str
    ok: int
    #: A project role, "signed-in" (any authenticated user) or "admin".
    needs: str
    #: Extra keyword arguments of the request (json, files), made from the world.
    body: Callable[[World], dict[str, Any]] | None = None
    #: Service accounts may call it too (as the viewers of their projects they are).
    workers: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def expected(self, caller: str) -> int:
        """The status ``caller`` should get."""
        if caller == "anonymous":
            return 401
        if caller == "service":
            if not self.workers:
                return 403
            caller = "viewer"
        if self.needs == "signed-in":
            return self.ok
        if self.needs == "admin":
            return self.ok if caller == "admin" else 403
        if caller == "admin":
            return self.ok
        if caller == "non-member":
            return 404
        return self.ok if ROLES.index(caller) >= ROLES.index(self.needs) else 403


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
        lambda _: {"files": [("files", ("new.jpg", io.BytesIO(_small_jpeg()), "image/jpeg"))]},
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


def _spare_token(site: Site, account: Account) -> int:
    response = site.request("POST", "/tokens", account, json={"name": "spare"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _snapshot(world: World) -> list[Any]:
    """Everything in the project, read by the admin."""
    paths = [
        f"/projects/{world.project}",
        f"/projects/{world.project}/members",
        f"/projects/{world.project}/deployments",
        f"/projects/{world.project}/images?ordering=id",
        f"/projects/{world.project}/collections",
    ]
    answers = [world.site.request("GET", path, world.accounts["admin"]) for path in paths]
    assert [a.status_code for a in answers] == [200] * len(paths)
    return [a.json() for a in answers]


def _assert_error_body(response: httpx.Response, status: int) -> None:
    body = response.json()
    assert set(body) == {"detail", "code"}, body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["code"] == ERROR_CODES[status], body


def _check(world: World, caller: str, endpoint: Endpoint) -> None:
    account = world.accounts.get(caller)
    ids = world.ids()
    if "{token}" in endpoint.path:
        # Service accounts make no tokens: theirs is another's.
        maker = account if caller not in ("anonymous", "service") else None
        ids["token"] = _spare_token(world.site, maker or world.accounts["owner"])
    expected = endpoint.expected(caller)
    writes = endpoint.method != "GET"
    before = _snapshot(world) if writes and expected >= 400 else None

    response = world.site.request(
        endpoint.method,
        endpoint.path.format(**ids),
        account,
        **(endpoint.body(world) if endpoint.body else {}),
    )

    assert response.status_code == expected, response.text
    if expected >= 400:
        _assert_error_body(response, expected)
    if expected == 307:  # the signed link itself needs no token
        assert world.site.client.get(response.headers["location"]).status_code == 200
    if before is not None:
        assert _snapshot(world) == before, "a refused request changed the project"
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
        (method.upper(), _generic(path.removeprefix(API)))
        for path, operations in paths.items()
        for method, operation in operations.items()
        if set(operation.get("tags", ())) & MATRIX_TAGS
    }
    assert served == {(e.method, _generic(e.path)) for e in ENDPOINTS} | ADMIN_USER_ROUTES


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


def _generic(path: str) -> str:
    """The path with every placeholder written ``{}``, whatever its name."""
    parts = path.split("/")
    return "/".join("{}" if p.startswith("{") and p.endswith("}") else p for p in parts)


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
    _assert_error_body(response, 401)
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
    _assert_error_body(refused, 401)


@pytest.mark.parametrize("caller", ["non-member", "viewer", "manager", "admin"])
def test_tokens_of_others_cannot_be_revoked(site: Site, caller: str) -> None:
    owner = site.accounts["owner"]
    owners_spare = _spare_token(site, owner)
    response = site.request("DELETE", f"/tokens/{owners_spare}", site.accounts[caller])
    assert response.status_code == 404
    _assert_error_body(response, 404)
    listed = site.request("GET", "/tokens", owner).json()["results"]
    assert owners_spare in [t["id"] for t in listed if t["revoked_at"] is None]


def _outsiders_answers(
    world: World, endpoints: list[Endpoint], ids: dict[str, Any], **bodies: Any
) -> dict[str, tuple[int, bytes]]:
    """What the non-member gets from each endpoint that names an object, byte for byte."""
    answers = {}
    for endpoint in endpoints:
        named = "{" in endpoint.path and "{token}" not in endpoint.path
        if not named or endpoint.expected("non-member") != 404:  # lists of one's own
            continue
        extra = endpoint.body(bodies.get("scene", world)) if endpoint.body else {}
        response = world.site.request(
            endpoint.method,
            endpoint.path.format(**ids),
            world.accounts["non-member"],
            **extra,
        )
        answers[str(endpoint)] = (response.status_code, response.content)
    return answers


def assert_foreign_answers_as_missing(
    world: World, endpoints: list[Endpoint], ids: dict[str, Any], **bodies: Any
) -> None:
    """Every object of the world answers the non-member exactly as it does once deleted."""
    foreign = _outsiders_answers(world, endpoints, ids, **bodies)
    assert {status for status, _ in foreign.values()} == {404}, foreign
    gone = world.site.request("DELETE", f"/projects/{world.project}", world.accounts["owner"])
    assert gone.status_code == 204, gone.text
    missing = _outsiders_answers(world, endpoints, ids, **bodies)
    assert foreign == missing


def test_a_foreign_object_answers_exactly_as_a_missing_one(world: World) -> None:
    """Same status, same JSON, byte for byte: the answer tells an outsider nothing."""
    assert_foreign_answers_as_missing(world, ENDPOINTS, world.ids())


def test_a_foreign_token_answers_as_a_missing_one(site: Site) -> None:
    theirs = _spare_token(site, site.accounts["owner"])
    missing = theirs + 10**9
    stranger = site.accounts["non-member"]
    foreign = site.request("DELETE", f"/tokens/{theirs}", stranger)
    absent = site.request("DELETE", f"/tokens/{missing}", stranger)
    assert foreign.status_code == absent.status_code == 404
    assert foreign.text.replace(str(theirs), "#") == absent.text.replace(str(missing), "#")

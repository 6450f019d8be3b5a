"""The permission matrix's machinery: a site per backend (database, app, an account for every
kind of caller), worlds (a project with one of everything), endpoints with the least right they
need, and the checks every matrix (tests/app/api/test_permissions*.py) makes."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import text

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.databases import PostgresDatabases, SqliteDatabases
from tests.support.module_apps import open_module_app
from trapline.imaging.synthetic import light_trap_jpeg
from trapline.platform import Platform
from trapline.services.core import users
from trapline.services.ecology.tracking import track_due

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

_jpeg_seeds = itertools.count(1)

_world_serials = itertools.count(1)


def small_jpeg() -> bytes:
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
        app = open_module_app(
            backend,
            "permissions",
            self.tmp_path_factory,
            self.sqlite_databases,
            self.postgres_databases,
            self.cleanups,
            # The push-service matrix registers a fake service on loopback as a manager.
            outbound_allow_networks="127.0.0.0/8",
        )
        db, client = app.db, app.client

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
    #: The pipeline the occurrence was tracked from (what its deployment counts by).
    pipeline: str = ""
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
        files=[("files", (names["image"], io.BytesIO(small_jpeg()), "image/jpeg"))],
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
    # The world's rule change regroups in the background: tracked after it, not beside it.
    assert platform.regroupings.wait_idle(30)
    if track_due(platform.db, platform.store) < 1:
        pytest.fail(f"event {event} was not tracked: {_tracking_state(platform, event)}")
    found = site.request("GET", f"/events/{event}/occurrences", owner).json()
    assert found["count"] == 1, found
    occurrence = found["results"][0]
    return with_taxa(
        replace(
            world,
            occurrence=occurrence["id"],
            detection=occurrence["best_detection_id"],
            pipeline=occurrence["pipeline"],
        )
    )


def _tracking_state(platform: Platform, event: int) -> dict[str, Any]:
    """What says why an event was not tracked: its tracking columns, and the open tasks of
    its photos."""
    with platform.db.read() as repos:
        row = repos.session.execute(
            text(
                "SELECT tracking_version, tracked_version, tracking_attempts,"
                " tracking_retry_at, tracking_error FROM events WHERE id = :id"
            ),
            {"id": event},
        ).one()
        tasks = repos.session.execute(
            text(
                "SELECT t.status, t.updated_at FROM tasks t JOIN image_events ie"
                " ON ie.image_id = t.image_id WHERE ie.event_id = :id"
                " AND t.status IN ('queued', 'leased')"
            ),
            {"id": event},
        ).all()
    return {**row._asdict(), "open_tasks": [tuple(t) for t in tasks]}


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


def spare_token(site: Site, account: Account) -> int:
    response = site.request("POST", "/tokens", account, json={"name": "spare"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def snapshot(world: World) -> list[Any]:
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


def assert_error_body(response: httpx.Response, status: int) -> None:
    body = response.json()
    assert set(body) == {"detail", "code"}, body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["code"] == ERROR_CODES[status], body


def generic_path(path: str) -> str:
    """The path with every placeholder written ``{}``, whatever its name."""
    parts = path.split("/")
    return "/".join("{}" if p.startswith("{") and p.endswith("}") else p for p in parts)


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

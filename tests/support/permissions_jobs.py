"""The job matrix's machinery (tests/app/api/test_permissions_jobs.py and the push services'
matrix): worlds of the permission matrix with a registered pipeline, a service account and a
foreign one, their jobs and tasks, endpoints that make what they call on, and the check of one
case."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from tests.support import permissions
from tests.support.accounts import Account
from tests.support.permissions import (
    Endpoint,
    Site,
    Sites,
    World,
    assert_error_body,
    build_world,
    snapshot,
)
from tests.support.protocol import (
    detection,
    pipeline_config,
    registration,
    success,
    wait_for_status,
)

CALLERS = (*permissions.CALLERS, "foreign-service")

#: Callers who may work as a processing service in the world's project.
WORKERS = frozenset({"member", "manager", "owner", "admin", "service"})

#: Callers outside the world's project.
OUTSIDERS = frozenset({"non-member", "foreign-service"})

#: What a service account may do in its project besides the endpoints marked ``workers``:
#: work and register pipelines.
SERVICE_MAY = frozenset({"worker", "registrar"})

#: The project role a person needs for what a service account may also do.
PERSON_NEEDS = {"worker": "member", "registrar": "manager"}

#: A detection box inside the worlds' 64x48 images.
BOX = (2.0, 2.0, 30.0, 30.0)

#: The name the non-member gave their own project in ``test_permissions``.
HOME_NAME = "Stranger's own"


@dataclass(frozen=True)
class JobWorld:
    """A world of ``test_permissions`` with a registered pipeline and a service account."""

    base: World
    slug: str
    #: The name of the processing service and of the service account.
    farm: str
    job_name: str
    #: The host the world's worker says it runs on.
    host: str
    service: Account
    #: The shared world's job, run to the end with one stored result; None in fresh worlds.
    job: int | None = None

    @property
    def site(self) -> Site:
        return self.base.site

    @property
    def project(self) -> int:
        return self.base.project

    @property
    def accounts(self) -> dict[str, Account]:
        return {**self.base.accounts, "service": self.service}

    @property
    def secrets(self) -> tuple[str, ...]:
        """What a caller outside the project must never read."""
        return (*self.base.secrets, self.slug, self.farm, self.job_name, self.host)

    def ids(self) -> dict[str, Any]:
        return {**self.base.ids(), "slug": self.slug, "job": self.job}

    def call(self, method: str, path: str, caller: str, **kwargs: Any) -> httpx.Response:
        """Call the API as ``caller`` (a key of ``accounts``, or "anonymous")."""
        return self.site.request(method, path, self.accounts.get(caller), **kwargs)


def build_job_world(site: Site) -> JobWorld:
    """A new world whose owner registered a pipeline and made a service account."""
    world = build_world(site)
    n = world.project  # unique per site; the names end after it so none is part of another
    farm = f"Covert farm {n} here"
    owner = site.accounts["owner"]
    response = site.request(
        "POST",
        f"/projects/{n}/pipelines",
        owner,
        json=registration(pipeline_config(f"sorter-{n}-secret"), name=farm),
    )
    assert response.status_code == 201, response.text
    return JobWorld(
        world,
        slug=f"sorter-{n}-secret",
        farm=farm,
        job_name=f"Hidden run {n} of the night",
        host=f"gpu-{n}-hidden-host",
        service=service_account(site, owner, n, farm),
    )


def service_account(site: Site, manager: Account, project: int, name: str) -> Account:
    response = site.request(
        "POST", f"/projects/{project}/service-tokens", manager, json={"name": name}
    )
    assert response.status_code == 201, response.text
    made = response.json()
    return Account(made["user_id"], f"service-{made['user_id']}", made["token"])


def home_of_stranger(site: Site) -> int:
    """The non-member's own project."""
    response = site.request("GET", "/projects?limit=1000", site.accounts["non-member"])
    (home,) = [p["id"] for p in response.json()["results"] if p["name"] == HOME_NAME]
    return int(home)


def create_job(world: JobWorld, **fields: Any) -> int:
    """A job of the world's pipeline over all its images, created by the owner."""
    body = {"project_id": world.project, "pipeline": world.slug, "name": world.job_name}
    response = world.call("POST", "/jobs", "owner", json={**body, **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def running_job(world: JobWorld, **fields: Any) -> int:
    job = create_job(world, **fields)
    wait_for_status(world.site.client.get, job, {"running"}, world.accounts["owner"].headers)
    return job


def lease(world: JobWorld, job: int) -> dict[str, Any]:
    """The job's one task, claimed by the owner's worker."""
    response = world.call(
        "POST",
        f"/jobs/{job}/tasks",
        "owner",
        json={"batch_size": 5, "client_info": {"hostname": world.host, "pid": 7}},
    )
    assert response.status_code == 200, response.text
    (task,) = response.json()["tasks"]
    return task


def found(world: JobWorld, task: dict[str, Any]) -> dict[str, Any]:
    """A result item: one moth in the task's image."""
    return success(task, detection(task, slug=world.slug, bbox=BOX), slug=world.slug)


@dataclass
class JobSites(Sites):
    """The sites of ``test_permissions``, plus a service account of the non-member's project."""

    shared: dict[str, JobWorld] = field(default_factory=dict)

    def _open(self, backend: str) -> Site:
        site = super()._open(backend)
        stranger = site.accounts["non-member"]
        site.accounts["foreign-service"] = service_account(
            site, stranger, home_of_stranger(site), "Stranger's farm"
        )
        return site

    def shared_world(self, backend: str) -> JobWorld:
        """The world every read looks at: its job ran, and stored an analysis of the image."""
        if backend not in self.shared:
            world = build_job_world(self.get(backend))
            job = running_job(world)
            posted = world.call(
                "POST",
                f"/jobs/{job}/result",
                "owner",
                json={"results": [found(world, lease(world, job))]},
            )
            assert [t["status"] for t in posted.json()["tasks"]] == ["saved"], posted.text
            self.shared[backend] = replace(world, job=job)
        return self.shared[backend]


@dataclass(frozen=True)
class Scene:
    """A world and what one case made in it just before its call."""

    world: JobWorld
    made: dict[str, Any]

    def ids(self) -> dict[str, Any]:
        return {**self.world.ids(), **self.made}

    @property
    def job(self) -> int:
        return int(self.ids()["job"])

    @property
    def task(self) -> dict[str, Any]:
        return dict(self.made["task"])


Check = Callable[[Scene, str, httpx.Response], None]


@dataclass(frozen=True)
class JobEndpoint(Endpoint):
    """An endpoint of the matrix, with what its case makes first and what an allowed call does.

    ``needs`` may also be "worker" (members, and service accounts of the project) or
    "registrar" (managers, and service accounts of the project).
    """

    body: Callable[[Scene], dict[str, Any]] | None = None
    #: Objects the case needs, made by the owner; their ids fill the path's placeholders.
    makes: Callable[[JobWorld], dict[str, Any]] | None = None
    #: Checks the answer to an allowed call.
    shows: Check | None = None
    #: Callers who may not work in the project still get 200, with nothing in it.
    quiet: bool = False

    def expected(self, caller: str) -> int:
        for_workers = self.workers or self.needs in SERVICE_MAY
        if caller in ("service", "foreign-service") and not for_workers:
            return 403
        if caller == "service":
            return self.ok
        person = replace(self, needs=PERSON_NEEDS.get(self.needs, self.needs))
        return Endpoint.expected(person, "non-member" if caller == "foreign-service" else caller)


def everything_in(world: JobWorld) -> list[Any]:
    """Everything in the project, its jobs, tasks, pipelines and results, read by the admin."""
    project = world.project
    jobs = world.call("GET", f"/jobs?project={project}&limit=1000", "admin")
    paths = [
        f"/projects/{project}/pipelines",
        f"/processing-services?project={project}",
        f"/projects/{project}/annotations?limit=1000",
        f"/images/{world.base.image}",
        *(f"/jobs/{job['id']}/tasks?limit=1000" for job in jobs.json()["results"]),
    ]
    answers = [jobs, *(world.call("GET", path, "admin") for path in paths)]
    assert [a.status_code for a in answers] == [200] * len(answers)
    return [*snapshot(world.base), *(a.json() for a in answers)]


def is_refused(caller: str, endpoint: JobEndpoint) -> bool:
    """Whether the call changes nothing: refused, or quietly ignored for a non-worker."""
    return endpoint.expected(caller) >= 400 or (endpoint.quiet and caller not in WORKERS)


def check_case(world: JobWorld, caller: str, endpoint: JobEndpoint, *, writes: bool) -> None:
    scene = Scene(world, endpoint.makes(world) if endpoint.makes else {})
    expected = endpoint.expected(caller)
    refused = is_refused(caller, endpoint)
    before = everything_in(world) if writes and refused else None

    response = world.call(
        endpoint.method,
        endpoint.path.format(**scene.ids()),
        caller,
        **(endpoint.body(scene) if endpoint.body else {}),
    )

    assert response.status_code == expected, response.text
    if expected >= 400:
        assert_error_body(response, expected)
    elif endpoint.shows:
        endpoint.shows(scene, caller, response)
    if before is not None:
        assert everything_in(world) == before, "a refused request changed the project"
    if caller == "anonymous" or caller in OUTSIDERS:
        for secret in world.secrets:
            assert secret not in response.text, f"{secret!r} leaked to {caller}"

"""Who may run what: every jobs, worker-protocol, pipelines and annotations endpoint against
every kind of caller.

This extends the matrix of ``test_permissions`` and reuses its sites, worlds and checks: one
site (database, app and accounts) per backend for the whole module, one shared project for the
reads, a project made for each case that writes. Every world here also has a registered
pipeline and a service account; the jobs and leased tasks a case needs are made just before
its call.

``service`` (of ``test_permissions``) is a service account of the world's project: it works
as a worker, registers pipelines and lists jobs, and is refused everything else. One caller
joins: ``foreign-service``, a service account of another project (an outsider, like a
non-member, where service accounts may call at all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest

from tests.app.api import test_permissions as permissions
from tests.app.api.test_permissions import (
    Endpoint,
    Site,
    Sites,
    World,
    _assert_error_body,
    _generic,
    _snapshot,
    build_world,
    refusals_world,
)
from tests.support.accounts import Account
from tests.support.databases import BACKENDS, PostgresDatabases, SqliteDatabases, require_postgres
from tests.support.protocol import (
    detection,
    failure,
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
#: The routers (OpenAPI tags) whose every endpoint is in the matrix.
MATRIX_TAGS = {"jobs", "worker protocol", "pipelines", "annotations"}
#: Endpoints of other routers in the matrix for what these routers make (an image's analyses).
BORROWED = {("GET", "/images/{}")}
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


@pytest.fixture(scope="module")
def sites(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
) -> Iterator[JobSites]:
    made = JobSites(tmp_path_factory, sqlite_databases, postgres_databases)
    yield made
    made.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@pytest.fixture
def world(sites: JobSites, backend: str) -> JobWorld:
    """A project made for this test alone."""
    return build_job_world(sites.get(backend))


@pytest.fixture
def shared_world(sites: JobSites, backend: str) -> JobWorld:
    return sites.shared_world(backend)


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


def _json(payload: dict[str, Any]) -> Callable[[Scene], dict[str, Any]]:
    return lambda _: {"json": payload}


def _running(world: JobWorld) -> dict[str, Any]:
    return {"job": running_job(world)}


def _not_started(world: JobWorld) -> dict[str, Any]:
    return {"job": create_job(world, start_now=False)}


def _failed(world: JobWorld) -> dict[str, Any]:
    job = running_job(world, params={"max_attempts": 1})
    task = lease(world, job)
    world.call("POST", f"/jobs/{job}/result", "owner", json={"results": [failure(task)]})
    wait_for_status(world.site.client.get, job, {"failed"}, world.accounts["owner"].headers)
    return {"job": job}


def _leased(world: JobWorld) -> dict[str, Any]:
    job = running_job(world)
    return {"job": job, "task": lease(world, job)}


# What allowed calls answer and do.


def _lists_the_job(scene: Scene, caller: str, response: httpx.Response) -> None:
    listed = {item["id"] for item in response.json()["results"]}
    assert (scene.job in listed) == (caller not in OUTSIDERS), listed


def _shows_the_finished_job(scene: Scene, caller: str, response: httpx.Response) -> None:
    job = response.json()
    assert (job["name"], job["status"]) == (scene.world.job_name, "succeeded"), job


def _lists_the_done_task(scene: Scene, caller: str, response: httpx.Response) -> None:
    tasks = response.json()["results"]
    assert [(t["image_id"], t["status"]) for t in tasks] == [(scene.world.base.image, "succeeded")]


def _lists_the_pipeline(scene: Scene, caller: str, response: httpx.Response) -> None:
    pipelines = response.json()["results"]
    assert [(p["slug"], [s["name"] for s in p["services"]]) for p in pipelines] == [
        (scene.world.slug, [scene.world.farm])
    ]


def _lists_the_service(scene: Scene, caller: str, response: httpx.Response) -> None:
    (service,) = response.json()["results"]
    assert service["name"] == scene.world.farm
    assert scene.world.host in [w["hostname"] for w in service["workers"]]


def _lists_annotations(scene: Scene, caller: str, response: httpx.Response) -> None:
    annotations = response.json()["results"]
    assert annotations, "the stored result made no annotations"
    assert {a["image_id"] for a in annotations} == {scene.world.base.image}


def _shows_the_analysis(scene: Scene, caller: str, response: httpx.Response) -> None:
    (analysis,) = response.json()["analyses"]
    assert (analysis["job_id"], analysis["pipeline_slug"]) == (scene.job, scene.world.slug)
    assert {a["label"] for a in analysis["annotations"]} >= {"moth"}


def _made_the_job(scene: Scene, caller: str, response: httpx.Response) -> None:
    job = response.json()
    assert (job["project_id"], job["pipeline_slug"]) == (scene.world.project, scene.world.slug)


def _status(expected: str) -> Check:
    def check(scene: Scene, caller: str, response: httpx.Response) -> None:
        assert response.json()["status"] == expected, response.json()

    return check


def _job_gone(scene: Scene, caller: str, response: httpx.Response) -> None:
    assert scene.world.call("GET", f"/jobs/{scene.job}", "admin").status_code == 404


def _starts(scene: Scene, caller: str, response: httpx.Response) -> None:
    headers = scene.world.accounts["owner"].headers
    wait_for_status(scene.world.site.client.get, scene.job, {"running"}, headers)


def _hands_out_the_task(scene: Scene, caller: str, response: httpx.Response) -> None:
    tasks = response.json()["tasks"]
    assert [t["image_id"] for t in tasks] == [str(scene.world.base.image)]


def _saves_the_result(scene: Scene, caller: str, response: httpx.Response) -> None:
    assert [t["status"] for t in response.json()["tasks"]] == ["saved"], response.text


def _hands_out_to_workers(scene: Scene, caller: str, response: httpx.Response) -> None:
    jobs = [t["job_id"] for t in response.json()["tasks"]]
    assert jobs == ([scene.job] if caller in WORKERS else []), response.text


def _extends_for_workers(scene: Scene, caller: str, response: httpx.Response) -> None:
    token = scene.task["reply_subject"]
    if caller in WORKERS:
        assert response.json() == {"extended": [token], "lost": []}
    else:
        assert response.json() == {"extended": [], "lost": [token]}


def _registered(scene: Scene, caller: str, response: httpx.Response) -> None:
    assert response.json()["pipelines_created"] == [f"{scene.world.slug}-more"], response.text


def _disabled(scene: Scene, caller: str, response: httpx.Response) -> None:
    path = f"/projects/{scene.world.project}/pipelines"
    listed = scene.world.call("GET", path, "admin").json()["results"]
    assert [p["enabled"] for p in listed] == [False]


def _token_works(scene: Scene, caller: str, response: httpx.Response) -> None:
    made = Account(response.json()["user_id"], "", response.json()["token"])
    path = f"/jobs?project={scene.world.project}"
    assert scene.world.site.request("GET", path, made).status_code == 200


READS = [
    JobEndpoint("GET", "/jobs?limit=1000", 200, "signed-in", shows=_lists_the_job, workers=True),
    JobEndpoint(
        "GET", "/jobs?ids_only=1&limit=1000", 200, "signed-in", shows=_lists_the_job, workers=True
    ),
    JobEndpoint(
        "GET",
        "/jobs?ids_only=1&pipeline__slug__in={slug}",
        200,
        "signed-in",
        shows=_lists_the_job,
        workers=True,
    ),
    JobEndpoint(
        "GET", "/jobs?project={project}", 200, "viewer", shows=_lists_the_job, workers=True
    ),
    JobEndpoint("GET", "/jobs/{job}", 200, "viewer", shows=_shows_the_finished_job),
    JobEndpoint("GET", "/jobs/{job}/tasks", 200, "viewer", shows=_lists_the_done_task),
    JobEndpoint("GET", "/projects/{project}/pipelines", 200, "viewer", shows=_lists_the_pipeline),
    JobEndpoint(
        "GET", "/processing-services?project={project}", 200, "viewer", shows=_lists_the_service
    ),
    JobEndpoint("GET", "/projects/{project}/annotations", 200, "viewer", shows=_lists_annotations),
    JobEndpoint("GET", "/images/{image}", 200, "viewer", shows=_shows_the_analysis),
]

WRITES = [
    JobEndpoint(
        "POST",
        "/jobs",
        201,
        "member",
        lambda s: {
            "json": {
                "project_id": s.world.project,
                "pipeline": s.world.slug,
                "name": s.world.job_name,
                "start_now": False,
            }
        },
        shows=_made_the_job,
    ),
    JobEndpoint("DELETE", "/jobs/{job}", 204, "manager", makes=_running, shows=_job_gone),
    JobEndpoint(
        "POST", "/jobs/{job}/cancel", 200, "member", makes=_running, shows=_status("canceled")
    ),
    JobEndpoint(
        "POST", "/jobs/{job}/retry", 200, "member", makes=_failed, shows=_status("running")
    ),
    JobEndpoint("POST", "/jobs/{job}/start", 200, "member", makes=_not_started, shows=_starts),
    JobEndpoint(
        "POST",
        "/jobs/{job}/tasks",
        200,
        "worker",
        _json({"batch_size": 5}),
        makes=_running,
        shows=_hands_out_the_task,
    ),
    # Older AMI workers claim with a GET.
    JobEndpoint(
        "GET", "/jobs/{job}/tasks?batch=5", 200, "worker", makes=_running, shows=_hands_out_the_task
    ),
    JobEndpoint(
        "POST",
        "/jobs/{job}/result",
        200,
        "worker",
        lambda s: {"json": {"results": [found(s.world, s.task)]}},
        makes=_leased,
        shows=_saves_the_result,
    ),
    JobEndpoint(
        "POST",
        "/tasks/next",
        200,
        "signed-in",
        lambda s: {"json": {"pipelines": [s.world.slug], "batch_size": 5}},
        makes=_running,
        shows=_hands_out_to_workers,
        quiet=True,
        workers=True,
    ),
    JobEndpoint(
        "POST",
        "/tasks/extend",
        200,
        "signed-in",
        lambda s: {"json": {"reply_subjects": [s.task["reply_subject"]], "seconds": 600}},
        makes=_leased,
        shows=_extends_for_workers,
        quiet=True,
        workers=True,
    ),
    JobEndpoint(
        "POST",
        "/projects/{project}/pipelines",
        201,
        "registrar",
        lambda s: {
            "json": registration(pipeline_config(f"{s.world.slug}-more"), name=s.world.farm)
        },
        shows=_registered,
    ),
    JobEndpoint(
        "PATCH",
        "/projects/{project}/pipelines/{slug}",
        204,
        "manager",
        _json({"enabled": False}),
        shows=_disabled,
    ),
    JobEndpoint(
        "POST",
        "/projects/{project}/service-tokens",
        201,
        "manager",
        _json({"name": "another farm"}),
        shows=_token_works,
    ),
]


def _cases(endpoints: list[JobEndpoint]) -> list[Any]:
    return [
        pytest.param(caller, endpoint, id=f"{caller}-{endpoint}")
        for endpoint in endpoints
        for caller in CALLERS
    ]


def _everything(world: JobWorld) -> list[Any]:
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
    return [*_snapshot(world.base), *(a.json() for a in answers)]


def _refused(caller: str, endpoint: JobEndpoint) -> bool:
    """Whether the call changes nothing: refused, or quietly ignored for a non-worker."""
    return endpoint.expected(caller) >= 400 or (endpoint.quiet and caller not in WORKERS)


def _check(world: JobWorld, caller: str, endpoint: JobEndpoint, *, writes: bool) -> None:
    scene = Scene(world, endpoint.makes(world) if endpoint.makes else {})
    expected = endpoint.expected(caller)
    refused = _refused(caller, endpoint)
    before = _everything(world) if writes and refused else None

    response = world.call(
        endpoint.method,
        endpoint.path.format(**scene.ids()),
        caller,
        **(endpoint.body(scene) if endpoint.body else {}),
    )

    assert response.status_code == expected, response.text
    if expected >= 400:
        _assert_error_body(response, expected)
    elif endpoint.shows:
        endpoint.shows(scene, caller, response)
    if before is not None:
        assert _everything(world) == before, "a refused request changed the project"
    if caller == "anonymous" or caller in OUTSIDERS:
        for secret in world.secrets:
            assert secret not in response.text, f"{secret!r} leaked to {caller}"


@pytest.mark.parametrize(("caller", "endpoint"), _cases(READS))
def test_reads(shared_world: JobWorld, caller: str, endpoint: JobEndpoint) -> None:
    _check(shared_world, caller, endpoint, writes=False)


@pytest.mark.parametrize(("caller", "endpoint"), _cases(WRITES))
def test_writes(sites: JobSites, backend: str, caller: str, endpoint: JobEndpoint) -> None:
    site = sites.get(backend)
    if not _refused(caller, endpoint):
        _check(build_job_world(site), caller, endpoint, writes=True)
        return
    # A case makes what it calls on (a job, a task) first: a world serves a few cases, so
    # that the snapshots, which read all of it, stay small.
    with refusals_world(site, "job", lambda: build_job_world(site), uses=6) as world:
        _check(world, caller, endpoint, writes=True)


def test_matrix_covers_every_endpoint_of_its_routers(sites: JobSites, backend: str) -> None:
    client = sites.get(backend).client
    paths = client.get(f"{permissions.API}/openapi.json").json()["paths"]
    served = {
        (method.upper(), _generic(path.removeprefix(permissions.API)))
        for path, operations in paths.items()
        for method, operation in operations.items()
        if set(operation.get("tags", ())) & MATRIX_TAGS
    }
    covered = {(e.method, _generic(e.path.partition("?")[0])) for e in READS + WRITES}
    assert served | BORROWED == covered


# Outsiders who share a pipeline slug, or a service name, with the project.


def _share_the_pipeline(world: JobWorld, *, service_name: str) -> tuple[int, int]:
    """The non-member's project registers the world's pipeline and runs a job of it.

    Returns the project and its running job.
    """
    site, stranger = world.site, world.site.accounts["non-member"]
    home = home_of_stranger(site)
    registered = site.request(
        "POST",
        f"/projects/{home}/pipelines",
        stranger,
        json=registration(pipeline_config(world.slug), name=service_name),
    )
    assert registered.status_code == 201, registered.text
    files = [("files", ("mine.jpg", permissions._small_jpeg(), "image/jpeg"))]
    assert (
        site.request("POST", f"/projects/{home}/images", stranger, files=files).status_code == 201
    )
    body = {"project_id": home, "pipeline": world.slug, "name": "Mine"}
    job = site.request("POST", "/jobs", stranger, json=body).json()["id"]
    wait_for_status(site.client.get, job, {"running"}, stranger.headers)
    return home, job


@pytest.mark.parametrize("caller", sorted(OUTSIDERS))
def test_claiming_across_jobs_hands_out_only_the_callers_projects_tasks(
    world: JobWorld, caller: str
) -> None:
    job = running_job(world)
    _, home_job = _share_the_pipeline(world, service_name=f"Stranger's farm for {world.project}")
    before = _everything(world)

    response = world.call(
        "POST", "/tasks/next", caller, json={"pipelines": [world.slug], "batch_size": 1000}
    )

    assert response.status_code == 200, response.text
    claimed = {t["job_id"] for t in response.json()["tasks"]}
    assert claimed == {home_job}, f"expected tasks of job {home_job} only, not of {job}"
    assert _everything(world) == before
    leaked = [s for s in world.secrets if s != world.slug and s in response.text]
    assert leaked == []


def test_a_service_name_taken_in_another_project_shows_none_of_its_workers(
    world: JobWorld,
) -> None:
    lease(world, running_job(world))  # the world's worker is seen, on the world's host
    before = _everything(world)

    home, _ = _share_the_pipeline(world, service_name=world.farm)
    response = world.site.request(
        "GET", f"/processing-services?project={home}", world.site.accounts["non-member"]
    )

    assert response.status_code == 200, response.text
    assert world.host not in response.text, "the project's worker is listed to a non-member"
    assert _everything(world) == before, "registering elsewhere changed the project"


@pytest.mark.parametrize("selection", ["collection_id", "deployment_id", "image_ids"])
def test_a_job_cannot_select_another_projects_images(world: JobWorld, selection: str) -> None:
    _share_the_pipeline(world, service_name=f"Stranger's farm for {world.project}")
    home, stranger = home_of_stranger(world.site), world.site.accounts["non-member"]
    theirs = {
        "collection_id": world.base.collection,
        "deployment_id": world.base.deployment,
        "image_ids": world.base.image,
    }[selection]
    missing = 10**12

    def create(target: int) -> httpx.Response:
        chosen = [target] if selection == "image_ids" else target
        body = {"project_id": home, "pipeline": world.slug, selection: chosen}
        return world.site.request("POST", "/jobs", stranger, json=body)

    jobs_before = world.site.request("GET", f"/jobs?project={home}", stranger).json()["count"]
    foreign, absent = create(theirs), create(missing)

    assert foreign.status_code == absent.status_code == 400, foreign.text
    # The other project's object is refused in the very words of one that does not exist.
    # Only the object's own id, its first mention, is masked: the home project's id may be the
    # same number.
    foreign_words = foreign.json()["detail"].replace(str(theirs), "#", 1)
    assert foreign_words == absent.json()["detail"].replace(str(missing), "#", 1)
    for secret in world.secrets:
        if secret != world.slug:
            assert secret not in foreign.text
    jobs_after = world.site.request("GET", f"/jobs?project={home}", stranger).json()["count"]
    assert jobs_after == jobs_before


def test_a_foreign_job_task_or_pipeline_answers_exactly_as_a_missing_one(world: JobWorld) -> None:
    """Each endpoint naming the world's job, task, pipeline or project answers an outsider, byte
    for byte, as it does once the project and all in it are deleted."""
    scene = Scene(world, _leased(world))
    endpoints: list[Endpoint] = [*READS, *WRITES]
    permissions.assert_foreign_answers_as_missing(world.base, endpoints, scene.ids(), scene=scene)

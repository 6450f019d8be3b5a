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

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support import permissions
from tests.support.accounts import Account
from tests.support.permissions import (
    Endpoint,
    generic_path,
    refusals_world,
)
from tests.support.permissions_jobs import (
    CALLERS,
    OUTSIDERS,
    WORKERS,
    Check,
    JobEndpoint,
    JobSites,
    JobWorld,
    Scene,
    build_job_world,
    check_case,
    create_job,
    everything_in,
    found,
    home_of_stranger,
    is_refused,
    lease,
    running_job,
)
from tests.support.protocol import (
    failure,
    pipeline_config,
    registration,
    wait_for_status,
)
from tests.support.refusals import answered_as_missing

#: The routers (OpenAPI tags) whose every endpoint is in the matrix.
MATRIX_TAGS = {"jobs", "worker protocol", "pipelines", "annotations"}
#: Endpoints of other routers in the matrix for what these routers make (an image's analyses).
BORROWED = {("GET", "/images/{}")}


@pytest.fixture
def world(job_sites: JobSites, backend: str) -> JobWorld:
    """A project made for this test alone."""
    return build_job_world(job_sites.get(backend))


@pytest.fixture
def shared_world(job_sites: JobSites, backend: str) -> JobWorld:
    return job_sites.shared_world(backend)


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


@pytest.mark.parametrize(("caller", "endpoint"), _cases(READS))
def test_reads(shared_world: JobWorld, caller: str, endpoint: JobEndpoint) -> None:
    check_case(shared_world, caller, endpoint, writes=False)


@pytest.mark.parametrize(("caller", "endpoint"), _cases(WRITES))
def test_writes(job_sites: JobSites, backend: str, caller: str, endpoint: JobEndpoint) -> None:
    site = job_sites.get(backend)
    if not is_refused(caller, endpoint):
        check_case(build_job_world(site), caller, endpoint, writes=True)
        return
    # A case makes what it calls on (a job, a task) first: a world serves a few cases, so
    # that the snapshots, which read all of it, stay small.
    with refusals_world(site, "job", lambda: build_job_world(site), uses=6) as world:
        check_case(world, caller, endpoint, writes=True)


def test_matrix_covers_every_endpoint_of_its_routers(job_sites: JobSites, backend: str) -> None:
    client = job_sites.get(backend).client
    paths = client.get(f"{permissions.API}/openapi.json").json()["paths"]
    served = {
        (method.upper(), generic_path(path.removeprefix(permissions.API)))
        for path, operations in paths.items()
        for method, operation in operations.items()
        if set(operation.get("tags", ())) & MATRIX_TAGS
    }
    covered = {(e.method, generic_path(e.path.partition("?")[0])) for e in READS + WRITES}
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
    files = [("files", ("mine.jpg", permissions.small_jpeg(), "image/jpeg"))]
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
    before = everything_in(world)

    response = world.call(
        "POST", "/tasks/next", caller, json={"pipelines": [world.slug], "batch_size": 1000}
    )

    assert response.status_code == 200, response.text
    claimed = {t["job_id"] for t in response.json()["tasks"]}
    assert claimed == {home_job}, f"expected tasks of job {home_job} only, not of {job}"
    assert everything_in(world) == before
    leaked = [s for s in world.secrets if s != world.slug and s in response.text]
    assert leaked == []


def test_a_service_name_taken_in_another_project_shows_none_of_its_workers(
    world: JobWorld,
) -> None:
    lease(world, running_job(world))  # the world's worker is seen, on the world's host
    before = everything_in(world)

    home, _ = _share_the_pipeline(world, service_name=world.farm)
    response = world.site.request(
        "GET", f"/processing-services?project={home}", world.site.accounts["non-member"]
    )

    assert response.status_code == 200, response.text
    assert world.host not in response.text, "the project's worker is listed to a non-member"
    assert everything_in(world) == before, "registering elsewhere changed the project"


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
    assert answered_as_missing(foreign, absent, theirs, missing), (foreign.text, absent.text)
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

"""The push dispatcher: push-mode (``sync_api``) jobs run by calling processing services.

The background duties are off; each test runs the dispatcher (and status checks) itself, so
what is sent when is under its control. The services are fakes on loopback ports that answer
``/process`` from a script (``tests.support.push_services``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.pipelines import QuarterPipeline
from tests.support.protocol import registration
from tests.support.push_services import BOX, Answer, FakeService, fake_service, found_one_moth
from tests.support.waiting import wait_until
from trapline.background.push import PushDispatcher
from trapline.clock import FakeClock
from trapline.domain.core.retry import RetryPolicy
from trapline.domain.pipelines.pipelines import ServiceStatus
from trapline.domain.processing.jobs import Lease
from trapline.platform import Platform
from trapline.protocol.pipelines import AlgorithmConfig, CategoryMap, PipelineConfig
from trapline.protocol.results import (
    AlgorithmReference,
    BoundingBox,
    DetectionResponse,
    PipelineResultsResponse,
    ResultError,
    SourceImageResponse,
)
from trapline.services.pipelines.service_status import check_services
from trapline.services.processing.push import Batch, request_for, split_answer
from trapline.settings import Settings, parse_network

API = "/api/v2"
FINAL = {"succeeded", "completed_with_errors", "failed", "canceled"}
#: Fast retries of one call, so tests of retried calls take no time.
QUICK = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01)


@pytest.fixture
def allow_networks() -> list[str]:
    """The outbound allow-list: loopback, where the fake services run, so that the project's
    owner (no admin) may register them; a test about trust parametrizes it empty."""
    return ["127.0.0.0/8"]


@pytest.fixture
def settings(settings: Settings, allow_networks: list[str]) -> Settings:
    return settings.updated(
        duties_enabled=False,
        push_batch_size=2,
        push_concurrency=2,
        outbound_allow_networks=[parse_network(n) for n in allow_networks],
    )


@pytest.fixture
def service() -> Iterator[FakeService]:
    with fake_service() as served:
        yield served


@pytest.fixture
def dispatcher(client: AppClient) -> PushDispatcher:
    push: PushDispatcher = client.app.state.platform.push  # type: ignore[attr-defined]
    push.retry = QUICK
    return push


class Project:
    """The owner's project, with images and a registered push service."""

    def __init__(self, client: AppClient, owner: Account, project_id: int, jpeg: Any) -> None:
        self.client, self.owner, self.id, self.jpeg = client, owner, project_id, jpeg

    def images(self, count: int, first_seed: int = 0) -> list[int]:
        files = [
            (f"night-{n}.jpg", self.jpeg(first_seed + n, width=160, height=120))
            for n in range(count)
        ]
        body = upload(self.client, self.owner, self.id, *files)
        assert body["status"] == 201, body
        return [int(r["id"]) for r in body["results"]]

    def register(
        self, url: str, name: str = "Fake moth service", *, by: Account | None = None
    ) -> dict[str, Any]:
        answer = self.client.post(
            f"{API}/projects/{self.id}/processing-services",
            json={"name": name, "endpoint_url": url},
            headers=(by or self.owner).headers,
        )
        assert answer.status_code in (200, 201), answer.text
        return dict(answer.json())

    def job(self, slug: str = "quarter", **params: Any) -> int:
        answer = self.client.post(
            f"{API}/jobs/",
            json={
                "project_id": self.id,
                "pipeline": slug,
                "dispatch_mode": "sync_api",
                "params": params,
            },
            headers=self.owner.headers,
        )
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def get(self, path: str) -> Any:
        answer = self.client.get(f"{API}{path}", headers=self.owner.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def tasks(self, job_id: int) -> list[dict[str, Any]]:
        return list(self.get(f"/jobs/{job_id}/tasks?limit=1000")["results"])

    def run(
        self,
        dispatcher: PushDispatcher,
        job_id: int,
        until: Callable[[dict[str, Any]], bool],
        clock: FakeClock | None = None,
    ) -> dict[str, Any]:
        """Run the dispatcher until ``until(job)``; returns the job. With ``clock`` (the
        platform's fake clock) each round moves it a second on: calls pausing between tries
        and tasks waiting out a retry's backoff go on without the test waiting for them."""

        def settled() -> dict[str, Any] | None:
            dispatcher.run()
            if clock is None:
                assert dispatcher.wait_idle(30), "push calls went on past 30 s"
            while clock is not None and not dispatcher.wait_idle(0.05):
                if clock.waiting():  # a call pausing before its next try
                    clock.advance(1)
            job = self.get(f"/jobs/{job_id}")
            if until(job):
                return dict(job)
            if clock is not None:
                clock.advance(1)
            return None

        return wait_until(settled, what=f"job {job_id} to get on")

    def finish(
        self, dispatcher: PushDispatcher, job_id: int, clock: FakeClock | None = None
    ) -> dict[str, Any]:
        return self.run(dispatcher, job_id, lambda job: job["status"] in FINAL, clock)


@pytest.fixture
def project(client: AppClient, owner: Account, project_id: int, jpeg: Any) -> Project:
    return Project(client, owner, project_id, jpeg)


def test_a_push_job_stores_one_analysis_per_image(
    project: Project, service: FakeService, dispatcher: PushDispatcher
) -> None:
    images = project.images(5)
    project.register(service.url)
    job_id = project.job()

    job = project.finish(dispatcher, job_id)

    assert job["status"] == "succeeded", job
    assert (job["counts"]["succeeded"], job["counts"]["total"]) == (5, 5)
    batches = service.processed()
    assert sorted(len(b) for b in batches) == [1, 2, 2]  # push_batch_size is 2
    assert sorted(int(i) for b in batches for i in b) == sorted(images)
    for image_id in images:
        (analysis,) = project.get(f"/images/{image_id}")["analyses"]
        assert (analysis["job_id"], analysis["pipeline_slug"]) == (job_id, "quarter")
        boxes = [a for a in analysis["annotations"] if a["type"] == "bounding_box"]
        labels = [a["label"] for a in analysis["annotations"] if a["type"] == "classification"]
        assert [b["bbox"] for b in boxes] == [BOX]
        assert labels == ["moth"]
    holders = {t["lease_holder"] for t in project.tasks(job_id)}
    assert holders == {"push:Fake moth service"}
    events = [e["message"] for e in job["events"]]
    assert f"sending tasks to processing service 'Fake moth service' at {service.url}" in events


def test_images_go_out_as_signed_links_without_the_token(
    project: Project, service: FakeService, dispatcher: PushDispatcher, owner: Account
) -> None:
    (image_id,) = project.images(1)
    project.register(service.url)

    project.finish(dispatcher, project.job())

    (call,) = [c for c in service.calls if c.path == "/process"]
    assert "authorization" not in {k.lower() for k in call.headers}
    assert owner.token not in str(call.body)
    assert call.body["pipeline"] == "quarter"
    (image,) = call.body["source_images"]
    assert image["id"] == str(image_id)
    link = urlsplit(image["url"])
    assert (link.scheme, link.netloc) == ("http", "127.0.0.1:8000")  # the server's address
    assert "sig=" in link.query
    fetched = project.client.get(f"{link.path}?{link.query}")  # no token sent
    assert fetched.status_code == 200
    assert (
        fetched.content
        == project.client.get(
            f"{API}/images/{image_id}/download", headers=owner.headers, follow_redirects=True
        ).content
    )


def test_images_a_service_could_not_process_fail_alone(
    project: Project, service: FakeService, dispatcher: PushDispatcher
) -> None:
    first, second, _ = project.images(3)

    def one_unreadable(request: dict[str, Any]) -> tuple[int, Any]:
        status, answer = found_one_moth(request)
        answer["detections"] = [
            d for d in answer["detections"] if d["source_image_id"] != str(second)
        ]
        answer["source_images"] = [s for s in answer["source_images"] if s["id"] != str(second)]
        if any(i["id"] == str(second) for i in request["source_images"]):
            answer["errors"] = [{"image_id": str(second), "error": "image could not be decoded"}]
        return status, answer

    service.process = one_unreadable
    project.register(service.url)
    job_id = project.job(max_attempts=1)

    job = project.finish(dispatcher, job_id)

    assert job["status"] == "completed_with_errors", job
    failed = {
        t["image_id"]: t["last_error"] for t in project.tasks(job_id) if t["status"] != "succeeded"
    }
    assert failed == {second: "image could not be decoded"}
    assert len(project.get(f"/images/{first}")["analyses"]) == 1
    assert project.get(f"/images/{second}")["analyses"] == []


def test_a_call_answered_5xx_is_tried_again_within_the_same_lease(
    project: Project, service: FakeService, dispatcher: PushDispatcher
) -> None:
    project.images(2)
    answers = iter([(503, {"detail": "warming up"})])
    service.process = lambda request: next(answers, None) or found_one_moth(request)
    project.register(service.url)
    job_id = project.job(max_attempts=1)

    job = project.finish(dispatcher, job_id)

    assert job["status"] == "succeeded", job
    assert len(service.processed()) == 2  # the 503, then the same batch again
    assert [t["attempts"] for t in project.tasks(job_id)] == [1, 1]


def test_a_failing_service_fails_its_tasks_after_max_attempts(
    project: Project, service: FakeService, dispatcher: PushDispatcher
) -> None:
    project.images(2)
    service.process = lambda request: (500, {"detail": "CUDA out of memory at 10.0.0.7"})
    project.register(service.url)
    job_id = project.job(max_attempts=1)

    job = project.finish(dispatcher, job_id)

    assert job["status"] == "failed", job
    assert len(service.processed()) == QUICK.max_attempts  # one batch, every try of the call
    errors = {t["last_error"] for t in project.tasks(job_id)}
    assert errors == {  # what the service said is not repeated: it may be anything
        f"processing service 'Fake moth service': {service.url}/process answered HTTP 500 "
        "(the service failed; its own logs say why)"
    }
    (shown,) = project.get(f"/projects/{project.id}/processing-services")["results"]
    assert shown["online"] is False  # until a status check passes again


def test_tasks_of_a_failed_call_are_retried_once_the_service_is_back(
    project: Project,
    service: FakeService,
    dispatcher: PushDispatcher,
    platform: Platform,
    fake_clock: FakeClock,
) -> None:
    project.images(1)
    broken = iter([(502, {"detail": "bad gateway"})] * QUICK.max_attempts)
    service.process = lambda request: next(broken, None) or found_one_moth(request)
    project.register(service.url)
    job_id = project.job(max_attempts=2)

    tried = QUICK.max_attempts
    project.run(
        dispatcher,
        job_id,
        lambda job: len(service.processed()) == tried and job["counts"]["queued"] == 1,
        fake_clock,
    )
    (task,) = project.tasks(job_id)
    assert (task["status"], task["attempts"]) == ("queued", 1)
    check_services(platform.db, platform.service_client, platform.clock)
    job = project.finish(dispatcher, job_id, fake_clock)  # past the retry's 5 s backoff

    assert job["status"] == "succeeded", job
    (task,) = project.tasks(job_id)
    assert (task["status"], task["attempts"]) == ("succeeded", 2)


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ((400, {"detail": "unknown pipeline"}), "answered HTTP 400 (the service refused"),
        ((200, {"pipeline": "quarter", "detections": [{"bbox": 1}]}), "detections.0"),
        ((200, {"pipeline": "quarter"}), "returned no result for this image"),
        ((200, b"not json"), "the answer is not JSON"),
    ],
)
def test_a_refusal_or_a_nonsense_answer_is_not_tried_again(
    project: Project,
    service: FakeService,
    dispatcher: PushDispatcher,
    answer: tuple[int, Any],
    says: str,
) -> None:
    project.images(1)
    service.process = lambda request: answer
    project.register(service.url)
    job_id = project.job(max_attempts=1)

    job = project.finish(dispatcher, job_id)

    assert job["status"] == "failed", job
    assert len(service.processed()) == 1
    (task,) = project.tasks(job_id)
    assert says in task["last_error"]
    assert "unknown pipeline" not in task["last_error"]


@pytest.mark.parametrize("allow_networks", [pytest.param([], id="no-allow-list")])
def test_a_service_an_admin_registered_is_called_at_a_loopback_address(
    project: Project, service: FakeService, dispatcher: PushDispatcher, admin: Account
) -> None:
    project.images(2)
    project.register(service.url, by=admin)
    job_id = project.job()

    job = project.finish(dispatcher, job_id)

    assert job["status"] == "succeeded", job
    assert sorted(len(ids) for ids in service.processed()) == [2]


@pytest.mark.parametrize("allow_networks", [pytest.param([], id="no-allow-list")])
def test_an_owner_cannot_register_again_an_admins_loopback_service(
    project: Project,
    service: FakeService,
    dispatcher: PushDispatcher,
    client: AppClient,
    owner: Account,
    admin: Account,
) -> None:
    """The trust is the admin's: registering the same URL again as the owner is refused."""
    project.images(1)
    project.register(service.url, by=admin)
    again = client.post(
        f"{API}/projects/{project.id}/processing-services",
        json={"name": "Fake moth service", "endpoint_url": service.url},
        headers=owner.headers,
    )
    assert again.status_code == 400, again.text
    assert again.json()["code"] == "address_not_allowed"
    assert service.paths() == ["/info", "/readyz"]  # the admin's registration only


def test_a_result_the_platform_refuses_fails_its_task_at_once(
    project: Project, service: FakeService, dispatcher: PushDispatcher
) -> None:
    project.images(1)

    def unknown_algorithm(request: dict[str, Any]) -> tuple[int, Any]:
        status, answer = found_one_moth(request)
        answer["detections"][0]["algorithm"]["key"] = "never-registered"
        return status, answer

    service.process = unknown_algorithm
    project.register(service.url)
    job_id = project.job(max_attempts=1)

    job = project.finish(dispatcher, job_id)

    assert job["status"] == "failed", job
    (task,) = project.tasks(job_id)
    assert task["last_error"].startswith("the result from push:Fake moth service was refused: ")
    assert "'never-registered' is not registered" in task["last_error"]


def test_calls_in_flight_stay_within_push_concurrency(
    project: Project, service: FakeService, dispatcher: PushDispatcher
) -> None:
    project.images(10)
    service.pause = 0.05
    project.register(service.url)

    job = project.finish(dispatcher, project.job())

    assert job["status"] == "succeeded", job
    assert 1 <= service.most_at_once <= 2  # push_concurrency
    assert len(service.processed()) == 5


def test_a_job_waits_while_no_service_offering_its_pipeline_is_online(
    project: Project, service: FakeService, dispatcher: PushDispatcher, platform: Platform
) -> None:
    project.images(2)
    pulled = project.client.post(
        f"{API}/projects/{project.id}/pipelines/",
        json=registration(QuarterPipeline().config.model_dump(mode="json"), name="Pull farm"),
        headers=project.owner.headers,
    )
    assert pulled.status_code == 201, pulled.text
    job_id = project.job()
    project.run(dispatcher, job_id, lambda job: job["status"] == "running")

    for _ in range(3):
        dispatcher.run()

    job = project.get(f"/jobs/{job_id}")
    assert (job["status"], job["counts"]["queued"]) == ("running", 2)
    waiting = [e for e in job["events"] if e["message"].startswith("waiting for an online")]
    assert len(waiting) == 1, job["events"]
    assert f"/api/v2/projects/{project.id}/processing-services/" in waiting[0]["message"]
    assert service.processed() == []

    service.ready = False
    project.register(service.url)  # registered, but not ready: still nothing is sent
    dispatcher.run()
    assert service.processed() == []

    service.ready = True
    check_services(platform.db, platform.service_client, platform.clock)
    assert project.finish(dispatcher, job_id)["status"] == "succeeded"


def test_pull_workers_get_no_task_of_a_push_job(
    project: Project, service: FakeService, dispatcher: PushDispatcher
) -> None:
    project.images(1)
    project.register(service.url)
    job_id = project.job()
    project.run(dispatcher, job_id, lambda job: job["status"] != "created")
    headers = project.owner.headers

    claim = project.client.post(
        f"{API}/jobs/{job_id}/tasks", json={"batch_size": 5}, headers=headers
    )
    across = project.client.post(
        f"{API}/tasks/next", json={"pipelines": ["quarter"], "batch_size": 5}, headers=headers
    )

    assert claim.status_code == 400, claim.text
    assert "push" in claim.json()["detail"]
    assert across.json()["tasks"] == []


def _detection(image_id: str) -> DetectionResponse:
    return DetectionResponse(
        source_image_id=image_id,
        bbox=BoundingBox(x1=0, y1=0, x2=1, y2=1),
        algorithm=AlgorithmReference(name="d", key="d"),
    )


def test_a_merged_answer_is_split_per_image() -> None:
    answer = PipelineResultsResponse(
        pipeline="p",
        total_time=3.0,
        source_images=[SourceImageResponse(id="1"), SourceImageResponse(id="3")],
        detections=[_detection("1"), _detection("1"), _detection("2"), _detection("99")],
        errors=[{"image_id": "4", "error": "HTTP 404"}, "one image was odd"],
    )

    outcomes = split_answer(answer, ["1", "2", "3", "4", "5"])

    assert [
        len(o.detections) for o in outcomes.values() if isinstance(o, PipelineResultsResponse)
    ] == [2, 1, 0]
    assert [o.total_time for o in outcomes.values() if isinstance(o, PipelineResultsResponse)] == [
        1.0
    ] * 3
    assert outcomes["4"] == ResultError(error="HTTP 404", image_id="4")
    assert outcomes["5"] == ResultError(
        error="the processing service returned no result for this image: one image was odd",
        image_id="5",
    )


def test_an_error_string_fails_only_the_images_without_results() -> None:
    answer = PipelineResultsResponse(
        pipeline="p", detections=[_detection("1")], errors="the GPU fell over"
    )

    outcomes = split_answer(answer, ["1", "2"])

    assert isinstance(outcomes["1"], PipelineResultsResponse)
    assert outcomes["2"] == ResultError(
        error="the processing service returned no result for this image: the GPU fell over",
        image_id="2",
    )


def test_closing_the_platform_stops_the_dispatchers_threads(
    settings: Settings, app_db: Any, service: FakeService, owner: Account, jpeg: Any
) -> None:
    from trapline.app import create_app
    from trapline.platform import Platform

    platform = Platform.from_settings(settings, db=app_db)
    with AppClient(create_app(platform)) as own:
        made = own.post(f"{API}/projects/", json={"name": "Short"}, headers=owner.headers)
        project = Project(own, owner, int(made.json()["id"]), jpeg)
        project.images(3)
        project.register(service.url)
        assert project.finish(platform.push, project.job())["status"] == "succeeded"
        assert [t for t in threading.enumerate() if t.name.startswith("push-")]
    platform.close()  # as ``trapline serve`` does once the server has stopped

    assert [t for t in threading.enumerate() if t.name.startswith("push-")] == []


def test_an_image_whose_link_cannot_be_made_fails_alone_with_the_reason(
    project: Project, service: FakeService, dispatcher: PushDispatcher
) -> None:
    """One photo's stored key is one the store refuses to sign (planted in the database): its
    task fails at once with the reason on the job's page, and the other photos of its batch
    are sent and stored."""
    first, second, third = project.images(3)
    with project.client.app.state.platform.db.write() as repos:  # type: ignore[attr-defined]
        repos.session.execute(
            text("UPDATE images SET storage_key = '../outside.jpg' WHERE id = :i"), {"i": second}
        )
    project.register(service.url)
    job_id = project.job(max_attempts=1)

    job = project.finish(dispatcher, job_id)

    assert job["status"] == "completed_with_errors", job
    tasks = {t["image_id"]: t for t in project.tasks(job_id)}
    assert {i: t["status"] for i, t in tasks.items()} == {
        first: "succeeded",
        second: "failed",
        third: "succeeded",
    }
    assert tasks[second]["last_error"].startswith(
        "its link could not be made for the processing service: "
    )
    sent = sorted(int(i) for batch in service.processed() for i in batch)
    assert sent == [first, third]


def test_a_push_service_of_version_1_is_never_sent_a_version_2_job(
    project: Project, service: FakeService, dispatcher: PushDispatcher
) -> None:
    """The service offers version 1 of its pipeline; a worker registered version 2. A job of
    version 2 waits (and says for which version) instead of going to the service."""
    project.images(2)
    newer = QuarterPipeline().config.model_copy(update={"version": 2})
    pulled = project.client.post(
        f"{API}/projects/{project.id}/pipelines/",
        json=registration(newer.model_dump(mode="json"), name="Pull farm"),
        headers=project.owner.headers,
    )
    assert pulled.status_code == 201, pulled.text
    project.register(service.url)
    answer = project.client.post(
        f"{API}/jobs/",
        json={"project_id": project.id, "pipeline": "quarter", "pipeline_version": 2,
              "dispatch_mode": "sync_api"},
        headers=project.owner.headers,
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    job_id = int(answer.json()["id"])
    project.run(dispatcher, job_id, lambda job: job["status"] == "running")
    for _ in range(3):
        dispatcher.run()
    assert dispatcher.wait_idle(30)
    assert service.processed() == []
    job = project.get(f"/jobs/{job_id}")
    waiting = [e["message"] for e in job["events"] if e["message"].startswith("waiting for")]
    assert len(waiting) == 1, job["events"]
    assert "pipeline 'quarter' version 2" in waiting[0]


# -- a job over another pipeline's boxes (issue "The second pass", item 19): each call gives
# the service the boxes of the photos it sends, in Antenna's shape.

#: The classifying pipeline the fake service also offers: it labels the boxes it is given.
LABELS = PipelineConfig(
    name="Box labeller",
    slug="labels",
    version=1,
    classifies_boxes=True,
    algorithms=[
        AlgorithmConfig(
            name="Moth or not",
            key="labels-cls",
            task_type="classification",
            category_map=CategoryMap.of_labels(["moth", "not a moth"]),
        )
    ],
)


def _labelled(request: dict[str, Any]) -> Answer:
    """What a service that classifies given boxes answers: each box, called a moth."""
    detections = [
        {
            "source_image_id": given["source_image"]["id"],
            "bbox": given["bbox"],
            "score": given.get("score"),
            "algorithm": given["algorithm"],
            "classifications": [
                {
                    "classification": "moth",
                    "labels": ["moth", "not a moth"],
                    "scores": [0.8, 0.2],
                    "algorithm": {"name": "Moth or not", "key": "labels-cls"},
                }
            ],
        }
        for given in request["detections"]
    ]
    images = [{"id": i["id"], "url": i["url"]} for i in request["source_images"]]
    return 200, {"pipeline": "labels", "total_time": 0.1, "source_images": images,
                 "detections": detections}  # fmt: skip


def test_a_push_job_sends_each_photos_boxes_and_stores_them_classified(
    project: Project, service: FakeService, dispatcher: PushDispatcher
) -> None:
    boxed_a, boxed_b, bare = project.images(3)
    quarter = QuarterPipeline().config.model_dump(mode="json")
    both = [quarter, LABELS.model_dump(mode="json")]
    service.info_answer = (200, {"name": service.name, "pipelines": both})

    def answer(request: dict[str, Any]) -> Answer:
        if request["pipeline"] == "labels":
            return _labelled(request)
        code, body = found_one_moth(request)
        body["detections"] = [d for d in body["detections"] if d["source_image_id"] != str(bare)]
        return code, body

    service.process = answer
    project.register(service.url)
    project.finish(dispatcher, project.job("quarter"))
    job_id = project.job("labels", boxes_from="quarter")

    job = project.finish(dispatcher, job_id)

    assert job["status"] == "succeeded", job
    assert job["counts"]["total"] == 2  # the photo without boxes is not sent
    calls = [c.body for c in service.calls if c.path == "/process"]
    sent = [d for c in calls if c["pipeline"] == "labels" for d in c["detections"]]
    assert sorted(int(d["source_image"]["id"]) for d in sent) == sorted([boxed_a, boxed_b])
    assert all(d["bbox"] == BOX for d in sent)
    assert all(d["algorithm"] == {"name": "Quarter finder", "key": "quarter-det"} for d in sent)
    for image_id in (boxed_a, boxed_b):
        analyses = project.get(f"/images/{image_id}")["analyses"]
        (labelled,) = [a for a in analyses if a["pipeline_slug"] == "labels"]
        (box,) = [a for a in labelled["annotations"] if a["type"] == "bounding_box"]
        (label,) = [a for a in labelled["annotations"] if a["type"] == "classification"]
        assert (box["bbox"], label["label"], label["parent_id"]) == (BOX, "moth", box["id"])


def test_a_photo_whose_boxes_are_gone_is_answered_empty_without_a_call(
    project: Project, service: FakeService, dispatcher: PushDispatcher
) -> None:
    """The source pipeline ran again and found nothing on a photo after the job's tasks were
    made: sent without boxes, the photo would be detected on (Antenna's services take an
    empty ``detections`` as none given), so it is not sent; its result is empty."""
    boxed, emptied = project.images(2)
    service.info_answer = (200, {"name": service.name, "pipelines": [
        QuarterPipeline().config.model_dump(mode="json"), LABELS.model_dump(mode="json"),
    ]})  # fmt: skip
    service.process = lambda r: _labelled(r) if r["pipeline"] == "labels" else found_one_moth(r)
    project.register(service.url)
    project.finish(dispatcher, project.job("quarter"))
    job = project.job("labels", boxes_from="quarter")
    platform = dispatcher.db
    with platform.read() as repos:
        found = repos.processing.given_boxes.current(project.id, "quarter", [boxed, emptied])
        batch = Batch(
            job=repos.processing.jobs.get(job),
            service=ServiceStatus(1, service.name, service.url, None, True),
            leases=[
                _lease(repos.core.images.get(i), job, n) for n, i in enumerate([boxed, emptied])
            ],
        )
    given = {(job, boxed): found[boxed], (job, emptied): []}

    request, _, unsent = request_for(
        batch, dispatcher.store, url_ttl=60, base_url="http://trapline.test", given=given
    )

    assert [i.id for i in request.source_images] == [str(boxed)]
    assert [d.source_image.id for d in request.detections or []] == [str(boxed)]
    empty = unsent[str(emptied)]
    assert isinstance(empty, PipelineResultsResponse)
    assert (empty.pipeline, empty.detections) == ("labels", [])
    assert [s.id for s in empty.source_images] == [str(emptied)]


def _lease(image: Any, job_id: int, task_id: int) -> Lease:
    soon = datetime.now(UTC) + timedelta(minutes=5)
    return Lease(task_id, job_id, image.id, 1, "lease", soon, image.storage_key)

"""Registering pipelines and processing services; service tokens; workers seen."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from tests.support.protocol import (
    PIPELINE_SLUG,
    detection,
    pipeline_config,
    registration,
    success,
)
from tests.support.protocol_client import API, Protocol, statuses
from trapline.db.engine import Database
from trapline.pipelines.registry import BUILTIN_PIPELINES
from trapline.protocol.pipelines import PipelineRegistration, PipelineRegistrationResponse
from trapline.services.pipelines.pipelines import register_pipelines

#: A moment long before any test ran.
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def test_registration_creates_once_and_repeating_it_creates_nothing(proto: Protocol) -> None:
    first = proto.register(pipeline_config())
    assert first.status_code == 201, first.text
    assert first.json()["pipelines_created"] == [PIPELINE_SLUG]

    again = proto.register(pipeline_config())
    assert again.status_code == 201, again.text
    assert again.json()["pipelines_created"] == []
    assert again.json()["algorithms_created"] == []
    listed = proto.client.get(
        f"{API}/projects/{proto.project_id}/pipelines/", headers=proto.headers
    )
    assert [(p["slug"], p["version"]) for p in listed.json()["results"]] == [(PIPELINE_SLUG, 1)]


def test_a_version_the_project_has_is_updated_when_another_service_offers_it(
    registered: Protocol,
) -> None:
    second = registered.register(pipeline_config(), name="Second service (gpu-2)")
    assert second.status_code == 201, second.text
    assert (second.json()["pipelines_created"], second.json()["pipelines_updated"]) == (
        [],
        [PIPELINE_SLUG],
    )
    again = registered.register(pipeline_config(), name="Second service (gpu-2)")
    assert again.json()["pipelines_updated"] == []
    (pipeline,) = registered.client.get(
        f"{API}/projects/{registered.project_id}/pipelines", headers=registered.headers
    ).json()["results"]
    assert sorted(s["name"] for s in pipeline["services"]) == [
        "Second service (gpu-2)",
        "Test service (testhost)",
    ]


def test_a_new_version_is_a_new_pipeline_and_older_jobs_keep_theirs(registered: Protocol) -> None:
    registered.images(1)
    old = registered.create_job(start_now=False)
    assert old.status_code == 201, old.text
    assert old.json()["pipeline_version"] == 1

    newer = registered.register(pipeline_config(version=2))
    assert newer.status_code == 201, newer.text
    assert newer.json()["pipelines_created"] == [PIPELINE_SLUG]

    new = registered.create_job(start_now=False)
    assert new.status_code == 201, new.text
    assert new.json()["pipeline_version"] == 2
    assert registered.job(old.json()["id"])["pipeline_version"] == 1
    listed = registered.client.get(
        f"{API}/projects/{registered.project_id}/pipelines/", headers=registered.headers
    ).json()
    assert sorted(p["version"] for p in listed["results"]) == [1, 2]


def test_a_classifier_without_category_map_or_a_changed_version_is_refused(proto: Protocol) -> None:
    config = pipeline_config()
    del config["algorithms"][1]["category_map"]
    response = proto.register(config)
    assert response.status_code == 400, response.text
    assert f"{PIPELINE_SLUG}-cls" in response.json()["detail"]
    assert proto.register(pipeline_config()).json()["pipelines_created"] == [PIPELINE_SLUG]

    # The same slug and version again, but with another set of algorithms.
    changed = pipeline_config()
    changed["algorithms"].append(
        {"name": "Embedder", "key": "moth-test-embed", "task_type": "embedding", "version": 1}
    )
    conflict = proto.register(changed)
    assert conflict.status_code == 409, conflict.text


def test_pipeline_list_shows_services_and_online_status(registered: Protocol) -> None:
    registered.images(1)
    job = registered.job_that_runs()
    registered.claim(job["id"], 1, client_info={"hostname": "gpu-1", "pid": 7})
    response = registered.client.get(
        f"{API}/projects/{registered.project_id}/pipelines", headers=registered.headers
    )
    assert response.status_code == 200, response.text
    (pipeline,) = response.json()["results"]
    assert pipeline["slug"] == PIPELINE_SLUG
    assert pipeline["enabled"] is True
    assert pipeline["online"] is True
    assert [s["name"] for s in pipeline["services"]] == ["Test service (testhost)"]
    assert pipeline["services"][0]["online"] is True


def test_a_disabled_pipeline_takes_no_jobs_and_only_managers_toggle_it(
    registered: Protocol, make_account
) -> None:
    registered.images(1)
    viewer, member, manager = (make_account(n) for n in ("vic", "mel", "max"))
    for account, role in ((viewer, "viewer"), (member, "member"), (manager, "manager")):
        registered.add_member(account, role)
    url = f"{API}/projects/{registered.project_id}/pipelines/{PIPELINE_SLUG}"

    for account in (viewer, member):
        refused = registered.client.patch(url, json={"enabled": False}, headers=account.headers)
        assert refused.status_code == 403, refused.text
    assert registered.as_(member).create_job().status_code == 201

    done = registered.client.patch(url, json={"enabled": False}, headers=manager.headers)
    assert done.status_code == 204, done.text
    refused = registered.as_(member).create_job()
    assert refused.status_code == 400, refused.text
    assert PIPELINE_SLUG in refused.json()["detail"]
    listed = registered.client.get(
        f"{API}/projects/{registered.project_id}/pipelines", headers=registered.headers
    ).json()
    assert [p["enabled"] for p in listed["results"]] == [False]

    again = registered.client.patch(url, json={"enabled": True}, headers=manager.headers)
    assert again.status_code == 204, again.text
    assert registered.create_job().status_code == 201


def test_a_service_token_works_as_a_worker_for_its_project_only(
    registered: Protocol, make_account
) -> None:
    registered.images(1)
    member, manager = make_account("mel"), make_account("max")
    registered.add_member(member, "member")
    registered.add_member(manager, "manager")
    refused = registered.client.post(
        f"{API}/projects/{registered.project_id}/service-tokens/",
        json={"name": "mine"},
        headers=member.headers,
    )
    assert refused.status_code == 403, refused.text
    made = registered.client.post(
        f"{API}/projects/{registered.project_id}/service-tokens/",
        json={"name": "gpu farm"},
        headers=manager.headers,
    )
    assert made.status_code == 201, made.text
    service_headers = {"Authorization": f"Token {made.json()['token']}"}
    job = registered.job_that_runs()

    claimed = registered.client.post(
        f"{API}/jobs/{job['id']}/tasks/", json={"batch_size": 5}, headers=service_headers
    )
    assert claimed.status_code == 200, claimed.text
    (task,) = claimed.json()["tasks"]
    posted = registered.client.post(
        f"{API}/jobs/{job['id']}/result/",
        json={"results": [success(task, detection(task))]},
        headers=service_headers,
    )
    assert posted.status_code == 200, posted.text
    assert statuses(posted.json()["tasks"]) == ["saved"]

    other_project = registered.client.post(
        f"{API}/projects/", json={"name": "Beetles"}, headers=registered.headers
    ).json()["id"]
    other = registered.in_project(other_project)
    assert other.register(pipeline_config()).status_code == 201
    other.images(1)
    foreign = other.job_that_runs()
    refused = registered.client.post(
        f"{API}/jobs/{foreign['id']}/tasks/", json={"batch_size": 5}, headers=service_headers
    )
    assert refused.status_code == 404, refused.text
    refused = registered.client.post(
        f"{API}/jobs/{foreign['id']}/result/", json={"results": []}, headers=service_headers
    )
    assert refused.status_code == 404, refused.text


def test_processing_services_show_workers_seen_with_client_info(registered: Protocol) -> None:
    registered.images(1)
    job = registered.job_that_runs()
    info = {"hostname": "gpu-box-7", "software": "ami-data-companion", "version": "0.6", "pid": 42}
    registered.claim(job["id"], 1, client_info=info)

    response = registered.client.get(
        f"{API}/processing-services/",
        params={"project": registered.project_id},
        headers=registered.headers,
    )
    assert response.status_code == 200, response.text
    (service,) = response.json()["results"]
    assert service["name"] == "Test service (testhost)"
    assert service["online"] is True
    (worker,) = service["workers"]
    assert worker["hostname"] == "gpu-box-7"
    assert worker["software"] == "ami-data-companion"
    assert worker["pid"] == 42
    assert worker["last_seen_at"]


def test_a_map_differing_only_by_its_data_entries_is_no_change(proto: Protocol) -> None:
    """Maps registered before workers sent data entries take them; a worker that still sends
    none is not refused; other changes still need a new version."""
    bare = pipeline_config()
    bare["algorithms"][1]["category_map"]["data"] = []
    assert proto.register(bare).status_code == 201
    full = proto.register(pipeline_config())
    assert full.status_code == 201, full.text
    assert full.json()["algorithms_created"] == []
    again = proto.register(bare)
    assert again.status_code == 201, again.text
    relabelled = pipeline_config()
    relabelled["algorithms"][1]["category_map"]["labels"] = ["x", "y"]
    relabelled["algorithms"][1]["category_map"]["data"] = []
    assert proto.register(relabelled).status_code == 409


def test_two_registrations_of_new_pipelines_at_once_both_succeed(
    proto: Protocol, app_db: Database
) -> None:
    """Two workers starting together register the same new pipeline, service and category
    map at the same moment: neither may fail (on PostgreSQL both transactions insert)."""
    with app_db.read() as repos:
        owner = repos.core.users.get(proto.account.id)
    assert owner is not None
    for round_ in range(4):
        labels = [f"taxon-{round_}-{n}" for n in range(3)]  # a category map nobody has yet
        config = pipeline_config(f"race-{round_}")
        config["algorithms"][1]["category_map"] = {"labels": labels, "data": []}
        body = PipelineRegistration.model_validate(
            registration(config, name=f"Racing service {round_}")
        )
        together = threading.Barrier(2, timeout=30)
        answers: list[object] = []

        def register(
            body: PipelineRegistration = body,
            together: threading.Barrier = together,
            answers: list[object] = answers,
        ) -> None:
            together.wait()
            try:
                answers.append(register_pipelines(app_db, owner, proto.project_id, body))
            except Exception as exc:  # the failure is what the test looks for
                answers.append(exc)

        threads = [threading.Thread(target=register) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert all(isinstance(a, PipelineRegistrationResponse) for a in answers), answers
        created = sorted(len(a.pipelines_created) for a in answers)  # type: ignore[union-attr]
        assert created in ([0, 1], [1, 1]), created  # one copy either way
        listed = proto.client.get(
            f"{API}/projects/{proto.project_id}/pipelines/", headers=proto.headers
        ).json()["results"]
        assert [p["slug"] for p in listed].count(f"race-{round_}") == 1


def test_a_worker_serving_several_projects_is_online_in_each(registered: Protocol) -> None:
    """One worker (an admin's, as ``trapline up``'s embedded one) registered in two projects
    shows online in both as soon as it asks for work, whichever project its jobs are in, and
    with no job at all (a server just restarted)."""
    other = registered.in_project(
        registered.client.post(
            f"{API}/projects", json={"name": "Second"}, headers=registered.headers
        ).json()["id"]
    )
    assert other.register(pipeline_config()).status_code in (200, 201)

    def online(proto: Protocol) -> bool:
        listed = proto.client.get(
            f"{API}/projects/{proto.project_id}/pipelines", headers=proto.headers
        ).json()["results"]
        return all(s["online"] for p in listed for s in p["services"]) and bool(listed)

    with registered.platform.db.write() as repos:  # last seen long ago: a server restarted
        repos.session.execute(
            text("UPDATE processing_services SET last_seen_at = :t"), {"t": LONG_AGO}
        )
    assert (online(registered), online(other)) == (False, False)
    asked = registered.client.post(
        f"{API}/tasks/next/",
        json={
            "pipelines": [PIPELINE_SLUG],
            "batch_size": 1,
            "client_info": {"hostname": "here", "pid": 1},
        },
        headers=registered.headers,
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["tasks"] == []
    assert (online(registered), online(other)) == (True, True)


def test_one_conflicting_pipeline_leaves_the_rest_of_a_registration_registered(
    proto: Protocol,
) -> None:
    """A second service registers a pipeline whose slug and version the project holds with
    other algorithms, beside two new ones: the two are registered and the answer names the
    one refused and why; a registration of nothing but conflicts is still refused whole."""
    assert proto.register(pipeline_config("shared")).status_code in (200, 201)
    changed = pipeline_config("shared")
    changed["algorithms"][1]["category_map"] = {"labels": ["moth", "nonmoth"]}
    answer = proto.register(
        changed,
        pipeline_config("theirs-a"),
        pipeline_config("theirs-b"),
        name="Another service",
    )
    assert answer.status_code in (200, 201), answer.text
    body = answer.json()
    assert sorted(body["pipelines_created"]) == ["theirs-a", "theirs-b"]
    ((refused),) = body["pipelines_refused"]
    assert (refused["slug"], refused["version"]) == ("shared", 1)
    assert "another category map" in refused["reason"]
    listed = proto.client.get(
        f"{API}/projects/{proto.project_id}/pipelines", headers=proto.headers
    ).json()["results"]
    services = {p["slug"]: sorted(s["name"] for s in p["services"]) for p in listed}
    assert services == {
        "shared": ["Test service (testhost)"],  # the refused one is not offered by the other
        "theirs-a": ["Another service"],
        "theirs-b": ["Another service"],
    }
    whole = proto.register(changed, name="Another service")
    assert whole.status_code == 409, whole.text
    assert "another category map" in whole.json()["detail"]


def _antenna_minimal() -> list[dict[str, Any]]:
    """The pipelines Antenna's minimal processing service (``processing_services/minimal`` of
    RolnickLab/antenna) offers, by their slugs and algorithm keys: a fixed box classified by a
    constant classifier, and random boxes under a binary and a species classifier."""

    def algorithm(key: str, task: str, labels: list[str] | None = None) -> dict[str, Any]:
        made: dict[str, Any] = {"name": key, "key": key, "task_type": task, "version": 1}
        if labels:
            made["category_map"] = {"labels": labels}
        return made

    return [
        {
            "name": "Constant Pipeline",
            "slug": "constant",
            "version": 1,
            "algorithms": [
                algorithm("constant-detector", "localization"),
                algorithm("constant-classifier", "classification", ["Moth", "Not a moth"]),
            ],
        },
        {
            "name": "Random Detection Random Species Pipeline",
            "slug": "random-detection-random-species",
            "version": 1,
            "algorithms": [
                algorithm("random-detector", "localization"),
                algorithm("random-binary-classifier", "classification", ["Moth", "Not a moth"]),
                algorithm("random-species-classifier", "classification", ["Vanessa", "Other"]),
            ],
        },
    ]


def test_antennas_minimal_service_registers_beside_the_built_ins(proto: Protocol) -> None:
    """Issue 62 item 7: trapline's embedded worker offers its built-ins, then Antenna's minimal
    service registers with the same project: every one of its pipelines is taken, none
    refused (the built-ins' slugs and algorithm keys are trapline's own)."""
    built_ins = [
        BUILTIN_PIPELINES[slug]().config.model_dump(mode="json")
        for slug in ("trapline-constant", "trapline-random")
    ]
    first = proto.register(*built_ins, name="trapline worker (here)")
    assert first.status_code == 201, first.text
    minimal = proto.register(*_antenna_minimal(), name="Antenna minimal")
    assert minimal.status_code == 201, minimal.text
    body = minimal.json()
    assert body["pipelines_refused"] == []
    assert sorted(body["pipelines_created"]) == ["constant", "random-detection-random-species"]

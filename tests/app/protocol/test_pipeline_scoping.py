"""Pipeline slugs and algorithm keys are each project's own: nobody can take, change or learn
another project's registrations by registering the same names."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.support.accounts import Account
from tests.support.protocol import LABELS, detection, pipeline_config, success
from tests.support.protocol_client import API, Protocol, statuses
from trapline.db.engine import Database
from trapline.db.tables import AlgorithmRow, CategoryMapRow

SLUG = "moth-blobs"
EVIL = "evil"
EVIL_URI = "https://evil.example.org/weights.onnx"
EVIL_LABELS = ["evil-a", "evil-b"]


def evil_config(**changes: Any) -> dict[str, Any]:
    """``moth-blobs`` v1 as another project registers it first: its own words, URI and labels."""
    config = pipeline_config(SLUG, description=f"{EVIL} pipeline")
    detector, classifier = config["algorithms"]
    detector["uri"] = EVIL_URI
    detector["description"] = f"{EVIL} detector"
    classifier["category_map"] = {"labels": EVIL_LABELS, "data": [], "description": EVIL}
    config["algorithms"].append(
        {"name": "Evil embedder", "key": f"{SLUG}-embed", "task_type": "embedding", "version": 1}
    )
    config.update(changes)
    return config


@pytest.fixture
def mallory(proto: Protocol, make_account: Any) -> Protocol:
    """Another account's project, which registered ``moth-blobs`` v1 before the owner did."""
    account: Account = make_account("mallory")
    made = proto.client.post(f"{API}/projects/", json={"name": "Squat"}, headers=account.headers)
    assert made.status_code == 201, made.text
    theirs = Protocol(proto.client, account, int(made.json()["id"]), proto.jpeg)
    first = theirs.register(evil_config(), name="Evil service")
    assert first.status_code == 201, first.text
    return theirs


def listed(proto: Protocol) -> list[dict[str, Any]]:
    response = proto.client.get(
        f"{API}/projects/{proto.project_id}/pipelines", headers=proto.headers
    )
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def test_a_slug_taken_in_another_project_is_still_this_projects_own(
    proto: Protocol, mallory: Protocol
) -> None:
    before = listed(mallory)

    mine = proto.register(pipeline_config(SLUG))
    assert mine.status_code == 201, mine.text
    assert mine.json()["pipelines_created"] == [SLUG]  # not "updated": nothing tells of B's
    assert mine.json()["pipelines_updated"] == []
    assert sorted(mine.json()["algorithms_created"]) == [f"{SLUG}-cls", f"{SLUG}-det"]
    assert EVIL not in mine.text

    (pipeline,) = listed(proto)
    assert pipeline["description"] == "detector + classifier for tests"
    assert [(a["key"], a["uri"], a["labels"]) for a in pipeline["algorithms"]] == [
        (f"{SLUG}-det", None, None),
        (f"{SLUG}-cls", None, len(LABELS)),
    ]
    assert [s["name"] for s in pipeline["services"]] == ["Test service (testhost)"]

    # The owner's jobs run the owner's pipeline: its labels are the ones results are held to.
    proto.images(1)
    job = proto.job_that_runs(pipeline=SLUG)
    (task,) = proto.claim(job["id"], 1)
    answers = proto.post(job["id"], success(task, detection(task, slug=SLUG), slug=SLUG))
    assert statuses(answers) == ["saved"]

    assert listed(mallory) == before  # the first registration is untouched
    (theirs,) = before
    assert theirs["description"] == f"{EVIL} pipeline"
    assert theirs["algorithms"][0]["uri"] == EVIL_URI


def test_conflicts_are_only_with_the_projects_own_registrations(
    proto: Protocol, mallory: Protocol
) -> None:
    assert proto.register(pipeline_config(SLUG)).status_code == 201

    changed = pipeline_config(SLUG)
    changed["algorithms"][1]["category_map"] = {"labels": ["moth", "other"], "data": []}
    conflict = proto.register(changed)
    assert conflict.status_code == 409, conflict.text
    detail = conflict.json()["detail"]
    assert f"{SLUG}-cls" in detail
    assert "this project" in detail
    for secret in (EVIL, *EVIL_LABELS, str(mallory.project_id)):
        assert secret not in conflict.text

    # The other project's own registrations are as they were: repeating them creates nothing.
    again = mallory.register(evil_config(), name="Evil service")
    assert again.status_code == 201, again.text
    assert (again.json()["pipelines_created"], again.json()["algorithms_created"]) == ([], [])
    assert mallory.register(changed, name="Evil service").status_code == 409


def test_listings_show_only_the_projects_own_pipelines_and_services(
    proto: Protocol, mallory: Protocol
) -> None:
    assert mallory.register(pipeline_config("their-own"), name="Evil service").status_code == 201
    assert proto.register(pipeline_config(SLUG)).status_code == 201

    assert [(p["slug"], p["version"]) for p in listed(proto)] == [(SLUG, 1)]
    services = proto.client.get(
        f"{API}/projects/{proto.project_id}/processing-services/", headers=proto.headers
    )
    assert services.status_code == 200, services.text
    assert [(s["name"], s["pipelines"]) for s in services.json()["results"]] == [
        ("Test service (testhost)", [SLUG])
    ]
    assert EVIL not in services.text

    toggled = proto.client.patch(
        f"{API}/projects/{proto.project_id}/pipelines/{SLUG}",
        json={"enabled": False},
        headers=proto.headers,
    )
    assert toggled.status_code == 204, toggled.text
    assert [p["enabled"] for p in listed(mallory) if p["slug"] == SLUG] == [True]
    mallory.images(1)
    assert mallory.create_job(pipeline=SLUG, start_now=False).status_code == 201


def test_a_worker_of_another_project_never_gets_this_projects_tasks(
    proto: Protocol, mallory: Protocol
) -> None:
    assert proto.register(pipeline_config(SLUG)).status_code == 201
    proto.images(2)
    job = proto.job_that_runs(pipeline=SLUG)
    made = mallory.client.post(
        f"{API}/projects/{mallory.project_id}/service-tokens/",
        json={"name": "their farm"},
        headers=mallory.headers,
    )
    assert made.status_code == 201, made.text
    service = {"Authorization": f"Token {made.json()['token']}"}

    for headers in (service, mallory.headers):
        answer = mallory.client.post(
            f"{API}/tasks/next/",
            json={"pipelines": [SLUG], "batch_size": 10, "client_info": {"hostname": "evil"}},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["tasks"] == []
    mine = proto.client.post(
        f"{API}/tasks/next/", json={"pipelines": [SLUG], "batch_size": 10}, headers=proto.headers
    )
    assert {t["job_id"] for t in mine.json()["tasks"]} == {job["id"]}
    assert len(mine.json()["tasks"]) == 2


def test_a_category_map_is_never_shared_with_another_projects_words(
    proto: Protocol, make_account: Any, app_db: Database
) -> None:
    """The same labels with other words are another map: nobody's text reaches this project."""
    account: Account = make_account("mallory")
    made = proto.client.post(f"{API}/projects/", json={"name": "Squat"}, headers=account.headers)
    theirs = Protocol(proto.client, account, int(made.json()["id"]), proto.jpeg)
    config = pipeline_config(SLUG)
    evil = pipeline_config(SLUG)
    evil["algorithms"][1]["category_map"].update(description=EVIL, uri=EVIL_URI)
    assert theirs.register(evil).status_code == 201
    assert proto.register(config).status_code == 201

    with app_db.read() as repos:
        maps = repos.session.execute(
            select(AlgorithmRow.project_id, CategoryMapRow.description, CategoryMapRow.uri)
            .join(CategoryMapRow, CategoryMapRow.id == AlgorithmRow.category_map_id)
            .order_by(AlgorithmRow.project_id)
        ).all()
    assert sorted(maps) == sorted(
        [(proto.project_id, None, None), (theirs.project_id, EVIL, EVIL_URI)]
    )


def test_a_deleted_projects_pipelines_are_nobodys(
    proto: Protocol, mallory: Protocol, app_db: Database
) -> None:
    """Deleting a project with jobs keeps its pipelines (results may name them) but no project
    finds them again, whatever id the next project gets."""
    mallory.images(1)
    assert mallory.create_job(pipeline=SLUG, start_now=False).status_code == 201
    gone = mallory.client.delete(f"{API}/projects/{mallory.project_id}", headers=mallory.headers)
    assert gone.status_code == 204, gone.text

    with app_db.read() as repos:
        owners = repos.session.scalars(select(AlgorithmRow.project_id).distinct()).all()
    assert owners == [None]
    mine = proto.register(pipeline_config(SLUG))
    assert mine.status_code == 201, mine.text
    assert mine.json()["pipelines_created"] == [SLUG]

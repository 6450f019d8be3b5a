"""A job's tasks go only to workers that registered its version (issue 59, scenario 4): a
worker whose token registered version 1 of a pipeline is given no task of a version-2 job,
through either claim; the worker that registered version 2 is; a worker that never registered
the pipeline is held to nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.support.protocol import PIPELINE_SLUG, pipeline_config, registration
from tests.support.protocol_client import API, Protocol
from trapline.protocol.pipelines import PipelineConfig
from trapline.worker.client import PlatformClient, client_info
from trapline.worker.offering import PipelineOffer


def _worker(
    proto: Protocol, name: str, *versions: int, service: str | None = None
) -> dict[str, str]:
    """A service token of the project whose worker registers these versions (none: it never
    registers) as the service ``service`` (its own name by default); its headers."""
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/service-tokens",
        json={"name": name},
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Token {made.json()['token']}"}
    if versions:
        configs = (pipeline_config(version=v) for v in versions)
        body = registration(*configs, name=service or name)
        answer = proto.client.post(
            f"{API}/projects/{proto.project_id}/pipelines/", json=body, headers=headers
        )
        assert answer.status_code == 201, answer.text
    return headers


def _claimed(proto: Protocol, job: int, headers: dict[str, str]) -> list[Any]:
    answer = proto.client.post(f"{API}/jobs/{job}/tasks/", json={"batch_size": 1}, headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["tasks"])


def _next(proto: Protocol, headers: dict[str, str]) -> list[Any]:
    body = {"pipelines": [PIPELINE_SLUG], "batch_size": 1}
    answer = proto.client.post(f"{API}/tasks/next", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["tasks"])


def test_a_version_2_job_goes_only_to_workers_of_version_2(proto: Protocol) -> None:
    proto.images(4)
    old = _worker(proto, "Old farm", 1)
    new = _worker(proto, "New farm", 2)
    unregistered = _worker(proto, "Bare client")
    job = proto.job_that_runs(pipeline_version=2)["id"]
    assert proto.job(job)["pipeline_version"] == 2
    assert _claimed(proto, job, old) == []
    assert _next(proto, old) == []
    assert len(_claimed(proto, job, new)) == 1
    assert len(_next(proto, new)) == 1
    assert len(_claimed(proto, job, unregistered)) == 1
    # Version 1's job is the old worker's.
    first = proto.job_that_runs(pipeline_version=1)["id"]
    assert len(_claimed(proto, first, old)) == 1
    assert _claimed(proto, first, new) == []


def test_tokens_sharing_a_service_name_are_each_given_their_own_versions(
    proto: Protocol,
) -> None:
    """Two workers with their own tokens register versions 1 and 2 under one service name
    (docs/jobs.md: its own token or its own name is enough). The service was one, its
    registrant the latest: the version-1 worker was given any version, the version-2 worker
    version 1's tasks too. Each token is given what it registered."""
    proto.images(4)
    old = _worker(proto, "Old", 1, service="Farm")
    new = _worker(proto, "New", 2, service="Farm")
    second = proto.job_that_runs(pipeline_version=2)["id"]
    first = proto.job_that_runs(pipeline_version=1)["id"]
    assert _claimed(proto, second, old) == []
    assert _claimed(proto, first, new) == []
    assert [t["job_id"] for t in _next(proto, old)] == [first]
    assert [t["job_id"] for t in _next(proto, new)] == [second]
    assert len(_claimed(proto, first, old)) == 1
    assert len(_claimed(proto, second, new)) == 1


def test_a_job_whose_version_no_online_worker_serves_says_so(proto: Protocol) -> None:
    proto.images(2)
    old = _worker(proto, "Old farm", 1)
    _worker(proto, "New farm", 2)  # registered, but never asks for work
    job = proto.job_that_runs(pipeline_version=2)["id"]
    assert _claimed(proto, job, old) == []  # the version-1 worker is online
    detail = proto.client.get(f"{API}/jobs/{job}/", headers=proto.headers).json()
    assert detail["waiting_for_worker"] is True


def _conflicting() -> dict[str, Any]:
    """The project's pipeline, slug and version, with another category map."""
    changed = pipeline_config()
    changed["algorithms"][1]["category_map"] = {"labels": ["moth", "nonmoth"]}
    return changed


def _token(proto: Protocol, name: str) -> dict[str, str]:
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/service-tokens",
        json={"name": name},
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    return {"Authorization": f"Token {made.json()['token']}"}


def test_a_worker_whose_registration_was_refused_claims_none_of_that_pipeline(
    proto: Protocol,
) -> None:
    """Issue 62 item 8: a worker whose registration of the project's pipeline was refused
    (another category map under the same slug and version), in part or whole, is handed no
    task of its jobs through either claim, where before it took them and had its results
    refused; a token that never registered in the project still serves."""
    proto.images(4)
    farm = _worker(proto, "Farm", 1)
    partly = _token(proto, "Partly refused")
    answer = proto.client.post(
        f"{API}/projects/{proto.project_id}/pipelines/",
        json=registration(_conflicting(), pipeline_config("theirs"), name="Partly refused"),
        headers=partly,
    )
    assert answer.status_code == 201, answer.text
    assert [r["slug"] for r in answer.json()["pipelines_refused"]] == [PIPELINE_SLUG]
    wholly = _token(proto, "Wholly refused")
    answer = proto.client.post(
        f"{API}/projects/{proto.project_id}/pipelines/",
        json=registration(_conflicting(), name="Wholly refused"),
        headers=wholly,
    )
    assert answer.status_code == 409, answer.text
    assert "category map" in answer.json()["detail"]
    job = proto.job_that_runs()["id"]
    for refused in (partly, wholly):
        assert _claimed(proto, job, refused) == []
        assert _next(proto, refused) == []
    assert len(_claimed(proto, job, farm)) == 1
    assert len(_claimed(proto, job, _worker(proto, "Bare client"))) == 1
    # The service refused whole is listed, offering nothing.
    services = proto.client.get(
        f"{API}/projects/{proto.project_id}/processing-services/", headers=proto.headers
    )
    assert services.status_code == 200, services.text
    listed = {s["name"]: s for s in services.json()["results"]}
    assert listed["Wholly refused"]["pipelines"] == []


def test_the_worker_names_each_refused_pipeline_and_stops_offering_where_all_were(
    proto: Protocol, caplog: pytest.LogCaptureFixture
) -> None:
    """trapline's worker, offering its pipelines to its project (the real server, in this
    process): it logs each pipeline the project refused with the server's reason, and a
    project that refused them all is not offered them again by this process."""
    _worker(proto, "Farm", 1)

    def offer(name: str, *configs: dict[str, Any]) -> PipelineOffer:
        client = PlatformClient(
            "http://testserver",
            _token(proto, name)["Authorization"].split()[1],
            info=client_info(name, [c["slug"] for c in configs]),
            transport=proto.client.transport,
        )
        pipelines = [PipelineConfig.model_validate(c) for c in configs]
        return PipelineOffer(client, name, pipelines, every=3600)

    partly = offer("Partly refused", _conflicting(), pipeline_config("theirs"))
    with caplog.at_level(logging.WARNING, logger="trapline.worker.offering"):
        assert partly.offer() == [proto.project_id]
    (said,) = [r.getMessage() for r in caplog.records]
    assert f"refused pipeline {PIPELINE_SLUG} version 1" in said
    assert "category map" in said
    caplog.clear()
    wholly = offer("Wholly refused", _conflicting())
    with caplog.at_level(logging.WARNING, logger="trapline.worker.offering"):
        assert wholly.offer() == []
        assert wholly.offer() == []  # not asked again
    (said,) = [r.getMessage() for r in caplog.records]
    assert f"project {proto.project_id} took none of these pipelines" in said
    assert "HTTP 409" in said

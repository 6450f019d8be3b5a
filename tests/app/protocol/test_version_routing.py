"""A job's tasks go only to workers that registered its version (issue 59, scenario 4): a
worker whose token registered version 1 of a pipeline is given no task of a version-2 job,
through either claim; the worker that registered version 2 is; a worker that never registered
the pipeline is held to nothing."""

from __future__ import annotations

from typing import Any

from tests.support.protocol import PIPELINE_SLUG, pipeline_config, registration
from tests.support.protocol_client import API, Protocol


def _worker(proto: Protocol, name: str, *versions: int) -> dict[str, str]:
    """A service token of the project whose worker registers these versions (none: it never
    registers); its headers."""
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/service-tokens",
        json={"name": name},
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Token {made.json()['token']}"}
    if versions:
        body = registration(*(pipeline_config(version=v) for v in versions), name=name)
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


def test_a_job_whose_version_no_online_worker_serves_says_so(proto: Protocol) -> None:
    proto.images(2)
    old = _worker(proto, "Old farm", 1)
    _worker(proto, "New farm", 2)  # registered, but never asks for work
    job = proto.job_that_runs(pipeline_version=2)["id"]
    assert _claimed(proto, job, old) == []  # the version-1 worker is online
    detail = proto.client.get(f"{API}/jobs/{job}/", headers=proto.headers).json()
    assert detail["waiting_for_worker"] is True

"""A fallback worker (``trapline up``'s embedded one) leaves a job to any other worker online
that serves the job's pipeline for its project (decision 038)."""

from __future__ import annotations

from typing import Any

from tests.support.accounts import Account
from tests.support.protocol import PIPELINE_SLUG, pipeline_config
from tests.support.protocol_client import API, Protocol
from trapline.clock import FakeClock
from trapline.services.pipelines.workers import SERVING_WINDOW

FALLBACK = {"name": "embedded worker (here)", "fallback": True}


def _next(
    proto: Protocol, account: Account, info: dict[str, Any], pipeline: str = PIPELINE_SLUG
) -> Any:
    response = proto.client.post(
        f"{API}/tasks/next/",
        json={"pipelines": [pipeline], "batch_size": 100, "client_info": info},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["tasks"]


def _service_token(proto: Protocol) -> Account:
    """A token scoped to the project, as a remote worker holds."""
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/service-tokens/",
        json={"name": "gpu box"},
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    return Account(made.json()["user_id"], "", made.json()["token"])


def _second_project(proto: Protocol) -> Protocol:
    made = proto.client.post(f"{API}/projects/", json={"name": "Other"}, headers=proto.headers)
    assert made.status_code == 201, made.text
    other = proto.in_project(int(made.json()["id"]))
    assert other.register(pipeline_config()).status_code == 201
    return other


def test_the_fallback_leaves_the_jobs_a_remote_worker_serves_until_it_is_gone(
    registered: Protocol, fake_clock: FakeClock
) -> None:
    other = _second_project(registered)
    remote = _service_token(registered)
    # The remote worker asks for work before there is any: the server has seen it.
    assert _next(registered, remote, {"name": "gpu", "pipelines": [PIPELINE_SLUG]}) == []
    registered.images(2)
    other.images(3)
    served = registered.job_that_runs()["id"]
    theirs = other.job_that_runs()["id"]

    taken = _next(registered, registered.account, FALLBACK)
    assert sorted(t["job_id"] for t in taken) == [theirs] * 3

    fake_clock.advance(SERVING_WINDOW + 1)  # the remote worker stopped calling
    taken = _next(registered, registered.account, FALLBACK)
    assert sorted(t["job_id"] for t in taken) == [served] * 2


def test_other_fallbacks_and_other_pipelines_are_no_reason_to_wait(
    registered: Protocol,
) -> None:
    remote = _service_token(registered)
    _next(registered, remote, {"name": "old embedded worker", "fallback": True})
    _next(registered, remote, {"name": "gpu"}, "another-pipeline")
    registered.images(2)
    job_id = registered.job_that_runs()["id"]
    assert [t["job_id"] for t in _next(registered, registered.account, FALLBACK)] == [job_id] * 2

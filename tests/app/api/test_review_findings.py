"""Holes an adversarial review found in the input bounds, each closed: bodies are read only
after access is settled and parsed only within a budget of JSON objects and arrays, push
services' answers are bounded in time and size, registrations are capped, and text refuses
lone surrogates and invisible controls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.processes import clean_env, running
from tests.support.protocol import PIPELINE_SLUG, pipeline_config, registration
from tests.support.workers import prepared_account
from trapline.http.limits import JSON_CONTAINERS, REGISTRATION_CONTAINERS, RESULTS_CONTAINERS
from trapline.protocol.base import (
    MAX_ALGORITHMS,
    MAX_PIPELINES,
    MAX_REGISTERED_ALGORITHMS,
    describe_problem,
)
from trapline.protocol.pipelines import CategoryMap

API = "/api/v2"


def empties(count: int) -> bytes:
    """A JSON list of ``count`` empty objects, 3 bytes each."""
    return b"[" + b",".join([b"{}"] * count) + b"]"


def post_raw(
    client: AppClient,
    path: str,
    body: bytes,
    account: Account,
    content_type: str = "application/json",
) -> Any:
    headers = {**account.headers, "Content-Type": content_type}
    return client.post(API + path, content=body, headers=headers)


#: A content type that once turned the container count off; JSON routes parse the body anyway.
MULTIPART = "multipart/form-data; boundary=zz"


# -- Bodies: access first, then a bounded parse --


def test_results_for_a_job_the_caller_may_not_work_on_are_answered_before_the_body_is_read(
    client: AppClient, owner: Account, make_account: Any, project_id: int
) -> None:
    # Not JSON at all: a 404 (not a 400) shows the body was never parsed.
    missing = post_raw(client, "/jobs/987654/result/", b"{not json", owner)
    assert missing.status_code == 404, missing.text
    assert missing.json()["detail"] == "job 987654 not found"
    stranger = make_account("stranger@example.org")
    foreign = post_raw(client, "/jobs/987654/result/", b"{not json", stranger)
    assert (foreign.status_code, foreign.json()) == (404, missing.json())


def test_a_registration_for_a_project_the_caller_may_not_use_is_answered_before_the_body(
    client: AppClient, owner: Account, make_account: Any, project_id: int
) -> None:
    stranger = make_account("stranger@example.org")
    theirs = post_raw(client, f"/projects/{project_id}/pipelines/", b"{not json", stranger)
    missing = post_raw(client, "/projects/987654/pipelines/", b"{not json", stranger)
    assert theirs.status_code == missing.status_code == 404, theirs.text
    assert theirs.json()["detail"] == f"project {project_id} not found"
    assert missing.json()["detail"] == "project 987654 not found"


def test_a_registration_over_its_container_budget_is_refused_before_it_is_parsed(
    client: AppClient, owner: Account, project_id: int
) -> None:
    body = (
        b'{"processing_service_name":"evil","pipelines":[{"name":"q","slug":"qs","algorithms":'
        b'[{"name":"a","key":"k","category_map":{"labels":["a"],"data":[{"x":'
        + empties(REGISTRATION_CONTAINERS)
        + b"}]}}]}]}"
    )
    for content_type in ("application/json", MULTIPART):
        answer = post_raw(client, f"/projects/{project_id}/pipelines/", body, owner, content_type)
        assert answer.status_code == 413, (content_type, answer.text)
        assert answer.json()["code"] == "too_large"
        assert f"more than {REGISTRATION_CONTAINERS} JSON objects" in answer.json()["detail"]
    listed = client.get(f"{API}/projects/{project_id}/pipelines/", headers=owner.headers)
    assert listed.json()["count"] == 0


def test_a_body_the_framework_parses_has_a_container_budget_too(
    client: AppClient, owner: Account
) -> None:
    # Unknown keys are ignored once parsed, but parsing them was the cost.
    body = b'{"name":"many","ignored":' + empties(JSON_CONTAINERS) + b"}"
    answer = post_raw(client, "/projects/", body, owner)
    assert answer.status_code == 413, answer.text
    assert f"more than {JSON_CONTAINERS} JSON objects" in answer.json()["detail"]
    within = post_raw(client, "/projects/", b'{"name":"brackets [{ in a name"}', owner)
    assert within.status_code == 201, within.text


def test_results_over_their_container_budget_are_refused(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]
) -> None:
    # The caller may work on the job (it exists in their project) but sends too much.
    registered = client.post(
        f"{API}/projects/{project_id}/pipelines/",
        json=registration(pipeline_config()),
        headers=owner.headers,
    )
    assert registered.status_code == 201, registered.text
    assert upload(client, owner, project_id, ("a.jpg", jpeg()))["status"] == 201
    made = client.post(
        f"{API}/jobs/",
        json={"project_id": project_id, "pipeline": PIPELINE_SLUG, "start_now": False},
        headers=owner.headers,
    )
    assert made.status_code == 201, made.text
    body = b'{"results":[{"reply_subject":"x","result":' + empties(RESULTS_CONTAINERS) + b"}]}"
    for content_type in ("application/json", MULTIPART):
        answer = post_raw(client, f"/jobs/{made.json()['id']}/result/", body, owner, content_type)
        assert answer.status_code == 413, (content_type, answer.text)
        assert f"more than {RESULTS_CONTAINERS} JSON objects" in answer.json()["detail"]
    deep = b'{"results": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    nested = post_raw(client, f"/jobs/{made.json()['id']}/result/", deep, owner)
    assert nested.status_code == 400, nested.text


def _peak_rss(pid: int) -> int:
    """The most resident memory the process has had, in bytes (Linux's VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
def test_ten_mebibytes_of_empty_objects_cost_a_real_server_little_memory(tmp_path: Path) -> None:
    env = clean_env(TRAPLINE_DATA_DIR=str(tmp_path / "d"))
    token = prepared_account(env, "ops@example.org")
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    many = empties(3_500_000)  # the review's ~10 MiB
    results = b'{"results":[{"reply_subject":"x","result":' + many + b"}]}"
    registration = (
        b'{"processing_service_name":"evil","pipelines":[{"name":"q","slug":"qs","algorithms":'
        b'[{"name":"a","key":"k","category_map":{"labels":["a"],"data":[{"x":' + many + b"}]}}]}]}"
    )
    with running(["serve"], cwd=tmp_path, env=env) as server:
        api = f"{server.url}/api/v2"
        project = httpx.post(f"{api}/projects/", json={"name": "p"}, headers=headers).json()
        answers, growth = [], []
        for path, body in (
            ("/jobs/987654/result/", results),  # a job that does not exist
            ("/projects/987654/pipelines/", registration),  # a project that does not exist
            (f"/projects/{project['id']}/pipelines/", registration),  # the caller's own
        ):
            before = _peak_rss(server.process.pid)
            answers.append(httpx.post(api + path, content=body, headers=headers, timeout=120))
            growth.append(_peak_rss(server.process.pid) - before)
    print("\npeak RSS growth per 10 MiB body (MiB):", [round(g / 2**20, 1) for g in growth])
    assert [a.status_code for a in answers] == [404, 404, 413], [a.text for a in answers]
    # Parsed whole, the first of them alone took ~680 MB.
    assert max(growth) < 100 * 2**20


# -- Registrations: capped at what real services register --


def _pipelines(count: int, algorithms: int) -> list[dict[str, Any]]:
    configs = []
    for n in range(count):
        config = pipeline_config(f"p{n}")
        one = {**config["algorithms"][0], "category_map": None}
        config["algorithms"] = [{**one, "key": f"k{n}-{a}"} for a in range(algorithms)]
        configs.append(config)
    return configs


@pytest.mark.parametrize(
    ("count", "algorithms", "says"),
    [
        (MAX_PIPELINES + 1, 1, f"at most {MAX_PIPELINES} items"),
        (1, MAX_ALGORITHMS + 1, f"at most {MAX_ALGORITHMS} items"),
        (
            MAX_REGISTERED_ALGORITHMS // MAX_ALGORITHMS + 1,
            MAX_ALGORITHMS,
            f"more than {MAX_REGISTERED_ALGORITHMS} algorithms together",
        ),
    ],
    ids=["pipelines", "algorithms-of-one", "algorithms-in-all"],
)
def test_registrations_past_the_item_caps_are_refused(
    client: AppClient, owner: Account, project_id: int, count: int, algorithms: int, says: str
) -> None:
    body = registration(*_pipelines(count, algorithms))
    answer = client.post(
        f"{API}/projects/{project_id}/pipelines/", json=body, headers=owner.headers
    )
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["detail"]
    listed = client.get(f"{API}/projects/{project_id}/pipelines/", headers=owner.headers)
    assert listed.json()["count"] == 0


def test_a_registration_at_the_caps_is_accepted(
    client: AppClient, owner: Account, project_id: int
) -> None:
    body = registration(*_pipelines(MAX_REGISTERED_ALGORITHMS // MAX_ALGORITHMS, MAX_ALGORITHMS))
    answer = client.post(
        f"{API}/projects/{project_id}/pipelines/", json=body, headers=owner.headers
    )
    assert answer.status_code == 201, answer.text
    assert len(answer.json()["algorithms_created"]) == MAX_REGISTERED_ALGORITHMS


# -- Text: lone surrogates and invisible controls --

SURROGATE_VALUE = (
    '{"processing_service_name":"evil","pipelines":[{"name":"q","slug":"qs","algorithms":'
    '[{"name":"a","key":"ks","task_type":"classification","category_map":{"labels":["a"],'
    '"data":[{"x":"\\ud800"}]}}]}]}'
)


@pytest.mark.parametrize(
    "body",
    [
        SURROGATE_VALUE,
        SURROGATE_VALUE.replace('{"x":"\\ud800"}', '{"\\udc00":1}'),
        SURROGATE_VALUE.replace('{"x":"\\ud800"}', '{"x":{"y":["\\udfff"]}}'),
    ],
    ids=["value", "key", "nested"],
)
def test_lone_surrogates_in_free_form_json_are_refused_before_anything_is_stored(
    client: AppClient, owner: Account, project_id: int, body: str
) -> None:
    answer = post_raw(client, f"/projects/{project_id}/pipelines/", body.encode(), owner)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid"
    listed = client.get(f"{API}/projects/{project_id}/pipelines/", headers=owner.headers)
    assert listed.json()["count"] == 0


@pytest.mark.parametrize("data", [{"x": "\ud800"}, {"\udc00": 1}, {"x": [{"\udfff": "y"}]}])
def test_free_form_json_parsed_elsewhere_refuses_lone_surrogates_too(data: Any) -> None:
    # Bodies pydantic-core parses refuse them as invalid JSON; these are what json.loads makes.
    with pytest.raises(ValidationError) as refused:
        CategoryMap.model_validate({"labels": ["a"], "data": [data]})
    problem = describe_problem(refused.value.errors()[0])
    assert "lone surrogates" in problem
    problem.encode()  # an answer can carry it


@pytest.mark.parametrize(
    "name",
    [
        "a\u2028b",
        "a\u2029b",
        "\u202egpj.exe",
        "a\u2066b",
        "a\u200fb",
        "a\x85b",
        "a\x9fb",
        "a\u061cb",
        "a\u200bb",
        "a\ufeffb",
    ],
)
def test_one_line_names_refuse_invisible_controls(
    client: AppClient, owner: Account, project_id: int, name: str
) -> None:
    service = client.post(
        f"{API}/projects/{project_id}/pipelines/",
        json=registration(pipeline_config(), name=name),
        headers=owner.headers,
    )
    assert service.status_code == 400, service.text
    assert "processing_service_name" in service.json()["detail"]
    project = client.post(f"{API}/projects/", json={"name": name}, headers=owner.headers)
    assert project.status_code == 400, project.text
    assert "bidirectional" in project.json()["detail"]


def test_uploaded_filenames_lose_invisible_controls(
    client: AppClient, owner: Account, project_id: int, jpeg: Any
) -> None:
    made = upload(client, owner, project_id, ("\u202egpj\u2028.exe\x85", jpeg()))
    assert made["status"] == 201, made
    assert made["results"][0]["filename"] == "gpj.exe"

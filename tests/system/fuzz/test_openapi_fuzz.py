"""Schemathesis against the OpenAPI document of a real ``trapline serve``, on both databases.

Every operation gets a bounded number of generated requests (``FUZZ_EXAMPLES``, default a
few, so the suite stays quick; ``make fuzz`` runs many more), valid and invalid, with every
check schemathesis has: no 5xx, status codes, content types, headers and bodies as the
document says, valid data accepted, invalid data refused, no answer without a token.

The server holds a project with a deployment, images, a registered pipeline, a collection and
a running job, and about half the generated requests aim at those real objects (hooks.py), so
the paths past "not found" are fuzzed too. The server runs through offline.py, whose outbound
guard checks every URL as always but answers for the world outside, so the push-service
registration (the server calls the URL it is given) is fuzzed too, without a network.

The schemathesis command line runs it (its pytest plugin does not run under pytest 9): a
failure prints schemathesis' report with a curl line reproducing each problem.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import PostgresDatabases
from tests.support.processes import clean_env
from tests.support.protocol import pipeline_config, registration, wait_for_status
from tests.support.workers import REPO_ROOT, live_platform
from trapline.imaging.synthetic import light_trap_jpeg

#: Generated requests per operation and phase; ``make fuzz`` sets many more.
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "10")
#: The generator's seed: the same requests on every run unless told otherwise.
SEED = os.environ.get("FUZZ_SEED", "16")
#: Seconds the whole schemathesis run may take on one database.
RUN_TIMEOUT = float(os.environ.get("FUZZ_TIMEOUT", "600"))

#: The push-service registration makes the server call the URL it is given: the server runs
#: through offline.py, whose outbound guard checks every URL and answers for the world outside.
PUSH_REGISTRATION = "POST /api/v2/projects/{project_id}/processing-services"


def _offline_server(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).with_name("offline.py")), *args]


def _populate(client: httpx.Client) -> dict[str, Any]:
    """A project with something of every kind in it; returns their ids by parameter name."""

    def made(response: httpx.Response) -> Any:
        assert response.status_code in (200, 201), response.text
        return response.json()

    project = made(client.post("/api/v2/projects/", json={"name": "Fuzzed"}))["id"]
    deployment = made(
        client.post(f"/api/v2/projects/{project}/deployments", json={"name": "Trap A"})
    )["id"]
    files = [
        (
            "files",
            (f"trap-{n}.jpg", io.BytesIO(light_trap_jpeg(n, width=64, height=48)), "image/jpeg"),
        )
        for n in range(3)
    ]
    uploaded = made(
        client.post(
            f"/api/v2/projects/{project}/images/",
            files=files,
            data={"deployment_id": str(deployment)},
        )
    )["results"]
    images = [u["id"] for u in uploaded]
    made(
        client.post(f"/api/v2/projects/{project}/pipelines/", json=registration(pipeline_config()))
    )
    collection = made(
        client.post(
            f"/api/v2/projects/{project}/collections",
            json={"name": "Two", "image_ids": images[:2]},
        )
    )["id"]
    job = made(client.post("/api/v2/jobs/", json={"project_id": project, "pipeline": "moth-test"}))
    wait_for_status(client.get, job["id"], {"running"}, {})
    me = made(client.get("/api/v2/users/me"))["id"]
    (token,) = made(client.get("/api/v2/tokens"))["results"]
    return {
        "project_id": project,
        "project": project,
        "deployment_id": deployment,
        "deployment": deployment,
        "image_id": images[0],
        "collection_id": collection,
        "job_id": job["id"],
        "job": job["id"],
        "user_id": me,
        "token_id": token["id"],
    }


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
@pytest.mark.timeout(RUN_TIMEOUT + 120)
def test_the_api_answers_as_its_openapi_document_says(
    backend: str, tmp_path: Path, postgres_databases: PostgresDatabases
) -> None:
    with live_platform(backend, tmp_path, postgres_databases, command=_offline_server) as platform:
        with platform.client() as client:
            real = _populate(client)
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            f"--config-file={Path(__file__).with_name('schemathesis.toml')}",
            "run",
            f"{platform.url}/api/v2/openapi.json",
            "--checks=all",
            # Not the stateful phase: it follows ids from answers to deletions (GET /tokens to
            # DELETE /tokens/{id}), which revokes the token the run goes on with.
            "--phases=examples,coverage,fuzzing",
            f"--max-examples={EXAMPLES}",
            f"--seed={SEED}",
            "--workers=1",
            "--continue-on-failure",
            "--suppress-health-check=all",
            # The token below is the one to send, not a generated Authorization header.
            "--generation-with-security-parameters=false",
            "--no-color",
            f"--header=Authorization: Token {platform.token}",
        ]
        env = clean_env(
            SCHEMATHESIS_HOOKS="tests.system.fuzz.hooks",
            FUZZ_REAL_OBJECTS=json.dumps(real),
            PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
        server_log = platform.server.log()
        with platform.client() as client:
            # The registration was fuzzed past the guard: generated services were registered.
            services = client.get(f"/api/v2/projects/{real['project_id']}/processing-services")
            assert any(s["endpoint_url"] for s in services.json()["results"]), PUSH_REGISTRATION
            # The run was not spent knocking on a locked door: the token and the objects the
            # requests aimed at are still there.
            assert client.get("/api/v2/users/me").status_code == 200
            assert client.get(f"/api/v2/projects/{real['project_id']}").status_code == 200
    # Long generated bodies are cut, so that every failure fits in the message.
    report = "\n".join(line[:300] for line in (done.stdout + done.stderr).splitlines())
    assert done.returncode == 0, report
    assert "Traceback" not in server_log, server_log[-5000:]

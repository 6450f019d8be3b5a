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

The run authenticates as an admin who owns that project, so that the admin-only operations
are fuzzed too, and it must keep that token to the end: it cannot deactivate itself (the
server refuses, a documented 400), the users it acts on are another account (``user_id``),
and hooks.py aims every DELETE of /tokens/{id} away from its own token. Every answer to the
token is noted, and none may be a 401.

The schemathesis command line runs it (its pytest plugin does not run under pytest 9): a
failure prints schemathesis' report with a curl line reproducing each problem.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import PostgresDatabases
from tests.support.processes import clean_env
from tests.support.protocol import http_client, pipeline_config, registration, wait_for_status
from tests.support.workers import REPO_ROOT, live_platform
from trapline.api.business_rules import RULES
from trapline.cli import platform_commands
from trapline.imaging.synthetic import light_trap_jpeg
from trapline.settings import Settings

#: Generated requests per operation and phase; ``make fuzz`` sets many more.
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "10")
#: The generator's seed: the same requests on every run unless told otherwise.
SEED = os.environ.get("FUZZ_SEED", "16")
#: Seconds the whole schemathesis run may take on one database.
RUN_TIMEOUT = float(os.environ.get("FUZZ_TIMEOUT", "600"))

#: The push-service registration makes the server call the URL it is given: the server runs
#: through offline.py, whose outbound guard checks every URL and answers for the world outside.
PUSH_REGISTRATION = "POST /api/v2/projects/{project_id}/processing-services"
#: The run's own settings; the entries of the rules the document lists are added to them.
SETTINGS = Path(__file__).with_name("schemathesis.toml")
#: What a request the schema allows may be answered besides success: the object or the right
#: to it missing, or a clash with its state (schemathesis' own list, without 3xx, 429, 5xx).
VALID_REQUEST_ANSWERS = ["2xx", "401", "403", "404", "409"]
#: The account the run acts as: an admin, who owns the fuzzed project.
ADMIN = "fuzz-admin@example.org"
#: The account the run's user operations act on: the one ``live_platform`` makes.
OTHER = "worker@example.org"


def _offline_server(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).with_name("offline.py")), *args]


def _admin_token(env: dict[str, str]) -> str:
    """A token of a new admin in the database of the server of ``env``."""
    settings = Settings(  # type: ignore[call-arg]
        data_dir=env["TRAPLINE_DATA_DIR"],
        secret_key=env["TRAPLINE_SECRET_KEY"],
        _env_file=None,
        **(
            {"database_url": env["TRAPLINE_DATABASE_URL"]} if "TRAPLINE_DATABASE_URL" in env else {}
        ),
    )
    platform_commands.admin_create_user(settings, email=ADMIN, name="Fuzz", is_admin=True)
    return platform_commands.admin_create_token(settings, email=ADMIN, name="fuzz")


def _config(folder: Path, document: dict[str, Any]) -> Path:
    """The run's settings and, for every operation of ``RULES``, a 400 allowed to a request
    its schema allows (with 413 and 415 where it takes files), and a 429 for every operation
    whose document lists one; the file written."""
    entries = [SETTINGS.read_text(encoding="utf-8")]
    # A 429 the document lists is a cap the run itself may reach (an image's most analyses,
    # after a long run's many): an answer to valid data, for those operations.
    capped = {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "429" in operation.get("responses", {})
    }
    for label in sorted(set(RULES) | capped):
        method, path = label.split(" ", 1)
        statuses = [*VALID_REQUEST_ANSWERS]
        if label in RULES:
            statuses.append("400")
        responses = document["paths"][path][method.lower()]["responses"]
        if label in RULES and "415" in responses:
            statuses += ["413", "415"]
        if label in capped:
            statuses.append("429")
        entries.append(
            f"[[operations]]\ninclude-name = {json.dumps(label)}\n"
            f"checks.positive_data_acceptance.expected-statuses = {json.dumps(statuses)}\n"
        )
    written = folder / "schemathesis.toml"
    written.write_text("\n".join(entries), encoding="utf-8")
    return written


def _populate(client: httpx.Client, other: str) -> dict[str, Any]:
    """A project with something of every kind in it, and the account ``other`` (the users
    the run acts on) a member of it; returns their ids by parameter name."""

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
    member = made(
        client.post(f"/api/v2/projects/{project}/members", json={"email": other, "role": "member"})
    )["user_id"]
    analysis = made(
        client.post(f"/api/v2/images/{images[0]}/analyses", json={"model_name": "fuzz-model"})
    )["id"]
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
        "analysis_id": analysis,
        "user_id": member,
        "token_id": token["id"],
    }


def test_a_400_to_valid_data_is_allowed_only_by_a_rule_the_document_lists(
    tmp_path: Path,
) -> None:
    """The run's own settings allow no 400 to a valid request: every such allowance comes
    from ``RULES``, so a rule cannot be allowed without the document stating it."""
    own = tomllib.loads(SETTINGS.read_text(encoding="utf-8"))
    for entry in [own, *own.get("operations", [])]:
        statuses = entry.get("checks", {}).get("positive_data_acceptance", {})
        assert "400" not in statuses.get("expected-statuses", []), entry
    paths: dict[str, Any] = {}
    for label in RULES:
        method, path = label.split(" ", 1)
        paths.setdefault(path, {})[method.lower()] = {"responses": {}}
    written = tomllib.loads(_config(tmp_path, {"paths": paths}).read_text(encoding="utf-8"))
    allowed = {
        entry["include-name"]
        for entry in written["operations"]
        if "400" in entry["checks"]["positive_data_acceptance"]["expected-statuses"]
    }
    assert allowed == set(RULES)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
@pytest.mark.timeout(RUN_TIMEOUT + 120)
def test_the_api_answers_as_its_openapi_document_says(
    backend: str, tmp_path: Path, postgres_databases: PostgresDatabases
) -> None:
    with live_platform(
        backend,
        tmp_path,
        postgres_databases,
        command=_offline_server,
        # The signed calls of the callback API take a member's token instead of a signature:
        # a generated body cannot be signed before schemathesis sends it.
        ML_PIPELINE_REQUIRE_HMAC="false",
    ) as platform:
        token = _admin_token(platform.env)
        with http_client(platform.url, token) as client:
            real = _populate(client, OTHER)
            document = client.get("/api/v2/openapi.json").json()
        answers = tmp_path / "answers.txt"
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            f"--config-file={_config(tmp_path, document)}",
            "run",
            f"{platform.url}/api/v2/openapi.json",
            "--checks=all",
            # Not the stateful phase: it follows ids from answers to deletions (GET /tokens to
            # DELETE /tokens/{id}), which would revoke the token the run goes on with.
            "--phases=examples,coverage,fuzzing",
            f"--max-examples={EXAMPLES}",
            f"--seed={SEED}",
            "--workers=1",
            "--continue-on-failure",
            "--suppress-health-check=all",
            # The token below is the one to send, not a generated Authorization header.
            "--generation-with-security-parameters=false",
            "--no-color",
            f"--header=Authorization: Token {token}",
        ]
        env = clean_env(
            SCHEMATHESIS_HOOKS="tests.system.fuzz.hooks",
            FUZZ_REAL_OBJECTS=json.dumps(real),
            FUZZ_TOKEN=token,
            FUZZ_ANSWERS=str(answers),
            PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
        server_log = platform.server.log()
        with http_client(platform.url, token) as client:
            # The registration was fuzzed past the guard: generated services were registered.
            services = client.get(f"/api/v2/projects/{real['project_id']}/processing-services")
            assert any(s["endpoint_url"] for s in services.json()["results"]), PUSH_REGISTRATION
            # The run was not spent knocking on a locked door: its token authenticated every
            # request to its end, and the objects the requests aimed at are still there.
            assert client.get("/api/v2/users/me").status_code == 200
            assert client.get(f"/api/v2/projects/{real['project_id']}").status_code == 200
    # Long generated bodies are cut, so that every failure fits in the message.
    report = "\n".join(line[:300] for line in (done.stdout + done.stderr).splitlines())
    assert done.returncode == 0, report
    assert "Traceback" not in server_log, server_log[-5000:]
    answered = answers.read_text(encoding="utf-8").splitlines()
    assert answered, "no request carried the run's token"
    turned_away = [line for line in answered if line.endswith(" 401")]
    assert not turned_away, f"the run's token was refused: {turned_away[:20]}"

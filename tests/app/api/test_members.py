"""Adding members: a body the OpenAPI document calls valid is never answered 400; what the
database holds is answered 404 or 409, as the document says."""

from __future__ import annotations

import re
from typing import Any

import jsonschema

from tests.support.accounts import Account
from tests.support.app_client import AppClient

API = "/api/v2"
ROUTE = "/projects/{project_id}/members"


def _request_schema(document: dict[str, Any]) -> dict[str, Any]:
    """The member-add body's schema, with the document's components to resolve it by."""
    body = document["paths"][API + ROUTE]["post"]["requestBody"]["content"]["application/json"]
    return {**body["schema"], "components": document["components"]}


def test_valid_bodies_refused_for_what_the_database_holds_are_404_or_409(
    client: AppClient,
    admin: Account,
    owner: Account,
    project_id: int,
) -> None:
    document = client.get(f"{API}/openapi.json").json()
    schema = _request_schema(document)
    made = client.post(
        f"{API}/projects/{project_id}/service-tokens", json={"name": "gpu"}, headers=owner.headers
    )
    service_email = client.get(f"{API}/users/{made.json()['user_id']}", headers=admin.headers)
    other = client.post(f"{API}/projects/", json={"name": "Other"}, headers=admin.headers)
    cases = [
        # (who asks, in which project, the body, the answer and its code)
        (owner, project_id, {"email": "0@0", "role": "manager"}, 404, "no_such_person"),
        (owner, project_id, {"email": owner.email, "role": "member"}, 409, "conflict"),
        (
            admin,
            other.json()["id"],
            {"email": service_email.json()["email"], "role": "member"},
            409,
            "conflict",
        ),
    ]
    answers = []
    for account, project, body, status, code in cases:
        jsonschema.validate(body, schema)  # the document admits the request
        answer = client.post(
            f"{API}{ROUTE.format(project_id=project)}", json=body, headers=account.headers
        )
        answers.append((answer.status_code, answer.json()["code"]))
        assert answers[-1] == (status, code), answer.text
    responses = document["paths"][API + ROUTE]["post"]["responses"]
    assert "no person with this email" in responses["404"]["description"]
    assert "without an owner" in responses["409"]["description"]
    assert "service account" in responses["409"]["description"]
    members = client.get(f"{API}/projects/{project_id}/members", headers=owner.headers).json()
    roles = {m["email"]: m["role"] for m in members["results"]}
    assert roles == {owner.email: "owner", service_email.json()["email"]: "viewer"}


def test_the_documented_email_pattern_means_what_the_server_does_in_any_regex_engine(
    client: AppClient, owner: Account, project_id: int
) -> None:
    document = client.get(f"{API}/openapi.json").json()
    ref = _request_schema(document)["$ref"].rsplit("/", 1)[-1]
    pattern = document["components"]["schemas"][ref]["properties"]["email"]["pattern"]
    # \\s, \\d, \\w and \\b take other characters in ECMA-262 (JSON Schema's engine), Python
    # and Rust (pydantic's): a client checking the document would admit what the server refuses.
    assert re.search(r"\\[sSdDwWbB]", pattern) is None, pattern
    for char in "\x85\ufeff\x83\u3000\xa0\x1c":
        for email in (f"a{char}b@example.org", f"{char}a@example.org", f"a@example.org{char}"):
            documented = re.fullmatch(pattern, email) is not None
            answer = client.post(
                f"{API}{ROUTE.format(project_id=project_id)}",
                json={"email": email, "role": "viewer"},
                headers=owner.headers,
            )
            # Admitted, it names nobody (404); refused, it is malformed (400).
            assert answer.status_code == (404 if documented else 400), (email, answer.text)

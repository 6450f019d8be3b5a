"""The OpenAPI document says what the API answers: errors as sent, redirects, instants."""

from __future__ import annotations

from typing import Any

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from trapline.api.business_rules import RULES

API = "/api/v2"


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_validation_errors_are_documented_as_the_400s_they_are(client: AppClient) -> None:
    document = client.get(f"{API}/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        assert "422" not in responses, f"{method} {path}"
        if operation.get("parameters") or operation.get("requestBody"):
            schema = responses["400"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}, f"{method} {path}"
    # And they really are 400s in that shape.
    answer = client.get(f"{API}/jobs/not-a-number", headers={"Authorization": "Token x"})
    assert answer.status_code in (400, 401)


def test_errors_each_operation_can_answer_are_documented(client: AppClient) -> None:
    document = client.get(f"{API}/openapi.json").json()
    operations = {(m, p): op for m, p, op in _operations(document)}
    create_job = operations["POST", f"{API}/jobs"]["responses"]
    assert {"201", "400", "401", "403", "404", "409", "413", "503"} <= set(create_job)
    assert create_job["401"]["headers"]["WWW-Authenticate"]["required"]
    assert create_job["503"]["headers"]["Retry-After"]["required"]
    upload = operations["POST", f"{API}/projects/{{project_id}}/images"]["responses"]
    assert {"413", "415"} <= set(upload)
    add_member = operations["POST", f"{API}/projects/{{project_id}}/members"]["responses"]
    assert {"200", "201"} <= set(add_member)  # a role changed, a person added
    assert operations["GET", f"{API}/users/me"]["security"] == [{"Token": []}]
    assert "security" not in operations["GET", "/livez"]


def test_redirects_are_documented_as_redirects(client: AppClient) -> None:
    document = client.get(f"{API}/openapi.json").json()
    for name in ("download", "thumbnail"):
        answer = document["paths"][f"{API}/images/{{image_id}}/{name}"]["get"]["responses"]["307"]
        assert "content" not in answer
        assert answer["headers"]["Location"]["required"]


def test_instants_in_answers_carry_their_offset(
    client: AppClient, owner: Account, project_id: int
) -> None:
    document = client.get(f"{API}/openapi.json").json()
    created = document["components"]["schemas"]["ProjectOut"]["properties"]["created_at"]
    assert created["format"] == "date-time"
    project = client.get(f"{API}/projects/{project_id}", headers=owner.headers).json()
    assert project["created_at"].endswith(("Z", "+00:00"))
    # A deployment's times are the station's wall clock: documented as such, not as instants.
    made = client.post(
        f"{API}/projects/{project_id}/deployments",
        json={"name": "Trap", "started_at": "2024-06-01T20:00:00"},
        headers=owner.headers,
    ).json()
    assert made["started_at"] == "2024-06-01T20:00:00"
    started = document["components"]["schemas"]["DeploymentOut"]["properties"]["started_at"]
    assert "date-time" not in str(started)


def test_a_405_allows_every_method_of_its_path(client: AppClient, owner: Account) -> None:
    answer = client.put(f"{API}/jobs", headers=owner.headers)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"
    assert set(answer.json()) == {"detail", "code"}


def test_numbers_and_booleans_are_not_taken_from_strings(
    client: AppClient, owner: Account, project_id: int
) -> None:
    for body, field in (
        ({"name": "x", "latitude": "45.5"}, "latitude"),
        ({"name": "x", "latitude": True}, "latitude"),
    ):
        answer = client.post(
            f"{API}/projects/{project_id}/deployments", json=body, headers=owner.headers
        )
        assert answer.status_code == 400, answer.text
        assert field in answer.json()["detail"]
    answer = client.patch(
        f"{API}/projects/{project_id}", json={"keep_full_scores": 1}, headers=owner.headers
    )
    assert answer.status_code == 400, answer.text
    assert "keep_full_scores" in answer.json()["detail"]


def test_rules_a_valid_request_may_break_are_listed_in_its_400(client: AppClient) -> None:
    document = client.get(f"{API}/openapi.json").json()
    operations = {f"{m} {p}": op for m, p, op in _operations(document)}
    # A rule of an operation the document does not have (renamed, removed) is found here.
    assert set(RULES) <= set(operations), set(RULES) - set(operations)
    for label, rules in RULES.items():
        description = operations[label]["responses"]["400"]["description"]
        for rule in rules:
            assert f"\n- {rule}" in description, label
    # The rules schemathesis found undocumented (issue 51) are among them.
    for label, words in (
        (f"GET {API}/projects/{{project_id}}/species", "since may not be after until"),
        (f"GET {API}/projects/{{project_id}}/taxa/{{taxon_id}}", "since may not be after until"),
        (f"GET {API}/annotations/{{annotation_id}}/crop", "a classification"),
        (f"POST {API}/events/{{event_id}}/occurrences/merge", "a repeated id"),
        (f"POST {API}/occurrences/{{occurrence_id}}/split", "the occurrence's own"),
        (f"POST {API}/users/{{user_id}}/deactivate", "deactivate yourself"),
        (f"POST {API}/users/{{user_id}}/tokens", "activate a deactivated one"),
    ):
        assert words in operations[label]["responses"]["400"]["description"], label
    # An operation with no such rule keeps the plain 400.
    plain = operations[f"GET {API}/projects/{{project_id}}"]["responses"]["400"]
    assert "rule" not in plain["description"]

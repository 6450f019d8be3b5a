"""Users, tokens, projects, members and deployments through the API."""

from __future__ import annotations

from tests.support.app_client import AppClient


def test_admin_creates_users_and_users_make_tokens(client: AppClient, admin) -> None:
    made = client.post(
        "/api/v2/users/", json={"email": "Ann@Example.org", "name": "Ann"}, headers=admin.headers
    )
    assert made.status_code == 201
    assert made.json()["email"] == "ann@example.org"
    again = client.post("/api/v2/users", json={"email": "ann@example.org"}, headers=admin.headers)
    assert again.status_code == 409


def test_token_life_cycle(client: AppClient, owner) -> None:
    made = client.post("/api/v2/tokens/", json={"name": "laptop"}, headers=owner.headers)
    assert made.status_code == 201
    body = made.json()
    secret = body["token"]
    assert secret.startswith("tl_")
    assert len(secret) > 40
    assert secret.startswith(body["prefix"])
    new_headers = {"Authorization": f"Bearer {secret}"}
    for scheme in ("Token", "Bearer", "Api-Key"):
        me = client.get("/api/v2/users/me", headers={"Authorization": f"{scheme} {secret}"})
        assert me.json()["email"] == owner.email

    listed = client.get("/api/v2/tokens", headers=owner.headers).json()["results"]
    mine = next(t for t in listed if t["id"] == body["id"])
    assert "token" not in mine
    assert secret not in str(listed)
    assert mine["last_used_at"] is not None

    assert client.delete(f"/api/v2/tokens/{body['id']}/", headers=owner.headers).status_code == 204
    assert client.get("/api/v2/users/me", headers=new_headers).status_code == 401
    assert client.delete(f"/api/v2/tokens/{body['id']}", headers=owner.headers).status_code == 404


def test_cannot_revoke_someone_elses_token(client, owner, make_account) -> None:
    other = make_account("otto")
    token_id = client.get("/api/v2/tokens", headers=other.headers).json()["results"][0]["id"]
    assert client.delete(f"/api/v2/tokens/{token_id}", headers=owner.headers).status_code == 404
    assert client.get("/api/v2/users/me", headers=other.headers).status_code == 200


def test_tokens_are_stored_hashed(client, app_db, owner) -> None:
    from sqlalchemy import text

    with app_db.read() as repos:
        stored = repos.session.execute(text("SELECT token_hash, prefix FROM api_tokens")).all()
    assert all(owner.token not in row.token_hash for row in stored)
    assert any(owner.token.startswith(row.prefix) for row in stored)


def test_project_crud(client, owner, make_account) -> None:
    made = client.post(
        "/api/v2/projects",
        json={"name": "Trap study", "description": "2024"},
        headers=owner.headers,
    )
    assert made.status_code == 201
    project = made.json()
    assert project["role"] == "owner"
    assert isinstance(project["id"], int)
    renamed = client.patch(
        f"/api/v2/projects/{project['id']}", json={"name": "Trap study II"}, headers=owner.headers
    )
    assert renamed.json()["name"] == "Trap study II"
    assert renamed.json()["description"] == "2024"
    listed = client.get("/api/v2/projects", headers=owner.headers).json()
    assert [p["name"] for p in listed["results"]] == ["Trap study II"]
    assert listed["results"][0]["role"] == "owner"
    stranger = make_account("stan")
    assert client.get("/api/v2/projects", headers=stranger.headers).json()["count"] == 0
    assert (
        client.delete(f"/api/v2/projects/{project['id']}", headers=owner.headers).status_code == 204
    )
    assert client.get(f"/api/v2/projects/{project['id']}", headers=owner.headers).status_code == 404


def test_members_and_roles(client, owner, project_id, make_account) -> None:
    vera = make_account("vera")
    base = f"/api/v2/projects/{project_id}/members"
    added = client.post(base, json={"email": vera.email, "role": "viewer"}, headers=owner.headers)
    assert added.status_code == 201
    assert added.json()["role"] == "viewer"
    assert (
        client.get(f"/api/v2/projects/{project_id}", headers=vera.headers).json()["role"]
        == "viewer"
    )
    promoted = client.post(
        base, json={"email": vera.email, "role": "manager"}, headers=owner.headers
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "manager"
    roles = {
        m["email"]: m["role"] for m in client.get(base, headers=vera.headers).json()["results"]
    }
    assert roles == {owner.email: "owner", vera.email: "manager"}

    # A manager can't make owners; an owner can't leave the project ownerless.
    max_ = make_account("max")
    refused = client.post(base, json={"email": max_.email, "role": "owner"}, headers=vera.headers)
    assert refused.status_code == 403
    last = client.delete(f"{base}/{owner.id}", headers=owner.headers)
    assert last.status_code == 409
    demote = client.post(base, json={"email": owner.email, "role": "member"}, headers=owner.headers)
    assert demote.status_code == 409

    assert client.delete(f"{base}/{vera.id}", headers=owner.headers).status_code == 204
    assert client.get(f"/api/v2/projects/{project_id}", headers=vera.headers).status_code == 404


def test_deployments(client, owner, project_id) -> None:
    base = f"/api/v2/projects/{project_id}/deployments"
    made = client.post(
        base,
        json={
            "name": "Trap A",
            "latitude": -33.9,
            "longitude": 151.2,
            "started_at": "2024-06-01T20:00:00",
            "ended_at": "2024-06-02T06:00:00",
        },
        headers=owner.headers,
    )
    assert made.status_code == 201
    deployment = made.json()
    assert deployment["latitude"] == -33.9
    patched = client.patch(
        f"/api/v2/deployments/{deployment['id']}/",
        json={"latitude": None, "longitude": None},  # a place has both or neither
        headers=owner.headers,
    ).json()
    assert (patched["latitude"], patched["longitude"]) == (None, None)
    assert patched["name"] == "Trap A"
    backwards = client.patch(
        f"/api/v2/deployments/{deployment['id']}",
        json={"ended_at": "2024-05-01T00:00:00"},
        headers=owner.headers,
    )
    assert backwards.status_code == 400
    assert client.get(base, headers=owner.headers).json()["count"] == 1
    assert (
        client.delete(f"/api/v2/deployments/{deployment['id']}", headers=owner.headers).status_code
        == 204
    )
    assert client.get(base, headers=owner.headers).json()["count"] == 0


def test_project_list_pagination(client, owner) -> None:
    for n in range(5):
        client.post("/api/v2/projects", json={"name": f"P{n}"}, headers=owner.headers)
    page = client.get("/api/v2/projects?limit=2&offset=2", headers=owner.headers).json()
    assert page["count"] == 5
    assert [p["name"] for p in page["results"]] == ["P2", "P3"]
    assert "offset=4" in page["next"]
    assert "offset" not in page["previous"]
    last = client.get(page["next"], headers=owner.headers).json()
    assert [p["name"] for p in last["results"]] == ["P4"]
    assert last["next"] is None

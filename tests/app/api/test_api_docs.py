"""The API docs pages work offline, authenticate with a pasted token and read in a user's order."""

from __future__ import annotations

import re

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient

API = "/api/v2"


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_docs_pages_load_only_assets_the_server_serves(client: AppClient, page: str) -> None:
    html = client.get(f"{API}/{page}").text
    links = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert links
    for link in links:
        assert link.startswith(f"{API}/docs/assets/"), link
        answer = client.get(link)
        assert answer.status_code == 200, link
        assert len(answer.content) > 0
    # Nothing reaches out of the server: no absolute URL anywhere in the page's code.
    assert not re.search(r"https?://", html)
    assert f"{API}/openapi.json" in html


def test_the_token_scheme_takes_a_bare_token(
    client: AppClient, owner: Account, project_id: int
) -> None:
    document = client.get(f"{API}/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["Token"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    # What "Authorize" then sends, and the Token form people use with curl: both work.
    for header in (f"Bearer {owner.token}", f"Token {owner.token}"):
        answer = client.get(f"{API}/projects/{project_id}", headers={"Authorization": header})
        assert answer.status_code == 200
    assert client.get(f"{API}/projects/{project_id}").status_code == 401


def test_tags_list_a_users_resources_before_the_worker_protocol(client: AppClient) -> None:
    document = client.get(f"{API}/openapi.json").json()
    order = [tag["name"] for tag in document["tags"]]
    used = {t for item in document["paths"].values() for op in item.values() for t in op["tags"]}
    assert set(order) >= used, "list every tag in trapline.api.docs.TAGS"
    assert order[0] == "projects"
    for resource in ("projects", "images", "jobs", "annotations"):
        assert order.index(resource) < order.index("worker protocol")


def test_summaries_are_plain_text(client: AppClient) -> None:
    document = client.get(f"{API}/openapi.json").json()
    summaries = [
        op.get("summary", "") for item in document["paths"].values() for op in item.values()
    ]
    assert summaries
    assert not [s for s in summaries if "`" in s]
    upload = document["paths"][f"{API}/projects/{{project_id}}/images"]["post"]["summary"]
    assert "files" in upload

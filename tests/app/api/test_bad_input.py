"""Bad input: each gets the right 4xx, a detail that says what was wrong, and changes nothing."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.refusals import refusal_problem, refused
from trapline.storage.local import LocalBlobStore

API = "/api/v2"
MiB = 1024 * 1024
#: The per-file and per-request limits of the test settings (see tests/conftest.py).
MAX_UPLOAD_BYTES = 5 * MiB
MAX_REQUEST_BYTES = 20 * MiB
UNKNOWN_ID = 999_999


@pytest.fixture
def lenient(client: AppClient) -> Iterator[AppClient]:
    """The same app answering 500 instead of raising, so one crash doesn't hide later cases."""
    answering = AppClient(client.app, raise_server_exceptions=False)
    yield answering
    answering.close()


def all_refused(
    client: AppClient,
    account: Account | None,
    calls: list[tuple[str, str]],
    status: int | tuple[int, ...],
    *words: str,
) -> None:
    """Check each (method, path) answers ``status`` naming ``words``; report every miss at once.

    ``account`` None calls anonymously; PATCH calls send a harmless valid body.
    """
    problems = {}
    for method, path in calls:
        body = {"json": {"description": "x"}} if method == "PATCH" else {}
        headers = account.headers if account else {}
        response = client.request(method, API + path, headers=headers, **body)
        if problem := refusal_problem(response, status, *words):
            problems[f"{method} {path}"] = problem
    assert_no_problems(problems)


def assert_no_problems(problems: dict[str, str]) -> None:
    """Fail with one line per case that went wrong."""
    assert not problems, "\n".join(f"{case}: {problem}" for case, problem in problems.items())


def post_files(
    client: AppClient, account: Account, project: int, *files: tuple[str, bytes], **form: str
) -> httpx.Response:
    return client.post(
        f"{API}/projects/{project}/images",
        files=[
            ("files", (name, io.BytesIO(data), "application/octet-stream")) for name, data in files
        ],
        data=form,
        headers=account.headers,
    )


def count(client: AppClient, account: Account, path: str) -> int:
    """The ``count`` of a listing."""
    response = client.get(f"{API}{path}", headers=account.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["count"])


def stored_files(client: AppClient) -> list[Path]:
    """Every file in the local blob store, temporary ones included."""
    root: Path = client.app.state.platform.store.root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def images_of(client: AppClient, owner: Account) -> Callable[[int], int]:
    """How many images a project holds."""
    return lambda project: count(client, owner, f"/projects/{project}/images")


# Uploads


def test_non_image_file_is_refused_by_name(client, owner, project_id, images_of) -> None:
    response = post_files(client, owner, project_id, ("notes.txt", b"a field note, not a photo\n"))
    refused(response, 415, "notes.txt")
    assert images_of(project_id) == 0
    assert stored_files(client) == []


def test_truncated_jpeg_is_refused_by_name(client, owner, project_id, jpeg, images_of) -> None:
    data = jpeg(1)
    response = post_files(client, owner, project_id, ("half.jpg", data[: len(data) // 2]))
    refused(response, 415, "half.jpg")
    assert images_of(project_id) == 0
    assert stored_files(client) == []


def test_one_bad_file_is_refused_alone(client, owner, project_id, jpeg, images_of) -> None:
    response = post_files(
        client, owner, project_id, ("good.jpg", jpeg(2)), ("broken.jpg", b"\xff\xd8\xff garbage")
    )
    assert response.status_code == 201
    good, broken = response.json()["results"]
    assert good["status"] == "created"
    assert (broken["status"], broken["code"]) == ("refused", "unsupported_media_type")
    assert "broken.jpg" in broken["reason"]
    assert images_of(project_id) == 1
    # The lone bad file of a request is its error, and leaves nothing behind.
    alone = post_files(client, owner, project_id, ("broken.jpg", b"\xff\xd8\xff garbage"))
    refused(alone, 415, "broken.jpg")
    assert images_of(project_id) == 1


def test_file_over_the_size_limit_is_refused_by_name(
    client, owner, project_id, jpeg, images_of
) -> None:
    head = jpeg(3)
    big = head + b"\0" * (MAX_UPLOAD_BYTES + 1 - len(head))
    response = post_files(client, owner, project_id, ("small.jpg", jpeg(4)), ("big.jpg", big))
    assert response.status_code == 201
    small, refused_big = response.json()["results"]
    assert small["status"] == "created"
    assert refused_big["status"] == "refused"
    assert "big.jpg" in refused_big["reason"]
    assert str(MAX_UPLOAD_BYTES) in refused_big["reason"]
    alone = post_files(client, owner, project_id, ("big.jpg", big))
    refused(alone, 413, "big.jpg", str(MAX_UPLOAD_BYTES))
    assert images_of(project_id) == 1
    root = client.app.state.platform.store.root
    assert len([f for f in stored_files(client) if f.relative_to(root).parts[0] == "images"]) == 1


def test_request_over_the_body_limit_is_refused(client, owner, project_id, images_of) -> None:
    response = post_files(client, owner, project_id, ("huge.jpg", b"\0" * (MAX_REQUEST_BYTES + 1)))
    refused(response, 413, "limit")
    assert images_of(project_id) == 0
    assert stored_files(client) == []


def test_streamed_request_over_the_body_limit_is_refused(
    client, owner, project_id, images_of
) -> None:
    # No Content-Length: the limit must hold while the body streams in.
    boundary = "trapline-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="s.jpg"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(MAX_REQUEST_BYTES // MiB + 1):
            yield b"\0" * MiB
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        f"{API}/projects/{project_id}/images",
        content=body(),
        headers={**owner.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    refused(response, 413, "limit")
    assert images_of(project_id) == 0
    assert stored_files(client) == []


def test_upload_without_files(client, owner, project_id, images_of) -> None:
    response = client.post(
        f"{API}/projects/{project_id}/images", data={"deployment_id": ""}, headers=owner.headers
    )
    refused(response, 400, "files")
    assert images_of(project_id) == 0


def test_upload_into_a_deployment_of_another_project(
    client, owner, project_id, jpeg, images_of
) -> None:
    other = client.post(f"{API}/projects", json={"name": "Other"}, headers=owner.headers).json()
    foreign = client.post(
        f"{API}/projects/{other['id']}/deployments", json={"name": "Far"}, headers=owner.headers
    ).json()
    response = post_files(
        client, owner, project_id, ("a.jpg", jpeg(5)), deployment_id=str(foreign["id"])
    )
    refused(response, 400, "deployment", str(foreign["id"]))
    assert images_of(project_id) == 0
    assert images_of(other["id"]) == 0


def test_upload_with_a_deployment_id_that_is_not_a_number(
    client, owner, project_id, jpeg, images_of
) -> None:
    response = post_files(client, owner, project_id, ("a.jpg", jpeg(6)), deployment_id="trap-a")
    refused(response, 400, "deployment_id")
    assert images_of(project_id) == 0


# JSON bodies


def test_malformed_json(client, owner, project_id) -> None:
    response = client.post(
        f"{API}/projects",
        content=b'{"name": "Half',
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    refused(response, 400, "JSON")
    assert count(client, owner, "/projects") == 1


#: (case, where to POST, the body, a word the detail must hold)
BAD_BODIES = [
    ("project-name-number", "/projects", {"name": 123}, "name"),
    ("project-body-list", "/projects", ["Moths"], "body"),
    ("project-extra", "/projects", {"name": "X", "colour": "red"}, "colour"),
    ("project-missing-name", "/projects", {}, "name"),
    (
        "deployment-latitude-text",
        "/projects/{p}/deployments",
        {"name": "T", "latitude": "north"},
        "latitude",
    ),
    (
        "deployment-started-at-text",
        "/projects/{p}/deployments",
        {"name": "T", "started_at": "last tuesday"},
        "started_at",
    ),
    ("deployment-extra", "/projects/{p}/deployments", {"name": "T", "altitude": 120}, "altitude"),
    ("deployment-missing-name", "/projects/{p}/deployments", {"latitude": 45.5}, "name"),
    (
        "deployment-latitude-91",
        "/projects/{p}/deployments",
        {"name": "T", "latitude": 91},
        "latitude",
    ),
    (
        "deployment-longitude-minus-181",
        "/projects/{p}/deployments",
        {"name": "T", "longitude": -181},
        "longitude",
    ),
    (
        "deployment-ends-before-start",
        "/projects/{p}/deployments",
        {"name": "T", "started_at": "2024-06-02T21:00:00", "ended_at": "2024-06-01T05:00:00"},
        "ended_at",
    ),
    (
        "deployment-ends-before-start-mixed-offsets",
        "/projects/{p}/deployments",
        {"name": "T", "started_at": "2024-06-02T21:00:00+02:00", "ended_at": "2024-05-01T05:00"},
        "ended_at",
    ),
    (
        "collection-ids-text",
        "/projects/{p}/collections",
        {"name": "C", "image_ids": "all"},
        "image_ids",
    ),
    ("collection-missing-name", "/projects/{p}/collections", {"image_ids": []}, "name"),
    (
        "member-unknown-role",
        "/projects/{p}/members",
        {"email": "olive@example.org", "role": "boss"},
        "role",
    ),
    ("member-missing-role", "/projects/{p}/members", {"email": "olive@example.org"}, "role"),
    (
        "member-bad-email",
        "/projects/{p}/members",
        {"email": "not-an-email", "role": "viewer"},
        "email",
    ),
    ("token-name-list", "/tokens", {"name": ["laptop"]}, "name"),
]


def test_bad_bodies_are_refused_and_create_nothing(lenient, owner, project_id) -> None:
    problems = {}
    for case, path, payload, word in BAD_BODIES:
        listing = path.format(p=project_id)
        before = count(lenient, owner, listing)
        response = lenient.post(API + listing, json=payload, headers=owner.headers)
        problem = refusal_problem(response, 400, word)
        if count(lenient, owner, listing) != before:
            problem = f"{problem or 'refused'}; yet something was created"
        if problem:
            problems[case] = problem
    assert_no_problems(problems)


def test_user_with_a_bad_email(client, admin) -> None:
    response = client.post(f"{API}/users", json={"email": "ann at home"}, headers=admin.headers)
    refused(response, 400, "email")


@pytest.fixture
def deployment(client: AppClient, owner: Account, project_id: int) -> dict[str, Any]:
    response = client.post(
        f"{API}/projects/{project_id}/deployments",
        json={
            "name": "Trap A",
            "latitude": 45.5,
            "longitude": -73.6,
            "started_at": "2024-06-01T21:00:00",
        },
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_bad_patches_are_refused_and_change_nothing(lenient, owner, project_id, deployment) -> None:
    urls = {
        "deployment": f"{API}/deployments/{deployment['id']}",
        "project": f"{API}/projects/{project_id}",
    }
    patches = [
        ("deployment", {"latitude": 91}, "latitude"),
        ("deployment", {"longitude": -181}, "longitude"),
        ("deployment", {"name": None}, "name"),
        ("deployment", {"name": ""}, "name"),
        ("deployment", {"ended_at": "2024-05-01T00:00:00"}, "ended_at"),  # before started_at
        ("deployment", {"ended_at": "2024-05-01T00:00:00+02:00"}, "ended_at"),
        ("deployment", {"project_id": 7}, "project_id"),
        ("project", {"name": None}, "name"),
        ("project", {"description": None}, "description"),
        ("project", {"name": 42}, "name"),
        ("project", {"nmae": "typo"}, "nmae"),
    ]
    problems = {}
    for target, change, word in patches:
        url = urls[target]
        before = lenient.get(url, headers=owner.headers).json()
        response = lenient.patch(url, json=change, headers=owner.headers)
        problem = refusal_problem(response, 400, word)
        if lenient.get(url, headers=owner.headers).json() != before:
            problem = f"{problem or 'refused'}; yet the {target} changed"
        if problem:
            problems[f"PATCH {target} {change}"] = problem
    assert_no_problems(problems)


# Unknown and malformed ids


def test_unknown_ids_are_not_found(lenient, owner) -> None:
    calls = [
        ("GET", "/projects/{id}"),
        ("PATCH", "/projects/{id}"),
        ("GET", "/projects/{id}/images"),
        ("GET", "/projects/{id}/deployments"),
        ("GET", "/images/{id}"),
        ("DELETE", "/images/{id}"),
        ("GET", "/images/{id}/thumbnail"),
        ("GET", "/deployments/{id}"),
        ("PATCH", "/deployments/{id}"),
        ("GET", "/collections/{id}"),
        ("GET", "/collections/{id}/images"),
        ("DELETE", "/tokens/{id}"),
    ]
    calls = [(method, path.format(id=UNKNOWN_ID)) for method, path in calls]
    all_refused(lenient, owner, calls, 404, str(UNKNOWN_ID))


def test_member_not_in_the_project_is_not_found(client, owner, project_id, make_account) -> None:
    stranger = make_account("stan")
    response = client.delete(
        f"{API}/projects/{project_id}/members/{stranger.id}", headers=owner.headers
    )
    refused(response, 404, str(stranger.id))


def test_malformed_path_ids_are_json_errors(lenient, owner) -> None:
    """An id that is no id, or one too big for the database, is a 400 or a 404."""
    paths = [
        "/images/abc",
        "/projects/abc",
        "/deployments/1.5",
        "/collections/abc/images",
        "/images/-1",
        "/images/99999999999999999999",
        "/projects/99999999999999999999/images",
        "/collections/99999999999999999999",
    ]
    all_refused(lenient, owner, [("GET", path) for path in paths], (400, 404))


# Query parameters


def test_bad_limit_and_offset(lenient, owner, project_id) -> None:
    lists = ["/projects", f"/projects/{project_id}/images", f"/projects/{project_id}/collections"]
    limits = [f"{path}?limit={value}" for path in lists for value in ("-1", "0", "5000", "ten")]
    all_refused(lenient, owner, [("GET", path) for path in limits], 400, "limit")
    offsets = [f"{path}?offset={value}" for path in lists for value in ("-1", "x")]
    all_refused(lenient, owner, [("GET", path) for path in offsets], 400, "offset")
    # Listings that page by cursor skip at most 10,000 by offset (a database walks past each).
    deep = [f"/projects/{project_id}/{kind}?offset=10001" for kind in ("images", "annotations")]
    # So do a deployment's events and an event's occurrences: the project's listings page them.
    deep += ["/deployments/1/events?offset=10001", "/events/1/occurrences?offset=10001"]
    all_refused(lenient, owner, [("GET", path) for path in deep], 400, "offset")


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_bad_cursors(lenient, owner, project_id, jpeg) -> None:
    post_files(lenient, owner, project_id, ("a.jpg", jpeg(7)))
    cursors = [
        "not a cursor!",
        _cursor("hello"),  # not JSON
        _cursor("[1]"),  # too short
        _cursor('{"a":1,"b":2,"c":3}'),
        _cursor('["last tuesday",1,0]'),
        _cursor('[null,"one",0]'),
        _cursor("[null,1e400,0]"),  # an infinite id
        _cursor("[null,99999999999999999999,0]"),  # an id too big for the database
    ]
    everything = lenient.post(
        f"{API}/projects/{project_id}/collections",
        json={"name": "All", "filter": {}},
        headers=owner.headers,
    ).json()
    lists = [f"/projects/{project_id}/images", f"/collections/{everything['id']}/images"]
    calls = [("GET", f"{path}?cursor={cursor}") for path in lists for cursor in cursors]
    all_refused(lenient, owner, calls, 400, "cursor")


def test_bad_query_values(lenient, owner, project_id, jpeg) -> None:
    image = post_files(lenient, owner, project_id, ("t.jpg", jpeg(8))).json()["results"][0]
    images = f"/projects/{project_id}/images"
    cases = [
        (f"{images}?ordering=size", "ordering", "size"),
        (f"{images}?captured_after=yesterday", "captured_after"),
        (f"{images}?deployment=trap-a", "deployment"),
        (f"/images/{image['id']}/thumbnail?size=77", "size", "256"),
        (f"/images/{image['id']}/thumbnail?size=abc", "size"),
    ]
    problems = {}
    for path, *words in cases:
        response = lenient.get(API + path, headers=owner.headers)
        if problem := refusal_problem(response, 400, *words):
            problems[path] = problem
    assert_no_problems(problems)


# Signed links


@pytest.fixture
def download(client: AppClient, owner: Account, project_id: int, jpeg) -> dict[str, Any]:
    """A real image's download link, its key and its query."""
    image = post_files(client, owner, project_id, ("d.jpg", jpeg(9))).json()["results"][0]
    location = client.get(
        f"{API}/images/{image['id']}/download", headers=owner.headers, follow_redirects=False
    ).headers["location"]
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert client.get(location).status_code == 200
    return {"path": parts.path, "key": parts.path.removeprefix(f"{API}/blobs/"), "query": query}


def test_edited_expired_or_unsigned_links_are_forbidden(lenient, settings, download) -> None:
    path, query = download["path"], download["query"]
    sig = query["sig"]
    store = lenient.app.state.platform.store
    an_hour_ago = LocalBlobStore(
        store.root,
        settings.security.resolved_secret_key(settings.server.data_dir),
        clock=lambda: time.time() - 3600,
    )
    links = {
        "one character of sig changed": (
            f"{path}?{urlencode({**query, 'sig': sig[:-1] + ('1' if sig[-1] == '0' else '0')})}",
            "signature",
        ),
        "expires moved a day later": (
            f"{path}?{urlencode({**query, 'expires': int(query['expires']) + 86_400})}",
            "signature",
        ),
        "signed an hour ago for a minute": (
            an_hour_ago.signed_url(download["key"], expires_in=60),
            "expired",
        ),
        "no signature": (path, "signature"),
    }
    problems = {}
    for case, (link, word) in links.items():
        if problem := refusal_problem(lenient.get(link), 403, word):
            problems[case] = problem
    assert_no_problems(problems)


# Collections and members


def test_collection_needs_exactly_one_of_ids_or_filter(client, owner, project_id, jpeg) -> None:
    image = post_files(client, owner, project_id, ("c.jpg", jpeg(10))).json()["results"][0]
    url = f"{API}/projects/{project_id}/collections"
    both = {"name": "C", "image_ids": [image["id"]], "filter": {}}
    refused(client.post(url, json=both, headers=owner.headers), 400, "image_ids", "filter")
    refused(client.post(url, json={"name": "C"}, headers=owner.headers), 400, "image_ids")
    assert count(client, owner, f"/projects/{project_id}/collections") == 0


def test_collection_of_images_from_another_project(client, owner, project_id, jpeg) -> None:
    mine = post_files(client, owner, project_id, ("m.jpg", jpeg(11))).json()["results"][0]["id"]
    other = client.post(f"{API}/projects", json={"name": "Other"}, headers=owner.headers).json()
    theirs = post_files(client, owner, other["id"], ("t.jpg", jpeg(12))).json()["results"][0]["id"]
    response = client.post(
        f"{API}/projects/{project_id}/collections",
        json={"name": "C", "image_ids": [mine, theirs, UNKNOWN_ID]},
        headers=owner.headers,
    )
    refused(response, 400, str(theirs), str(UNKNOWN_ID))
    assert count(client, owner, f"/projects/{project_id}/collections") == 0


def test_collection_filter_on_a_deployment_of_another_project(client, owner, project_id) -> None:
    other = client.post(f"{API}/projects", json={"name": "Other"}, headers=owner.headers).json()
    foreign = client.post(
        f"{API}/projects/{other['id']}/deployments", json={"name": "Far"}, headers=owner.headers
    ).json()
    response = client.post(
        f"{API}/projects/{project_id}/collections",
        json={"name": "C", "filter": {"deployment_id": foreign["id"]}},
        headers=owner.headers,
    )
    refused(response, 400, str(foreign["id"]))
    assert count(client, owner, f"/projects/{project_id}/collections") == 0


def test_member_with_unknown_email(client, owner, project_id) -> None:
    response = client.post(
        f"{API}/projects/{project_id}/members",
        json={"email": "nobody@example.org", "role": "viewer"},
        headers=owner.headers,
    )
    refused(response, 404, "nobody@example.org")  # a valid body naming nobody
    assert count(client, owner, f"/projects/{project_id}/members") == 1


def test_the_last_owner_stays(client, owner, project_id) -> None:
    members = f"{API}/projects/{project_id}/members"
    removed = client.delete(f"{members}/{owner.id}", headers=owner.headers)
    refused(removed, 409, "owner")
    demoted = client.post(
        members, json={"email": owner.email, "role": "manager"}, headers=owner.headers
    )
    refused(demoted, 409, "owner")
    listed = client.get(members, headers=owner.headers).json()["results"]
    assert [(m["user_id"], m["role"]) for m in listed] == [(owner.id, "owner")]


# Conventions every answer follows


def test_trailing_slash_is_served_without_redirect(client, owner, project_id) -> None:
    for slash in ("", "/"):
        listing = client.get(
            f"{API}/projects{slash}", headers=owner.headers, follow_redirects=False
        )
        assert listing.status_code == 200, slash
        assert project_id in [p["id"] for p in listing.json()["results"]]
        one = client.get(
            f"{API}/projects/{project_id}{slash}", headers=owner.headers, follow_redirects=False
        )
        assert one.status_code == 200, slash
        assert one.json()["id"] == project_id
        made = client.post(
            f"{API}/projects{slash}",
            json={"name": f"Made with {slash!r}"},
            headers=owner.headers,
            follow_redirects=False,
        )
        assert made.status_code == 201, made.text
    assert count(client, owner, "/projects") == 3


def test_request_id_is_echoed_or_made(client, owner) -> None:
    given = client.get(f"{API}/users/me", headers={**owner.headers, "X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = [client.get(f"{API}/users/me", headers=owner.headers) for _ in range(2)]
    ids = [r.headers.get("x-request-id") for r in made]
    assert all(ids)
    assert ids[0] != ids[1]
    refused_answer = client.get(f"{API}/projects/{UNKNOWN_ID}", headers=owner.headers)
    assert refused_answer.headers.get("x-request-id")
    # A value that does not look like an id is replaced, so it cannot pollute the logs.
    odd = client.get(f"{API}/users/me", headers={**owner.headers, "X-Request-ID": "a b; c"})
    assert odd.headers["x-request-id"] not in ("", "a b; c")


def test_unknown_routes_are_json_not_found(lenient, owner) -> None:
    calls = [("GET", path) for path in ("/nothing-here", "/nothing-here/", "/projects/1/nothing")]
    all_refused(lenient, owner, calls, 404)
    all_refused(lenient, None, calls, 404)
    refused(lenient.get("/nope"), 404)


def test_unexpected_error_is_json_and_names_the_request_id(lenient) -> None:
    def crash() -> None:
        raise RuntimeError("a bug")

    lenient.app.add_api_route(f"{API}/crash-for-test", crash)
    response = lenient.get(f"{API}/crash-for-test", headers={"X-Request-ID": "crash-1"})
    refused(response, 500, "crash-1")
    assert response.headers.get("x-request-id") == "crash-1"

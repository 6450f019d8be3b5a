"""Tenants stay apart: ids are never reused, what a process remembers of access is forgotten
when it changes, claims and results are checked against the caller's projects, and service
accounts act only as workers of their own projects.

Each test is written as an attacker with an ordinary account (or a worker's token) would try.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from tests.support.refusals import answered_as_missing
from trapline.db.engine import Database
from trapline.db.ids import reserve_ids
from trapline.db.tables import AnalysisRow, AnnotationRow
from trapline.logs import TextFormatter
from trapline.settings import Settings

API = "/api/v2"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Workers' access remembered for as long as the setting allows, as a busy server does."""
    return settings.updated(access_cache_seconds=300.0)


def _project(client: AppClient, account: Account, name: str) -> Protocol:
    made = client.post(f"{API}/projects/", json={"name": name}, headers=account.headers)
    assert made.status_code == 201, made.text
    return Protocol(client, account, int(made.json()["id"]), _jpeg)


def _jpeg(seed: int = 0, **kwargs: Any) -> bytes:
    from trapline.imaging.synthetic import light_trap_jpeg

    return light_trap_jpeg(seed, **kwargs)


def _registered(client: AppClient, account: Account, name: str) -> Protocol:
    proto = _project(client, account, name)
    response = proto.register(pipeline_config())
    assert response.status_code == 201, response.text
    return proto


# Ids are never handed out twice.


def test_a_deleted_objects_id_is_never_handed_out_again(
    client: AppClient, owner: Account, make_account: Callable[..., Account]
) -> None:
    other = make_account("oscar")
    first = _registered(client, owner, "A")
    first.images(1)
    job = first.job_that_runs()["id"]
    image = first.images(1)[0]
    token = client.post(f"{API}/tokens/", json={"name": "spare"}, headers=owner.headers).json()
    seen = {"project": first.project_id, "job": job, "image": image, "token": token["id"]}

    assert client.delete(f"{API}/jobs/{job}/", headers=owner.headers).status_code == 204
    assert client.delete(f"{API}/images/{image}/", headers=owner.headers).status_code == 204
    assert client.delete(f"{API}/tokens/{token['id']}", headers=owner.headers).status_code == 204
    gone = client.delete(f"{API}/projects/{first.project_id}/", headers=owner.headers)
    assert gone.status_code == 204

    # Made again, by someone else, in another project: every id is above the old ones.
    second = _registered(client, other, "B")
    image_again = second.images(1)[0]
    job_again = second.job_that_runs()["id"]
    token_again = client.post(f"{API}/tokens/", json={"name": "x"}, headers=other.headers)
    made = {
        "project": second.project_id,
        "job": job_again,
        "image": image_again,
        "token": token_again.json()["id"],
    }
    for kind, old in seen.items():
        assert made[kind] > old, f"{kind} {old} was handed out again as {made[kind]}"


def test_reserved_ids_are_never_handed_out_again(app_db: Database) -> None:
    """Ids reserved for bulk inserts (results) move the table's numbering on for good."""
    with app_db.write() as repos:
        first, _ = reserve_ids(
            repos.session, (AnalysisRow.__table__, 3), (AnnotationRow.__table__, 1)
        )  # type: ignore[arg-type]
    with app_db.write() as repos:
        second, _ = reserve_ids(
            repos.session, (AnalysisRow.__table__, 2), (AnnotationRow.__table__, 1)
        )  # type: ignore[arg-type]
    assert min(second) > max(first), (first, second)


# The access a process remembers is forgotten when it changes.


def test_a_deleted_job_is_not_served_to_its_old_workers_even_remembered(
    client: AppClient, owner: Account, make_account: Callable[..., Account]
) -> None:
    """The issue's scenario: project A's worker was serving job J when J was deleted; a job
    then made in project B must never reach A's worker, under J's id or any other."""
    stranger = make_account("mallory")
    ours = _registered(client, owner, "A")
    ours.images(2)
    job = ours.job_that_runs()["id"]
    assert len(ours.claim(job, 1)) == 1  # the worker's access to J is now remembered

    assert client.delete(f"{API}/jobs/{job}/", headers=owner.headers).status_code == 204
    theirs = _registered(client, stranger, "B")
    theirs.images(2)
    their_job = theirs.job_that_runs()["id"]

    assert their_job != job
    for target in (job, their_job):
        refused = ours.claim_response(target, {"batch_size": 10})
        assert refused.status_code == 404, refused.text
        assert ours.post_response(target).status_code == 404
    assert [t["status"] for t in theirs.tasks(their_job)["results"]] == ["queued", "queued"]


@pytest.mark.parametrize("change", ["delete project", "remove member", "lower role", "cancel"])
def test_a_change_of_access_applies_at_once_to_a_remembered_worker(
    client: AppClient, owner: Account, make_account: Callable[..., Account], change: str
) -> None:
    worker = make_account("walter")
    ours = _registered(client, owner, "A")
    ours.add_member(worker, "member")
    ours.images(3)
    job = ours.job_that_runs()["id"]
    as_worker = ours.as_(worker)
    assert len(as_worker.claim(job, 1)) == 1  # remembered from here on

    project = ours.project_id
    if change == "delete project":
        done = client.delete(f"{API}/projects/{project}/", headers=owner.headers)
    elif change == "remove member":
        done = client.delete(f"{API}/projects/{project}/members/{worker.id}", headers=owner.headers)
    elif change == "lower role":
        done = client.post(
            f"{API}/projects/{project}/members",
            json={"email": worker.email, "role": "viewer"},
            headers=owner.headers,
        )
    else:
        done = client.post(f"{API}/jobs/{job}/cancel", headers=owner.headers)
    assert done.status_code in (200, 204), done.text

    answer = as_worker.claim_response(job, {"batch_size": 10})
    if change == "cancel":  # still the worker's job: nothing to hand out
        assert (answer.status_code, answer.json()["tasks"]) == (200, []), answer.text
    else:
        assert answer.status_code in (403, 404), answer.text


# Claims and results are checked against the caller's projects.


def test_a_lease_token_of_another_projects_task_is_rejected_on_any_job_path(
    client: AppClient, owner: Account, make_account: Callable[..., Account]
) -> None:
    """A's worker holds a valid lease token of B's task (a B member handed it over): posted
    to A's job or to B's job, the result is rejected and stored nowhere."""
    stranger = make_account("mallory")
    ours = _registered(client, owner, "A")
    ours.images(1)
    our_job = ours.job_that_runs()["id"]
    theirs = _registered(client, stranger, "B")
    theirs.images(1)
    their_job = theirs.job_that_runs()["id"]
    (their_task,) = theirs.claim(their_job, 1)
    item = success(their_task, detection(their_task))

    on_ours = ours.post_response(our_job, item)
    assert on_ours.status_code == 200, on_ours.text
    assert [t["status"] for t in on_ours.json()["tasks"]] == ["rejected"]
    on_theirs = ours.post_response(their_job, item)
    assert on_theirs.status_code == 404, on_theirs.text

    assert [t["status"] for t in theirs.tasks(their_job)["results"]] == ["leased"]
    assert theirs.image(int(their_task["image_id"]))["analyses"] == []


# Membership: managers add people; service accounts work only for their own projects.


def _service_token(client: AppClient, manager: Account, project_id: int) -> Account:
    made = client.post(
        f"{API}/projects/{project_id}/service-tokens",
        json={"name": "farm"},
        headers=manager.headers,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    users = client.get(f"{API}/projects/{project_id}/members", headers=manager.headers).json()
    (email,) = [m["email"] for m in users["results"] if m["user_id"] == body["user_id"]]
    return Account(body["user_id"], email, body["token"])


def test_a_manager_cannot_add_another_projects_service_account_nor_tell_it_from_nobody(
    client: AppClient, owner: Account, make_account: Callable[..., Account]
) -> None:
    stranger = make_account("mallory")
    theirs = _registered(client, stranger, "B")
    their_service = _service_token(client, stranger, theirs.project_id)
    ours = _registered(client, owner, "A")
    ours.images(1)
    job = ours.job_that_runs()["id"]

    def add(email: str) -> Any:
        return client.post(
            f"{API}/projects/{ours.project_id}/members",
            json={"email": email, "role": "viewer"},
            headers=owner.headers,
        )

    service = add(their_service.email)
    nobody = add("nobody-at-all@example.org")
    assert service.status_code == nobody.status_code == 404, service.text
    # Word for word, but for the address the caller sent.
    assert service.text.replace(their_service.email, "#") == nobody.text.replace(
        "nobody-at-all@example.org", "#"
    )
    # So their worker never sees our tasks.
    claimed = client.post(
        f"{API}/jobs/{job}/tasks/", json={"batch_size": 5}, headers=their_service.headers
    )
    assert claimed.status_code == 404, claimed.text
    assert [t["status"] for t in ours.tasks(job)["results"]] == ["queued"]


def test_a_manager_granting_owner_learns_nothing_of_who_exists(
    client: AppClient, owner: Account, make_account: Callable[..., Account]
) -> None:
    """A manager may not make owners: the refusal is the same for a person and for nobody,
    and it adds nobody."""
    manager = make_account("manny")
    someone = make_account("sam")
    ours = _project(client, owner, "A")
    ours.add_member(manager, "manager")

    def grant_owner(email: str) -> Any:
        return client.post(
            f"{API}/projects/{ours.project_id}/members",
            json={"email": email, "role": "owner"},
            headers=manager.headers,
        )

    person, nobody = grant_owner(someone.email), grant_owner("nobody-at-all@example.org")
    assert person.status_code == nobody.status_code == 403, person.text
    assert person.text == nobody.text
    members = client.get(f"{API}/projects/{ours.project_id}/members", headers=owner.headers)
    assert someone.id not in [m["user_id"] for m in members.json()["results"]]


def test_an_admin_may_add_a_service_account_as_a_viewer_only(
    client: AppClient, owner: Account, admin: Account
) -> None:
    theirs = _project(client, owner, "B")
    service = _service_token(client, owner, theirs.project_id)
    ours = _project(client, owner, "A")
    path = f"{API}/projects/{ours.project_id}/members"
    as_manager = client.post(
        path, json={"email": service.email, "role": "viewer"}, headers=owner.headers
    )
    assert as_manager.status_code == 404, as_manager.text  # told as an email naming nobody
    too_high = client.post(
        path, json={"email": service.email, "role": "member"}, headers=admin.headers
    )
    assert too_high.status_code == 409, too_high.text
    added = client.post(
        path, json={"email": service.email, "role": "viewer"}, headers=admin.headers
    )
    assert added.status_code == 201, added.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/projects", {"name": "Mine now"}),
        ("POST", "/tokens", {"name": "another"}),
        ("GET", "/tokens", None),
        ("POST", "/users", {"email": "new@example.org"}),
        ("POST", "/projects/{project}/service-tokens", {"name": "more"}),
        ("GET", "/projects/{project}/members", None),
        ("GET", "/projects/{project}/images", None),
    ],
)
def test_a_service_token_does_nothing_but_work(
    client: AppClient, owner: Account, method: str, path: str, body: dict[str, Any] | None
) -> None:
    ours = _project(client, owner, "A")
    service = _service_token(client, owner, ours.project_id)
    before = client.get(f"{API}/projects/?limit=1000", headers=owner.headers).json()["count"]

    answer = client.request(
        method, API + path.format(project=ours.project_id), json=body, headers=service.headers
    )

    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "permission_denied"
    assert "service account" in answer.json()["detail"]
    assert (
        client.get(f"{API}/projects/?limit=1000", headers=owner.headers).json()["count"] == before
    )
    tokens = client.get(f"{API}/tokens", headers=owner.headers).json()["count"]
    assert tokens == 1


def test_adding_a_person_gives_the_adder_no_power_over_them(
    client: AppClient, owner: Account, make_account: Callable[..., Account]
) -> None:
    """A manager who adds someone cannot act as them or reach what else is theirs."""
    person = make_account("petra")
    their_own = _project(client, person, "Petra's own")
    their_token = client.post(f"{API}/tokens", json={"name": "x"}, headers=person.headers).json()
    ours = _project(client, owner, "A")
    ours.add_member(person, "viewer")

    seen = client.get(f"{API}/projects/{their_own.project_id}", headers=owner.headers)
    missing = client.get(f"{API}/projects/{their_own.project_id + 10**9}", headers=owner.headers)
    assert seen.status_code == 404
    assert answered_as_missing(seen, missing, their_own.project_id, their_own.project_id + 10**9)
    revoked = client.delete(f"{API}/tokens/{their_token['id']}", headers=owner.headers)
    assert revoked.status_code == 404
    members = client.get(f"{API}/projects/{their_own.project_id}/members", headers=owner.headers)
    assert members.status_code == 404
    me = Account(person.id, person.email, their_token["token"])
    assert client.get(f"{API}/users/me", headers=me.headers).status_code == 200


# Smaller leaks.


def test_links_are_never_built_from_the_host_header(client: AppClient, owner: Account) -> None:
    """With no public URL set, task image links and download redirects name the server's own
    address, whatever Host a caller sends."""
    ours = _registered(client, owner, "A")
    image = ours.images(1)[0]
    job = ours.job_that_runs()["id"]
    evil = {**owner.headers, "Host": "evil.example"}

    claimed = client.post(f"{API}/jobs/{job}/tasks/", json={"batch_size": 1}, headers=evil)
    download = client.get(f"{API}/images/{image}/download", headers=evil, follow_redirects=False)

    assert claimed.status_code == 200, claimed.text
    (task,) = claimed.json()["tasks"]
    assert task["image_url"].startswith("http://127.0.0.1:8000/"), task["image_url"]
    assert download.status_code == 307, download.text
    assert "evil.example" not in download.headers["location"]
    assert download.headers["location"].startswith("http://127.0.0.1:8000/")


def test_list_links_are_never_built_from_the_host_header(client: AppClient, owner: Account) -> None:
    """``next``/``previous`` of offset and cursor listings name the server's own address: a
    client following them sends its token there."""
    ours = _project(client, owner, "A")
    ours.images(3)
    evil = {**owner.headers, "Host": "evil.example"}
    listings = f"{API}/projects/{ours.project_id}/images"

    by_cursor = client.get(f"{listings}?limit=1", headers=evil).json()
    by_offset = client.get(f"{listings}?limit=1&offset=1", headers=evil).json()
    projects = client.get(f"{API}/projects?limit=1", headers=evil)

    links = [by_cursor["next"], by_offset["next"], by_offset["previous"]]
    assert all(link and link.startswith("http://127.0.0.1:8000/api/v2/") for link in links), links
    assert "evil.example" not in projects.text


def test_a_made_up_cursor_is_refused_not_a_crash(client: AppClient, owner: Account) -> None:
    """A cursor whose id is ``true`` (an int to Python) or whose sort key is no date-time."""
    ours = _project(client, owner, "A")
    ours.images(1)
    for made_up in ('["2022-06-22T00:04:59",true,0]', "[5,1,0]", "[null,1.5,0]"):
        cursor = base64.urlsafe_b64encode(made_up.encode()).decode().rstrip("=")
        for ordering in ("captured_at", "-captured_at"):
            answer = client.get(
                f"{API}/projects/{ours.project_id}/images",
                params={"cursor": cursor, "ordering": ordering},
                headers=owner.headers,
            )
            assert answer.status_code == 400, (made_up, answer.text)
            assert "cursor is not valid" in answer.json()["detail"]


def test_a_path_with_encoded_line_breaks_writes_one_log_line(
    client: AppClient, owner: Account
) -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(TextFormatter())
    access = logging.getLogger("trapline.access")
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        client.get(f"{API}/x%0aFAKE 200%0d%1b[2J%e2%80%a8", headers=owner.headers)
    finally:
        access.removeHandler(handler)
        access.setLevel(level)

    written = lines.getvalue()
    assert written.count("\n") == 1, written
    assert "\r" not in written
    assert "\x1b" not in written
    assert "\u2028" not in written
    assert "/x\\nFAKE 200\\r\\x1b[2J\\u2028" in written, written

"""The pull-source API: records, clear 400s, sealed credentials, access, run now."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.refusals import answered_as_missing
from tests.support.sources import create_source, wait_run
from trapline.app import create_app
from trapline.db.engine import Database
from trapline.imaging.synthetic import light_trap_jpeg
from trapline.platform import Platform
from trapline.settings import Settings


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "station" / "trap-1"
    path.mkdir(parents=True)
    for n in range(2):
        (path / f"2024062122{n:02d}00.jpg").write_bytes(light_trap_jpeg(n, width=96, height=64))
    return path


def test_a_local_source_runs_now_and_its_run_is_listed(
    client: AppClient, owner: Account, project_id: int, folder: Path
) -> None:
    made = create_source(client, owner, project_id, name="trap 1", kind="local", url=str(folder))
    assert made.status_code == 201, made.text
    source = made.json()
    assert source["include"][:2] == ["*.jpg", "*.jpeg"]
    assert source["schedule"] == "0 * * * *"
    assert source["max_files"] == 1000
    assert source["credentials"] == {}
    assert source["next_run_at"].endswith(":00:00Z") or "+00:00" in source["next_run_at"]

    started = client.post(f"/api/v2/sources/{source['id']}/run", headers=owner.headers)
    assert started.status_code == 202, started.text
    run = wait_run(client, owner, source["id"], started.json()["id"])
    assert run["status"] == "succeeded", run
    assert (run["listed"], run["new"], run["imported"], run["failed"]) == (2, 2, 2, 0)
    assert run["trigger"] == "manual"

    runs = client.get(f"/api/v2/sources/{source['id']}/runs", headers=owner.headers).json()
    assert runs["count"] == 1
    images = client.get(f"/api/v2/projects/{project_id}/images", headers=owner.headers).json()
    assert images["count"] == 2
    failures = client.get(
        f"/api/v2/sources/{source['id']}/runs/{run['id']}/failures", headers=owner.headers
    ).json()
    assert failures["count"] == 0

    gone = client.delete(f"/api/v2/sources/{source['id']}", headers=owner.headers)
    assert gone.status_code == 204
    assert client.get(f"/api/v2/sources/{source['id']}", headers=owner.headers).status_code == 404
    images = client.get(f"/api/v2/projects/{project_id}/images", headers=owner.headers).json()
    assert images["count"] == 2  # a source's images stay


def test_credentials_are_sealed_and_never_returned(
    client: AppClient, owner: Account, project_id: int, app_db: Database
) -> None:
    secret = "pa55-w0rd-only-here"
    made = create_source(
        client, owner, project_id, name="station", kind="http_directory",
        url="http://127.0.0.1:9/photos/", credentials={"username": "cam", "password": secret},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["credentials"] == {
        "authorization": False,
        "password": True,
        "username": True,
    }
    source = made.json()["id"]
    for answer in (
        made,
        client.get(f"/api/v2/sources/{source}", headers=owner.headers),
        client.get(f"/api/v2/projects/{project_id}/sources", headers=owner.headers),
        client.patch(f"/api/v2/sources/{source}", json={"depth": 2}, headers=owner.headers),
    ):
        assert answer.status_code in (200, 201), answer.text
        assert secret not in answer.text
    from sqlalchemy import text

    with app_db.engine.connect() as connection:
        stored = connection.execute(text("SELECT credentials FROM pull_sources")).scalar_one()
    assert secret not in stored
    assert "cam" not in stored
    cleared = client.patch(
        f"/api/v2/sources/{source}", json={"credentials": None}, headers=owner.headers
    )
    assert cleared.json()["credentials"] == {
        "authorization": False, "password": False, "username": False,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("moved", "keeps"),
    [
        ("http://127.0.0.1:9/other-folder/", True),  # the same host: a path may change
        ("HTTP://127.0.0.1:9/photos/", True),  # the same origin, written otherwise
        ("http://127.0.0.2:9/photos/", False),  # another host
        ("http://127.0.0.1:10/photos/", False),  # another port
        ("https://127.0.0.1:9/photos/", False),  # another scheme
    ],
)
def test_stored_credentials_never_follow_the_url_to_another_host(
    client: AppClient, owner: Account, project_id: int, moved: str, keeps: bool
) -> None:
    """A manager who points another's source elsewhere must give credentials again: the
    stored ones are only for the host they were given for."""
    made = create_source(
        client, owner, project_id, name="station", kind="http_directory",
        url="http://127.0.0.1:9/photos/", credentials={"username": "cam", "password": "pw"},
    )  # fmt: skip
    source = made.json()["id"]
    answer = client.patch(f"/api/v2/sources/{source}", json={"url": moved}, headers=owner.headers)
    if keeps:
        assert answer.status_code == 200, answer.text
        assert answer.json()["credentials"]["password"] is True
        return
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"].startswith("give the credentials again"), answer.text
    kept = client.get(f"/api/v2/sources/{source}", headers=owner.headers).json()
    assert kept["url"] == "http://127.0.0.1:9/photos/"  # nothing of the refused change
    # With credentials given (new ones, or none) in the same request, the move is taken.
    for credentials in ({"username": "cam", "password": "new"}, None):
        moved_with = client.patch(
            f"/api/v2/sources/{source}",
            json={"url": moved, "credentials": credentials},
            headers=owner.headers,
        )
        assert moved_with.status_code == 200, moved_with.text
        client.patch(
            f"/api/v2/sources/{source}",
            json={
                "url": "http://127.0.0.1:9/photos/",
                "credentials": {"username": "c", "password": "p"},
            },
            headers=owner.headers,
        )


def test_an_s3_sources_credentials_stay_with_its_bucket_and_endpoint(
    client: AppClient, owner: Account, project_id: int
) -> None:
    made = create_source(
        client, owner, project_id, name="bucket", kind="s3", url="s3://cams/trap-a/",
        endpoint_url="http://127.0.0.1:9",
        credentials={"access_key_id": "a", "secret_access_key": "b"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    source = made.json()["id"]
    for change, taken in (
        ({"url": "s3://cams/trap-b/"}, True),  # another prefix of the same bucket
        ({"url": "s3://other-bucket/trap-a/"}, False),
        ({"endpoint_url": "http://127.0.0.2:9"}, False),
    ):
        answer = client.patch(f"/api/v2/sources/{source}", json=change, headers=owner.headers)
        assert (answer.status_code == 200) is taken, (change, answer.text)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "gopher", "url": "gopher://x/"}, "kind must be one of ftp, http_directory"),
        (
            {"kind": "http_directory", "url": "http://127.0.0.1:9/", "schedule": "every hour"},
            "schedule must be a cron expression",
        ),
        (
            {"kind": "http_directory", "url": "http://127.0.0.1:9/", "schedule": "61 * * * *"},
            "schedule must be a cron expression",
        ),
        (
            {"kind": "http_directory", "url": "http://127.0.0.1:9/", "schedule": "0 * * * * *"},
            "five fields",
        ),
        (
            {
                "kind": "ftp",
                "url": "ftp://[::1/x",
                "credentials": {"username": "u", "password": "p"},
            },
            "not a URL",
        ),
        (
            {
                "kind": "ftp",
                "url": "ftp://h:99999/",
                "credentials": {"username": "u", "password": "p"},
            },
            "is not a number from 1 to 65535",
        ),
        (
            {
                "kind": "s3",
                "url": "s3://[x/y",
                "credentials": {"access_key_id": "a", "secret_access_key": "b"},
            },
            "not a URL",
        ),
        ({"kind": "http_directory", "url": "ftp://127.0.0.1/photos"}, "http and https"),
        ({"kind": "http_directory", "url": "not a url"}, "http and https"),
        ({"kind": "s3", "url": "s3://bucket/cams"}, "need credentials: access_key_id and"),
        (
            {
                "kind": "s3",
                "url": "http://bucket/cams",
                "credentials": {"access_key_id": "a", "secret_access_key": "b"},
            },
            "s3://bucket/prefix",
        ),
        ({"kind": "ftp", "url": "ftp://127.0.0.1/cams"}, "need credentials: password and"),
        (
            {"kind": "http_directory", "url": "http://127.0.0.1:9/", "credentials": {"token": "x"}},
            "take these credentials",
        ),
        (
            {
                "kind": "http_directory",
                "url": "http://127.0.0.1:9/",
                "credentials": {"username": "cam"},
            },
            "both username and password",
        ),
        ({"kind": "local", "url": "/etc"}, "is not under a folder local sources may read"),
        ({"kind": "local", "url": "relative/path"}, "absolute folder path"),
        (
            {"kind": "http_directory", "url": "http://127.0.0.1:9/", "endpoint_url": "http://x/"},
            "endpoint_url is for s3 sources only",
        ),
        ({"kind": "http_directory", "url": "http://169.254.169.254/latest/"}, "link-local"),
        ({"kind": "http_directory", "url": "http://10.0.0.7/photos/"}, "a private address"),
        (
            {
                "kind": "s3",
                "url": "s3://bucket/cams",
                "endpoint_url": "http://192.168.1.5:9000",
                "credentials": {"access_key_id": "a", "secret_access_key": "b"},
            },
            "a private address",
        ),
        (
            {"kind": "http_directory", "url": "http://127.0.0.1:9/", "pipeline": "nope"},
            "pipeline 'nope' is not registered",
        ),
        ({"kind": "http_directory", "url": "http://127.0.0.1:9/", "depth": 11}, "depth"),
        # Malformed addresses (an unclosed IPv6 bracket, a port that is none): 400, never 500.
        ({"kind": "http_directory", "url": "http://[::1"}, "http://[::1"),
        ({"kind": "http_directory", "url": "http://[::1]:x/"}, "http://[::1]:x/"),
        (
            {
                "kind": "s3",
                "url": "s3://[bucket/cams",
                "credentials": {"access_key_id": "a", "secret_access_key": "b"},
            },
            "s3://[bucket/cams",
        ),
        (
            {
                "kind": "s3",
                "url": "s3://bucket/cams",
                "endpoint_url": "http://[::1",
                "credentials": {"access_key_id": "a", "secret_access_key": "b"},
            },
            "http://[::1",
        ),
    ],
)
def test_bad_sources_get_a_400_that_says_what_to_fix(
    client: AppClient, owner: Account, project_id: int, body: dict[str, Any], words: str
) -> None:
    answer = create_source(client, owner, project_id, name="station", **body)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["detail"]


def test_the_server_itself_is_refused_when_no_network_is_allowed(
    settings: Settings, app_db: Database, make_account: Callable[..., Account]
) -> None:
    closed = settings.updated(outbound_allow_networks=[])
    platform = Platform.from_settings(closed, db=app_db)
    try:
        with AppClient(create_app(platform)) as client:
            owner = make_account("ola")
            project = client.post("/api/v2/projects/", json={"name": "p"}, headers=owner.headers)
            for url in ("http://127.0.0.1:8000/api/v2/", "http://localhost:8000/", "http://[::1]/"):
                answer = create_source(client, owner, project.json()["id"], name="self",
                                kind="http_directory", url=url)  # fmt: skip
                assert answer.status_code == 400, answer.text
                assert answer.json()["code"] == "address_not_allowed"
                assert "TRAPLINE_OUTBOUND_ALLOW_NETWORKS" in answer.json()["detail"]
    finally:
        platform.close()


@pytest.mark.parametrize("admin", [True, False], ids=["admin", "manager"])
def test_a_loopback_source_refused_names_the_setting_that_allows_it(
    settings: Settings, app_db: Database, make_account: Callable[..., Account], admin: bool
) -> None:
    body = {"name": "here", "kind": "http_directory", "url": "http://127.0.0.1:8123/cams/"}
    for allowed in ([], ["127.0.0.1/32"]):
        platform = Platform.from_settings(
            settings.updated(outbound_allow_networks=allowed), db=app_db
        )
        try:
            with AppClient(create_app(platform)) as client:
                account = make_account(f"{'ada' if admin else 'mo'}{len(allowed)}", admin=admin)
                made = client.post("/api/v2/projects/", json={"name": "p"}, headers=account.headers)
                answer = create_source(client, account, made.json()["id"], **body)
        finally:
            platform.close()
        if allowed:  # the setting named is the one that lets the source in
            assert answer.status_code == 201, answer.text
            continue
        assert answer.status_code == 400, answer.text
        detail = answer.json()["detail"]
        assert "TRAPLINE_OUTBOUND_ALLOW_NETWORKS lists the network" in detail, detail
        assert "127.0.0.1/32" in detail, detail
        assert "an admin's too" in detail, detail
        assert "not admins" not in detail, detail  # pull sources are checked for admins too
        assert ("restart the server" in detail) is admin, detail


def test_members_see_sources_managers_manage_them_outsiders_see_nothing(
    client: AppClient,
    owner: Account,
    project_id: int,
    folder: Path,
    make_account: Callable[..., Account],
) -> None:
    member, outsider = make_account("mo"), make_account("otto")
    client.post(
        f"/api/v2/projects/{project_id}/members",
        json={"email": member.email, "role": "member"},
        headers=owner.headers,
    )
    source = create_source(
        client, owner, project_id, name="t", kind="local", url=str(folder)
    ).json()
    sid = source["id"]
    assert client.get(f"/api/v2/sources/{sid}", headers=member.headers).status_code == 200
    listed = client.get(f"/api/v2/projects/{project_id}/sources", headers=member.headers)
    assert listed.json()["count"] == 1
    assert client.get(f"/api/v2/sources/{sid}/runs", headers=member.headers).status_code == 200
    for method, path, body in [
        (
            "POST",
            f"/api/v2/projects/{project_id}/sources",
            {"name": "x", "kind": "local", "url": str(folder)},
        ),
        ("PATCH", f"/api/v2/sources/{sid}", {"enabled": False}),
        ("DELETE", f"/api/v2/sources/{sid}", None),
        ("POST", f"/api/v2/sources/{sid}/run", None),
    ]:
        answer = client.request(method, path, json=body, headers=member.headers)
        assert answer.status_code == 403, (method, path, answer.text)
    missing = 10**9 + sid
    for suffix in ("", "/runs", "/runs/1", "/runs/1/failures"):
        foreign = client.get(f"/api/v2/sources/{sid}{suffix}", headers=outsider.headers)
        absent = client.get(f"/api/v2/sources/{missing}{suffix}", headers=outsider.headers)
        assert foreign.status_code == absent.status_code == 404
        assert foreign.json()["code"] == absent.json()["code"]
        assert answered_as_missing(foreign, absent, sid, missing), (foreign.text, absent.text)
    for method, body in [("PATCH", {"enabled": False}), ("DELETE", None)]:
        answer = client.request(method, f"/api/v2/sources/{sid}", json=body,
                                headers=outsider.headers)  # fmt: skip
        assert answer.status_code == 404
    answer = client.post(f"/api/v2/sources/{sid}/run", headers=outsider.headers)
    assert answer.status_code == 404
    hidden = client.get(f"/api/v2/projects/{project_id}/sources", headers=outsider.headers)
    assert hidden.status_code == 404


def test_patch_changes_the_schedule_and_the_enabled_flag(
    client: AppClient, owner: Account, project_id: int, folder: Path
) -> None:
    source = create_source(
        client, owner, project_id, name="t", kind="local", url=str(folder)
    ).json()
    changed = client.patch(
        f"/api/v2/sources/{source['id']}",
        json={"schedule": "*/5 * * * *", "enabled": False, "exclude": ["thumb_*"]},
        headers=owner.headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["schedule"], body["enabled"], body["exclude"]) == (
        "*/5 * * * *",
        False,
        ["thumb_*"],
    )
    assert int(body["next_run_at"][14:16]) % 5 == 0
    bad = client.patch(f"/api/v2/sources/{source['id']}", json={"schedule": None},
                       headers=owner.headers)  # fmt: skip
    assert bad.status_code == 400

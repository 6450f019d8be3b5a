"""Deployment time zones: capture times without an offset are read in them, a zone change
re-reads them in the background (with progress), images move between deployments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient

API = "/api/v2"
DAR = "Africa/Dar_es_Salaam"
#: 22:00 on the camera's clock, no offset in the file.
NAIVE = datetime(2024, 6, 21, 22, 0, 0)


def _deployment(client: AppClient, owner: Account, project_id: int, **body: Any) -> Any:
    return client.post(
        f"{API}/projects/{project_id}/deployments",
        json={"name": "Trap", **body},
        headers=owner.headers,
    )


def _upload(
    client: AppClient,
    owner: Account,
    project_id: int,
    jpeg: Callable[..., bytes],
    *,
    seed: int,
    captured_at: datetime = NAIVE,
    deployment: int | None = None,
) -> int:
    form = {"deployment_id": str(deployment)} if deployment else {}
    body = upload(
        client,
        owner,
        project_id,
        (f"photo-{seed}.jpg", jpeg(seed, captured_at=captured_at)),
        **form,
    )
    assert body["status"] == 201, body
    return int(body["results"][0]["id"])


def _captured(client: AppClient, owner: Account, image_id: int) -> str:
    answer = client.get(f"{API}/images/{image_id}", headers=owner.headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["captured_at"])


def test_a_time_zone_must_be_an_iana_name(client, owner, project_id) -> None:
    made = _deployment(client, owner, project_id, time_zone="Mars/Olympus_Mons")
    assert made.status_code == 400, made.text
    assert "time_zone" in made.text
    assert "IANA" in made.text
    good = _deployment(client, owner, project_id, time_zone=DAR)
    assert good.status_code == 201, good.text
    assert good.json()["time_zone"] == DAR
    patched = client.patch(
        f"{API}/deployments/{good.json()['id']}",
        json={"time_zone": "+03:00"},
        headers=owner.headers,
    )
    assert patched.status_code == 400
    assert "time_zone" in patched.text
    project = client.patch(
        f"{API}/projects/{project_id}", json={"time_zone": "EAT"}, headers=owner.headers
    )
    assert project.status_code == 400
    assert "time_zone" in project.text
    assert (
        client.get(f"{API}/projects/{project_id}", headers=owner.headers).json()["time_zone"]
        == "UTC"
    )


def test_a_zone_must_be_in_canonical_form_and_the_answer_names_it(
    client, owner, project_id
) -> None:
    alias = _deployment(client, owner, project_id, time_zone="US/Eastern")
    assert alias.status_code == 400, alias.text
    assert "US/Eastern is an old alias; use America/New_York" in alias.text
    est = _deployment(client, owner, project_id, time_zone="EST")
    assert est.status_code == 400, est.text
    assert "Etc/GMT+5" in est.text
    good = _deployment(client, owner, project_id, time_zone="America/New_York")
    assert good.status_code == 201, good.text
    patched = client.patch(
        f"{API}/deployments/{good.json()['id']}",
        json={"time_zone": "Asia/Calcutta"},
        headers=owner.headers,
    )
    assert patched.status_code == 400
    assert "use Asia/Kolkata" in patched.text
    project = client.patch(
        f"{API}/projects/{project_id}", json={"time_zone": "GMT+5"}, headers=owner.headers
    )
    assert project.status_code == 400
    assert "Etc/GMT-5" in project.text
    listed = client.get(f"{API}/projects/{project_id}/deployments", headers=owner.headers)
    assert [d["time_zone"] for d in listed.json()["results"]] == ["America/New_York"]


def test_a_naive_time_is_read_in_the_zone_and_an_offset_in_the_file_kept(
    client, owner, project_id, jpeg
) -> None:
    trap = _deployment(client, owner, project_id, time_zone=DAR).json()["id"]
    naive = _upload(client, owner, project_id, jpeg, seed=1, deployment=trap)
    paris = timezone(timedelta(hours=2))
    aware = _upload(
        client, owner, project_id, jpeg, seed=2, deployment=trap,
        captured_at=NAIVE.replace(tzinfo=paris),
    )  # fmt: skip
    loose = _upload(client, owner, project_id, jpeg, seed=3)  # no deployment: the project's
    assert _captured(client, owner, naive) == "2024-06-21T22:00:00+03:00"
    assert _captured(client, owner, aware) == "2024-06-21T22:00:00+02:00"
    assert _captured(client, owner, loose) == "2024-06-21T22:00:00Z"


def test_a_zone_change_re_reads_in_the_background_with_progress(
    client, owner, project_id, jpeg, platform
) -> None:
    trap = _deployment(client, owner, project_id).json()["id"]
    naive = [
        _upload(client, owner, project_id, jpeg, seed=10 + n, deployment=trap) for n in range(3)
    ]
    kept = _upload(
        client, owner, project_id, jpeg, seed=20, deployment=trap,
        captured_at=NAIVE.replace(tzinfo=timezone(timedelta(hours=-5))),
    )  # fmt: skip
    assert _captured(client, owner, naive[0]) == "2024-06-21T22:00:00Z"
    patched = client.patch(
        f"{API}/deployments/{trap}", json={"time_zone": DAR}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    reread = patched.json()["reread"]
    assert reread["status"] in ("queued", "running", "succeeded")
    assert platform.rereads.wait_idle(30)
    done = client.get(f"{API}/capture-time-rereads/{reread['id']}", headers=owner.headers).json()
    assert done["status"] == "succeeded", done
    assert (done["images_done"], done["images_total"]) == (3, 3)
    assert {_captured(client, owner, i) for i in naive} == {"2024-06-21T22:00:00+03:00"}
    assert _captured(client, owner, kept) == "2024-06-21T22:00:00-05:00"
    listed = client.get(
        f"{API}/projects/{project_id}/capture-time-rereads", headers=owner.headers
    ).json()
    assert [r["id"] for r in listed["results"]] == [reread["id"]]
    # The project's default zone: the images without a deployment follow it.
    loose = _upload(client, owner, project_id, jpeg, seed=30)
    patched = client.patch(
        f"{API}/projects/{project_id}", json={"time_zone": "Asia/Kolkata"}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["reread"] is not None
    assert platform.rereads.wait_idle(30)
    assert _captured(client, owner, loose) == "2024-06-21T22:00:00+05:30"
    assert _captured(client, owner, naive[0]) == "2024-06-21T22:00:00+03:00"  # its own zone


def test_a_re_reading_goes_batch_by_batch_and_a_later_change_supersedes_it(
    client, owner, project_id, jpeg, platform
) -> None:
    trap = _deployment(client, owner, project_id).json()["id"]
    images = [
        _upload(client, owner, project_id, jpeg, seed=40 + n, deployment=trap) for n in range(3)
    ]
    with platform.db.write() as repos:
        first = repos.photos.capture_times.start(project_id, trap, DAR, datetime.now(UTC))
        repos.core.deployments.update(trap, time_zone=DAR)
    runner = platform.rereads
    now = datetime.now(UTC)
    with platform.db.write() as repos:
        assert repos.photos.capture_times.claim(
            first.id, "test-runner", now, now - timedelta(minutes=1)
        )
    with platform.db.write() as repos:
        assert repos.photos.capture_times.step(first.id, "test-runner", now, 2) is False
    seen = client.get(f"{API}/capture-time-rereads/{first.id}", headers=owner.headers).json()
    assert (seen["status"], seen["images_done"], seen["images_total"]) == ("running", 2, 3)
    assert [_captured(client, owner, i) for i in images] == [
        "2024-06-21T22:00:00+03:00",
        "2024-06-21T22:00:00+03:00",
        "2024-06-21T22:00:00Z",  # the third batch is still to come
    ]
    patched = client.patch(
        f"{API}/deployments/{trap}", json={"time_zone": "Europe/London"}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    with platform.db.write() as repos:  # the first is no longer its runner's
        assert repos.photos.capture_times.step(first.id, "test-runner", now, 2) is None
    assert runner.wait_idle(30)
    old = client.get(f"{API}/capture-time-rereads/{first.id}", headers=owner.headers).json()
    assert old["status"] == "superseded"
    assert {_captured(client, owner, i) for i in images} == {"2024-06-21T22:00:00+01:00"}


def test_images_move_between_deployments_and_are_re_read(
    client, owner, project_id, jpeg, make_account
) -> None:
    dar = _deployment(client, owner, project_id, time_zone=DAR).json()["id"]
    lima = _deployment(client, owner, project_id, time_zone="America/Lima").json()["id"]
    images = [
        _upload(client, owner, project_id, jpeg, seed=50 + n, deployment=dar) for n in range(2)
    ]
    moved = client.post(
        f"{API}/projects/{project_id}/images/move",
        json={"image_ids": images, "deployment_id": lima},
        headers=owner.headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"moved": 2}
    for image_id in images:
        got = client.get(f"{API}/images/{image_id}", headers=owner.headers).json()
        assert (got["deployment_id"], got["captured_at"]) == (lima, "2024-06-21T22:00:00-05:00")
    # Another project's image and deployment answer as missing ones do.
    other = make_account("oscar")
    theirs = client.post(f"{API}/projects", json={"name": "Theirs"}, headers=other.headers).json()
    their_image = _upload(client, other, theirs["id"], jpeg, seed=60)
    their_trap = _deployment(client, other, theirs["id"]).json()["id"]
    answers = {}
    for name, body in {
        "foreign image": {"image_ids": [images[0], their_image], "deployment_id": dar},
        "missing image": {"image_ids": [images[0], 10**9], "deployment_id": dar},
        "foreign deployment": {"image_ids": images, "deployment_id": their_trap},
        "missing deployment": {"image_ids": images, "deployment_id": 10**9},
    }.items():
        answer = client.post(
            f"{API}/projects/{project_id}/images/move", json=body, headers=owner.headers
        )
        answers[name] = (answer.status_code, answer.json()["detail"].split(" ")[0])
    assert answers == {
        "foreign image": (404, "image"),
        "missing image": (404, "image"),
        "foreign deployment": (404, "deployment"),
        "missing deployment": (404, "deployment"),
    }
    assert (
        client.get(f"{API}/images/{images[0]}", headers=owner.headers).json()["deployment_id"]
        == lima
    )  # nothing moved
    out = client.post(
        f"{API}/projects/{project_id}/images/move",
        json={"image_ids": images[:1], "deployment_id": None},
        headers=owner.headers,
    )
    assert out.status_code == 200
    assert _captured(client, owner, images[0]) == "2024-06-21T22:00:00Z"


def test_a_camera_on_standard_time_all_year_is_read_at_the_standard_offset(
    client, owner, project_id, jpeg, platform
) -> None:
    made = _deployment(
        client, owner, project_id, time_zone="Europe/Berlin", standard_time=True
    ).json()
    assert made["standard_time"] is True
    trap = made["id"]
    # 21:00 on a camera that keeps winter time is 22:00 summer time there: 20:00 UTC.
    summer = _upload(
        client, owner, project_id, jpeg, seed=70, deployment=trap,
        captured_at=datetime(2024, 6, 21, 21, 0),
    )  # fmt: skip
    winter = _upload(
        client, owner, project_id, jpeg, seed=71, deployment=trap,
        captured_at=datetime(2024, 1, 10, 21, 0),
    )  # fmt: skip
    told = _upload(
        client, owner, project_id, jpeg, seed=72, deployment=trap,
        captured_at=datetime(2024, 6, 21, 21, 0, tzinfo=timezone(timedelta(hours=2))),
    )  # fmt: skip
    assert _captured(client, owner, summer) == "2024-06-21T21:00:00+01:00"
    assert datetime.fromisoformat(_captured(client, owner, summer)).astimezone(UTC) == datetime(
        2024, 6, 21, 20, 0, tzinfo=UTC
    )
    assert _captured(client, owner, winter) == "2024-01-10T21:00:00+01:00"
    assert _captured(client, owner, told) == "2024-06-21T21:00:00+02:00"  # the file's own

    # Saying the clock follows daylight saving after all re-reads the photos.
    patched = client.patch(
        f"{API}/deployments/{trap}", json={"standard_time": False}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["standard_time"] is False
    assert patched.json()["reread"] is not None
    assert platform.rereads.wait_idle(30)
    assert _captured(client, owner, summer) == "2024-06-21T21:00:00+02:00"
    assert _captured(client, owner, winter) == "2024-01-10T21:00:00+01:00"
    # A PATCH without it leaves it as it is and re-reads nothing; null and text are refused.
    kept = client.patch(f"{API}/deployments/{trap}", json={"name": "Pond"}, headers=owner.headers)
    assert (kept.json()["standard_time"], kept.json()["reread"]) == (False, None)
    for bad in (None, "yes"):
        refused = client.patch(
            f"{API}/deployments/{trap}", json={"standard_time": bad}, headers=owner.headers
        )
        assert refused.status_code == 400, refused.text
        assert "standard_time" in refused.text
    # Back on standard time; a zone change later keeps reading it so (Dublin's winter is GMT).
    client.patch(f"{API}/deployments/{trap}", json={"standard_time": True}, headers=owner.headers)
    client.patch(
        f"{API}/deployments/{trap}", json={"time_zone": "Europe/Dublin"}, headers=owner.headers
    )
    assert platform.rereads.wait_idle(30)
    assert _captured(client, owner, summer) == "2024-06-21T21:00:00Z"
    assert _captured(client, owner, winter) == "2024-01-10T21:00:00Z"

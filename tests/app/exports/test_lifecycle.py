"""An export's life: who may do what, cancel, an export while results keep arriving, a crashed
server's export taken over, expiry."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.support.accounts import Account
from tests.support.exports import API, Seeded
from tests.support.protocol import detection, success
from tests.support.refusals import answered_as_missing
from trapline.background.exports import MAX_ATTEMPTS, STALE_AFTER, ExportRunner, export_key
from trapline.clock import FakeClock
from trapline.db import export_batches
from trapline.db.engine import Database
from trapline.db.tables import ExportRow
from trapline.domain.exports.exports import ExportFilters, ExportFormat


def _member(seeded: Seeded, account: Account, role: str) -> None:
    seeded.proto.add_member(account, role)


def test_viewers_export_and_outsiders_learn_nothing(
    seeded: Seeded, make_account: Callable[..., Account]
) -> None:
    client = seeded.client
    viewer, outsider, other_viewer = make_account("vic"), make_account("eve"), make_account("val")
    _member(seeded, viewer, "viewer")
    _member(seeded, other_viewer, "viewer")
    done = seeded.export(viewer, format="csv")
    assert done["status"] == "succeeded", done
    assert done["created_by"] == viewer.id
    assert seeded.download(done["id"], viewer).startswith(b"\xef\xbb\xbf")
    listed = client.get(f"{API}/projects/{seeded.project_id}/exports", headers=viewer.headers)
    assert [e["id"] for e in listed.json()["results"]] == [done["id"]]

    # Another viewer sees it, but may neither cancel nor delete it; the owner (a manager) may.
    refused = client.delete(f"{API}/exports/{done['id']}", headers=other_viewer.headers)
    assert refused.status_code == 403, refused.text

    # An outsider gets exactly what a missing export or project gives, byte for byte.
    missing, nowhere = done["id"] + 10**9, seeded.project_id + 10**9
    for method, path, real, fake in (
        ("get", "/exports/{}", done["id"], missing),
        ("get", "/exports/{}/download", done["id"], missing),
        ("post", "/exports/{}/cancel", done["id"], missing),
        ("delete", "/exports/{}", done["id"], missing),
        ("get", "/projects/{}/exports", seeded.project_id, nowhere),
        ("post", "/projects/{}/exports", seeded.project_id, nowhere),
    ):
        body = {"format": "csv"} if method == "post" and "projects" in path else None
        foreign = client.request(
            method, API + path.format(real), json=body, headers=outsider.headers
        )
        absent = client.request(
            method, API + path.format(fake), json=body, headers=outsider.headers
        )
        assert foreign.status_code == absent.status_code == 404, (path, foreign.text)
        assert answered_as_missing(foreign, absent, real, fake), (foreign.text, absent.text)

    deleted = client.delete(f"{API}/exports/{done['id']}", headers=seeded.proto.headers)
    assert deleted.status_code == 204
    gone = client.get(f"{API}/exports/{done['id']}", headers=viewer.headers)
    assert gone.status_code == 404


def test_bad_filters_are_400s_that_say_what_to_fix(seeded: Seeded, make_seeded) -> None:  # type: ignore[no-untyped-def]
    cases = [
        ({"format": "pdf"}, "format"),
        ({"format": "csv", "deployment_id": 99999}, "deployment 99999 is not in project"),
        ({"format": "csv", "job_id": 99999}, "job 99999 is not in project"),
        ({"format": "csv", "collection_id": 99999}, "collection 99999 is not in project"),
        ({"format": "csv", "pipeline": "nope"}, "has no pipeline 'nope'"),
        ({"format": "csv", "pipeline": "moth-test", "pipeline_version": 7}, "no version 7"),
        ({"format": "csv", "pipeline_version": 1}, "pipeline_version needs pipeline"),
        ({"format": "csv", "date_from": "2024-06-22", "date_to": "2024-06-21"}, "is after"),
        ({"format": "csv", "min_confidence": 1.5}, "min_confidence"),
        ({"format": "csv", "colour": "red"}, "colour"),
    ]
    for body, words in cases:
        answer = seeded.create(**body)
        assert answer.status_code == 400, (body, answer.text)
        assert words in answer.text, (body, answer.text)


def test_filters_narrow_the_export(seeded: Seeded) -> None:
    pipeline = seeded.export(format="csv", pipeline="moth-test", pipeline_version=1)
    assert pipeline["counts"]["detections"] == len(seeded.boxes)
    job = seeded.export(format="csv", job_id=seeded.job_id, include_empty=True)
    assert job["counts"]["images"] == 9
    day = seeded.export(format="csv", date_from="2024-06-22")
    assert day["counts"]["images"] == 0
    same_day = seeded.export(format="csv", date_from="2024-06-21", date_to="2024-06-21")
    assert same_day["counts"]["images"] == 9
    first_three = sorted(seeded.images)[:3]
    collection = seeded.client.post(
        f"{API}/projects/{seeded.project_id}/collections",
        json={"name": "three", "image_ids": first_three},
        headers=seeded.proto.headers,
    ).json()
    narrowed = seeded.export(format="csv", collection_id=collection["id"])
    assert narrowed["counts"]["images"] == 3
    assert narrowed["counts"]["detections"] == len(
        [b for b in seeded.boxes if b.image_id in first_three]
    )


def test_batches_of_crowded_photos_stop_early_and_write_the_same_file(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose detections are made in full holds about ``BATCH_ANNOTATIONS``
    annotations: photos with more boxes come in more, smaller batches, and the file is the
    same."""
    whole = seeded.export(format="csv")
    batches: list[int] = []
    seeded.proto.platform.exports.after_batch = batches.append
    monkeypatch.setattr(export_batches, "BATCH_ANNOTATIONS", 2)
    cut = seeded.export(format="csv")
    assert cut["status"] == "succeeded", cut
    assert cut["counts"] == whole["counts"]
    assert seeded.download(cut["id"]) == seeded.download(whole["id"])
    # Each photo with a box (a box and its label: 2 annotations) in a batch of its own, the
    # photos without one beside them; the whole export was one batch.
    assert len({b.image_id for b in seeded.boxes}) <= len(batches) < len(seeded.images)


def test_a_canceled_export_stops_and_leaves_no_file(seeded: Seeded) -> None:
    platform = seeded.proto.platform
    platform.exports.batch_size = 2
    reached, release = threading.Event(), threading.Event()

    def pause(_: int) -> None:
        reached.set()
        assert release.wait(30)

    platform.exports.after_batch = pause
    made = seeded.create(format="csv").json()
    assert reached.wait(30)
    running = seeded.client.get(f"{API}/exports/{made['id']}", headers=seeded.proto.headers)
    assert running.json()["status"] == "running"
    assert running.json()["images_total"] == 9
    canceled = seeded.client.post(
        f"{API}/exports/{made['id']}/cancel", headers=seeded.proto.headers
    )
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    platform.exports.after_batch = None
    release.set()
    platform.exports.close()  # waits for the run to end
    final = seeded.wait(made["id"])
    assert final["status"] == "canceled"
    assert final["file_name"] is None
    with platform.db.read() as repos:
        export = repos.exports.exports.get(made["id"])
    assert export is not None
    assert not platform.store.exists(export_key(export))
    again = seeded.client.post(f"{API}/exports/{made['id']}/cancel", headers=seeded.proto.headers)
    assert again.status_code == 409
    download = seeded.client.get(
        f"{API}/exports/{made['id']}/download", headers=seeded.proto.headers
    )
    assert download.status_code == 409


def test_an_export_while_results_and_images_keep_arriving(seeded: Seeded) -> None:
    """The export describes the images there when it started; results stored meanwhile are
    in it or not, but the file and its counts always agree."""
    proto = seeded.proto
    platform = seeded.proto.platform
    more = proto.images(6, deployment_id=str(seeded.deployments["Trap A"]))
    job = proto.job_that_runs(params={"max_attempts": 1})
    tasks = proto.claim(job["id"], 100)
    platform.exports.batch_size = 3
    reached, release = threading.Event(), threading.Event()

    def pause(_: int) -> None:
        if not reached.is_set():
            reached.set()
            assert release.wait(30)

    platform.exports.after_batch = pause
    made = seeded.create(format="csv").json()
    assert reached.wait(30)
    # While the export is under way: results of the second job, and new images.
    answers = proto.post(job["id"], *(success(t, detection(t)) for t in tasks))
    assert {a["status"] for a in answers} == {"saved"}
    late = proto.images(2)
    release.set()
    done = seeded.wait(made["id"])
    assert done["status"] == "succeeded", done
    assert done["counts"]["images"] == 9 + len(more)
    rows = seeded.download(made["id"]).decode("utf-8-sig").splitlines()[1:]
    assert len(rows) == done["counts"]["detections"]
    ids = {int(r.split(",")[0]) for r in rows}
    assert not ids & set(late)
    assert done["counts"]["detections"] >= len(seeded.boxes)


def _dead_servers_export(db: Database, project_id: int, attempts: int, clock: FakeClock) -> int:
    """An export a server claimed and then died running (its heartbeat stops now)."""
    now = clock.now()
    with db.write() as repos:
        made = repos.exports.exports.create(project_id, ExportFormat.CSV, ExportFilters(), None)
        assert repos.exports.exports.claim(made.id, "dead-host:1:abc", now, now, MAX_ATTEMPTS)
        repos.session.execute(
            update(ExportRow).where(ExportRow.id == made.id).values(attempts=attempts)
        )
    return made.id


def test_a_crashed_servers_export_is_taken_over_then_given_up(
    seeded: Seeded, fake_clock: FakeClock
) -> None:
    platform = seeded.proto.platform
    revived = _dead_servers_export(platform.db, seeded.project_id, 1, fake_clock)
    hopeless = _dead_servers_export(platform.db, seeded.project_id, MAX_ATTEMPTS, fake_clock)
    fake_clock.advance(STALE_AFTER.total_seconds() - 1)
    platform.exports.resume()  # not silent for long enough yet
    for export_id in (revived, hopeless):
        got = seeded.client.get(f"{API}/exports/{export_id}", headers=seeded.proto.headers)
        assert got.json()["status"] == "running"
    fake_clock.advance(2)
    platform.exports.resume()
    done = seeded.wait(revived)
    assert done["status"] == "succeeded", done
    assert done["counts"]["detections"] == len(seeded.boxes)
    failed = seeded.wait(hopeless)
    assert failed["status"] == "failed"
    assert "stopped 3 times" in failed["error"]


def test_an_expired_export_loses_its_file(seeded: Seeded, fake_clock: FakeClock) -> None:
    platform = seeded.proto.platform
    done = seeded.export(format="coco")
    assert done["expires_at"] is not None
    with platform.db.read() as repos:
        export = repos.exports.exports.get(done["id"])
    assert export is not None
    assert platform.store.exists(export_key(export))
    fake_clock.advance(platform.settings.exports.ttl - 1)
    platform.exports.resume()  # not yet
    assert seeded.wait(done["id"])["status"] == "succeeded"
    fake_clock.advance(2)
    platform.exports.resume()
    expired = seeded.wait(done["id"])
    assert expired["status"] == "expired"
    assert not platform.store.exists(export_key(export))
    answer = seeded.client.get(f"{API}/exports/{done['id']}/download", headers=seeded.proto.headers)
    assert answer.status_code == 409
    assert "create a new export" in answer.json()["detail"]


def test_a_stopping_server_hands_its_export_back(seeded: Seeded) -> None:
    platform = seeded.proto.platform
    platform.exports.batch_size = 2
    reached, release = threading.Event(), threading.Event()

    def pause(_: int) -> None:
        reached.set()
        assert release.wait(30)

    platform.exports.after_batch = pause
    made = seeded.create(format="megadetector").json()
    assert reached.wait(30)
    closing = threading.Thread(target=platform.exports.close)
    closing.start()
    platform.exports.after_batch = None
    release.set()
    closing.join(30)
    assert not closing.is_alive()
    back = seeded.client.get(f"{API}/exports/{made['id']}", headers=seeded.proto.headers).json()
    assert back["status"] == "queued"
    # Another server's duty runs it to the end.
    other = ExportRunner(platform.db, platform.store, name="other:1:x", ttl=timedelta(days=1))
    try:
        other.resume()
        done = seeded.wait(made["id"], runner=other)
    finally:
        other.close()
    assert done["status"] == "succeeded", done
    assert done["counts"]["images"] == 9

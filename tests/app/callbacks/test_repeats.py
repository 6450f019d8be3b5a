"""A signature is good for one call: refused on any other call or analysis, and an identical
repeat gets the first answer again without a second effect (decision 036)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.callbacks import Pipeline, box, create_analysis, png, signed_headers
from trapline.clock import FakeClock
from trapline.db.tables import AnalysisRow, CallbackSignatureRow
from trapline.domain.callbacks.callbacks import SignedRequest
from trapline.platform import Platform
from trapline.services.callbacks import signed_calls
from trapline.services.callbacks.stuck_analyses import fail_stuck_analyses

_last_stamp = 2**62  # the last stamp _fresh gave


def _fresh() -> int:
    """A timestamp no other call of the test signed with: each such call is a new one.

    Each is below the last (a counter subtracted from the clock repeated a stamp whenever a
    second passed between two calls); back to 100 s ago once 250 s ago is reached, which only
    stamps of earlier tests, on a database emptied since, can meet."""
    global _last_stamp
    now = int(time.time())
    stamp = min(now - 100, _last_stamp - 1)
    _last_stamp = now - 100 if stamp < now - 250 else stamp
    return _last_stamp


def _new_analysis(client: AppClient, owner: Account, image_id: int, pipeline: Pipeline) -> int:
    """A processing analysis holding three boxes."""
    created = create_analysis(client, owner, image_id)
    assert created.status_code == 201, created.text
    aid = int(created.json()["id"])
    path = f"/analyses/{aid}"
    moved = pipeline.call("PATCH", f"{path}/status", {"status": "processing"}, timestamp=_fresh())
    assert moved.status_code == 200, moved.text
    items = [box(1, 1, 10 + n, 10) for n in range(3)]
    posted = pipeline.call(
        "POST", f"{path}/annotations:bulk", {"annotations": items}, timestamp=_fresh()
    )
    assert posted.status_code == 200, posted.text
    return aid


@pytest.fixture
def two(client: AppClient, owner: Account, image_id: int, pipeline: Pipeline) -> tuple[int, int]:
    """Two processing analyses of one project, three boxes each."""
    return (
        _new_analysis(client, owner, image_id, pipeline),
        _new_analysis(client, owner, image_id, pipeline),
    )


def _send(client: AppClient, method: str, path: str, body: bytes, headers: Any) -> httpx.Response:
    return client.request(method, path, content=body, headers=headers)


def _state(platform: Platform, aid: int) -> tuple[str, str | None, int, Any]:
    """What a replay could change: status, error, annotation count, last status change."""
    with platform.db.read() as repos:
        analysis = repos.processing.analyses.get(aid)
        assert analysis is not None
        count = repos.processing.analyses.count_annotations(aid)
    return analysis.status.value, analysis.error, count, analysis.updated_at


def test_a_replace_with_nothing_replayed_on_another_analysis_is_refused(
    client: AppClient, two: tuple[int, int], platform: Platform
) -> None:
    mine, theirs = two
    before = _state(platform, theirs)
    empty = json.dumps({"annotations": [], "mode": "replace"}).encode()
    stamp = int(time.time())
    headers = signed_headers(empty, timestamp=stamp)
    wiped = _send(client, "POST", f"/api/analyses/{mine}/annotations:bulk", empty, headers)
    assert wiped.status_code == 200, wiped.text
    assert wiped.json() == {"annotations": [], "total": 0}
    for prefix in ("/api", "/api/v2"):
        replayed = _send(client, "POST", f"{prefix}/analyses/{theirs}/annotations:bulk", empty,
                         headers)  # fmt: skip
        assert replayed.status_code == 409, replayed.text
        assert replayed.json()["code"] == "signature_used_elsewhere"
        assert "sign this request afresh" in replayed.json()["detail"]
        assert "next second's timestamp" in replayed.json()["detail"]
    assert _state(platform, theirs) == before
    # The pipeline that does mean to empty the other analysis too signs it with the next second.
    again = signed_headers(empty, timestamp=stamp + 1)
    wiped = _send(client, "POST", f"/api/analyses/{theirs}/annotations:bulk", empty, again)
    assert wiped.status_code == 200, wiped.text
    assert _state(platform, theirs)[2] == 0


def test_a_finalize_failed_replayed_on_another_analysis_or_call_is_refused(
    client: AppClient, two: tuple[int, int], platform: Platform
) -> None:
    mine, theirs = two
    before = _state(platform, theirs)
    failed = json.dumps({"status": "failed", "error_message": "GPU fell over"}).encode()
    headers = signed_headers(failed)
    done = _send(client, "POST", f"/api/analyses/{mine}/finalize", failed, headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "failed"
    replayed = _send(client, "POST", f"/api/analyses/{theirs}/finalize", failed, headers)
    assert replayed.status_code == 409, replayed.text
    assert replayed.json()["code"] == "signature_used_elsewhere"
    assert _state(platform, theirs) == before
    assert before[:3] == ("processing", None, 3)
    # The same body is a valid status change: on another call of the same analysis, refused.
    for aid in (mine, theirs):
        other_call = _send(client, "PATCH", f"/api/analyses/{aid}/status", failed, headers)
        assert other_call.status_code == 409, other_call.text
        assert other_call.json()["code"] == "signature_used_elsewhere"
    assert _state(platform, theirs) == before


def test_a_repeated_status_change_gets_its_first_answer_and_does_not_run_again(
    client: AppClient, owner: Account, image_id: int, pipeline: Pipeline, platform: Platform
) -> None:
    aid = int(create_analysis(client, owner, image_id).json()["id"])
    body = json.dumps({"status": "processing"}).encode()
    headers = signed_headers(body)
    first = _send(client, "PATCH", f"/api/analyses/{aid}/status", body, headers)
    assert first.status_code == 200, first.text
    done = pipeline.call("POST", f"/analyses/{aid}/finalize", {"status": "completed"},
                         timestamp=_fresh())  # fmt: skip
    assert done.status_code == 200, done.text
    finished = _state(platform, aid)
    # Run again, completed → processing would be refused (409); the repeat gets the first 200.
    repeat = _send(client, "PATCH", f"/api/analyses/{aid}/status", body, headers)
    assert (repeat.status_code, repeat.content) == (200, first.content)
    assert repeat.headers["content-type"] == first.headers["content-type"]
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _state(platform, aid) == finished


def test_a_repeated_presign_gets_the_same_link_and_asks_for_no_second_artifact(
    client: AppClient, two: tuple[int, int], platform: Platform
) -> None:
    aid, _ = two
    body = json.dumps({"artifact_type": "heatmap", "filename": "heat.png"}).encode()
    headers = signed_headers(body)
    path = f"/api/analyses/{aid}/artifacts/presign"
    first = _send(client, "POST", path, body, headers)
    assert first.status_code == 200, first.text
    repeat = _send(client, "POST", path.replace("/api/", "/api/v2/"), body, headers)
    assert (repeat.status_code, repeat.content) == (200, first.content)
    with platform.db.read() as repos:
        artifacts = repos.callbacks.callbacks.artifacts(aid)
    assert [a.storage_key for a in artifacts] == [first.json()["storage_path"]]


def test_a_repeated_bulk_replace_gets_its_first_answer_and_does_not_replace_again(
    client: AppClient, two: tuple[int, int], pipeline: Pipeline, platform: Platform
) -> None:
    aid, _ = two
    items = [box(1, 1, 2 + n, 3) for n in range(50)]
    body = json.dumps({"annotations": items, "mode": "replace"}).encode()
    headers = signed_headers(body)
    path = f"/api/analyses/{aid}/annotations:bulk"
    first = _send(client, "POST", path, body, headers)
    assert first.status_code == 200, first.text
    assert first.json()["total"] == 50
    added = pipeline.call("POST", f"/analyses/{aid}/annotations:bulk",
                          {"annotations": [box(5, 5, 90, 90)]}, timestamp=_fresh())  # fmt: skip
    assert added.json()["total"] == 51
    # Run again, the replace would leave 50; the repeat gets the first answer and leaves 51.
    repeat = _send(client, "POST", path, body, headers)
    assert (repeat.status_code, repeat.content) == (200, first.content)
    assert _state(platform, aid)[2] == 51
    # A bulk answer is large: it is kept compressed (the small ones before it are not).
    row = CallbackSignatureRow
    with platform.db.read() as repos:
        kept = repos.session.execute(
            select(row.answer_compressed, row.answer_body).where(
                row.action == "bulk_annotations", row.analysis_id == aid
            )
        ).all()
    assert sorted(compressed for compressed, _ in kept) == [False, False, True]
    (large,) = [body for compressed, body in kept if compressed]
    assert len(large) < len(first.content) / 4


def test_a_repeated_finalize_gets_its_first_answer_and_does_not_run_again(
    client: AppClient, two: tuple[int, int], platform: Platform
) -> None:
    aid, _ = two
    body = json.dumps({"status": "completed"}).encode()
    headers = signed_headers(body)
    first = _send(client, "POST", f"/api/analyses/{aid}/finalize", body, headers)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "completed"
    finished = _state(platform, aid)
    # Changed since (as another part of trapline may change it): run again, the finalize
    # would answer the analysis as it is now.
    with platform.db.write() as repos:
        repos.session.execute(
            update(AnalysisRow).where(AnalysisRow.id == aid).values(model_name="renamed")
        )
    repeat = _send(client, "POST", f"/api/analyses/{aid}/finalize", body, headers)
    assert (repeat.status_code, repeat.content) == (200, first.content)
    assert repeat.json()["model_name"] == "moth-detector"
    assert _state(platform, aid) == finished


def test_a_repeat_of_a_refused_call_gets_the_same_refusal(
    client: AppClient, two: tuple[int, int], platform: Platform
) -> None:
    aid, _ = two
    link = json.dumps({"artifact_type": "mask", "filename": "mask.png"}).encode()
    linked = _send(client, "POST", f"/api/analyses/{aid}/artifacts/presign", link,
                   signed_headers(link))  # fmt: skip
    assert linked.status_code == 200, linked.text
    mask = {"annotation_type": "mask", "storage_path": linked.json()["storage_path"],
            "data": {"width": 32, "height": 24}}  # fmt: skip
    body = json.dumps({"annotations": [mask]}).encode()
    headers = signed_headers(body)
    path = f"/api/analyses/{aid}/annotations:bulk"
    first = _send(client, "POST", path, body, headers)  # the mask is not uploaded yet
    assert first.status_code == 400, first.text
    put = client.put(
        linked.json()["upload_url"], content=png(), headers={"Content-Type": "image/png"}
    )
    assert put.status_code == 201, put.text
    # Run again, the post would now be stored; the repeat is the first refusal.
    repeat = _send(client, "POST", path, body, headers)
    assert (repeat.status_code, repeat.content) == (400, first.content)
    assert _state(platform, aid)[2] == 3
    # A body the route cannot read at all (400 from validation) is kept the same way.
    bogus = json.dumps({"status": "asleep"}).encode()
    bogus_headers = signed_headers(bogus)
    refused = _send(client, "PATCH", f"/api/analyses/{aid}/status", bogus, bogus_headers)
    assert refused.status_code == 400, refused.text
    again = _send(client, "PATCH", f"/api/analyses/{aid}/status", bogus, bogus_headers)
    assert (again.status_code, again.content) == (400, refused.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    # Signed afresh, the same post is a new call, and stored.
    fresh = _send(client, "POST", path, body, signed_headers(body, timestamp=_fresh()))
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["total"] == 4


def test_a_repeat_during_the_first_call_is_told_when_to_retry_and_a_failed_call_is_not_kept(
    client: AppClient, two: tuple[int, int], platform: Platform
) -> None:
    aid, _ = two
    body = json.dumps({"annotations": [], "mode": "replace"}).encode()
    headers = signed_headers(body)
    path = f"/api/analyses/{aid}/annotations:bulk"
    # The first call has begun: its signature is checked and bound, its answer not there yet.
    given = SignedRequest(headers["X-ML-Signature"], headers["X-ML-Timestamp"], None)
    begun = platform.callbacks.verify(aid, given, body, "test", "bulk_annotations")
    assert begun.digest is not None
    assert begun.repeat is None
    waiting = _send(client, "POST", path, body, headers)
    assert waiting.status_code == 503, waiting.text
    assert waiting.headers["Retry-After"] == "1"
    assert waiting.json()["code"] == "signature_in_progress"
    assert _state(platform, aid)[2] == 3
    # The first call failed on the server's side: nothing is kept, and the repeat runs.
    signed_calls.failed(platform.db, begun.digest)
    ran = _send(client, "POST", path, body, headers)
    assert ran.status_code == 200, ran.text
    assert _state(platform, aid)[2] == 0
    assert _send(client, "POST", path, body, headers).content == ran.content


def test_kept_answers_are_forgotten_when_their_signatures_expire(
    client: AppClient, two: tuple[int, int], platform: Platform, fake_clock: FakeClock
) -> None:
    row = CallbackSignatureRow
    with platform.db.read() as repos:
        kept = repos.session.execute(select(row.answer_status, row.expires_at)).all()
    assert sorted(status for status, _ in kept) == [200] * 4
    last = max(expires for _, expires in kept)

    def remaining() -> int:
        fail_stuck_analyses(platform.db, platform.settings.callbacks, fake_clock)
        with platform.db.read() as repos:
            return len(repos.session.scalars(select(row.id)).all())

    fake_clock.advance((last - fake_clock.now()).total_seconds() - 1)
    assert remaining() >= 1
    fake_clock.advance(2)
    assert remaining() == 0

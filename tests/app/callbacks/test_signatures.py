"""HMAC checks of signed calls: every way a signature fails, one call per signature,
rotation, the flag."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter

import pytest
from pydantic import SecretStr

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.callbacks import SECRET, Pipeline, create_analysis, signed_headers
from trapline.app import create_app
from trapline.domain.callbacks.callbacks import PROBLEM_MESSAGES, SignatureProblem
from trapline.platform import Platform

STATUS = json.dumps({"status": "processing"}).encode()


def _patch(client: AppClient, aid: int, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    answer = client.patch(f"/api/analyses/{aid}/status", content=body, headers=headers)
    return answer.status_code, answer.json()


def test_each_failed_check_is_named_and_never_shows_the_expected_signature(
    client: AppClient, analysis: int, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    good = signed_headers(STATUS)
    now = int(time.time())
    cases = {
        "missing_header": {"Content-Type": "application/json"},
        "bad_format": {**good, "X-ML-Signature": "md5=abc"},
        "skew_past": signed_headers(STATUS, timestamp=now - 310),
        "skew_future": signed_headers(STATUS, timestamp=now + 310),
        "mismatch": signed_headers(STATUS, "another-secret"),
    }
    expected_words = {
        "missing_header": "not signed",
        "bad_format": "must be sha256=",
        "skew_past": "too far from the server's clock",
        "skew_future": "too far from the server's clock",
        "mismatch": "does not match",
    }
    caplog.set_level(logging.WARNING, "trapline.services.callbacks.callbacks")
    exported: list[tuple[int, dict[str, str]]] = []

    class Recorder:  # stands in for the OpenTelemetry counter, which needs an SDK to read
        def add(self, amount: int, attributes: dict[str, str]) -> None:
            exported.append((amount, attributes))

    platform.callbacks.monitor._exported = Recorder()  # type: ignore[assignment]
    for name, headers in cases.items():
        status, body = _patch(client, analysis, STATUS, headers)
        assert status == 401, (name, body)
        assert body["code"] == "bad_signature"
        assert expected_words[name] in body["detail"], (name, body)
        real = signed_headers(STATUS, timestamp=int(headers.get("X-ML-Timestamp", now)))
        assert real["X-ML-Signature"].removeprefix("sha256=") not in json.dumps(body)
    counts = platform.callbacks.monitor.counts()
    assert counts == {"missing_header": 1, "bad_format": 1, "skew": 2, "mismatch": 1}
    assert Counter(a["reason"] for _, a in exported) == counts
    logged = [r.getMessage() for r in caplog.records if "signature refused" in r.getMessage()]
    assert len(logged) == 5
    assert all(f"analysis {analysis} from testclient" in line for line in logged)
    # Within the window on both sides is accepted.
    for offset in (-290, 290):
        status, body = _patch(
            client, analysis, STATUS, signed_headers(STATUS, timestamp=now + offset)
        )
        assert status == 200, body


def test_the_raw_body_is_signed_not_its_meaning(client: AppClient, analysis: int) -> None:
    headers = signed_headers(STATUS)
    reformatted = json.dumps({"status": "processing"}, indent=2).encode()
    status, body = _patch(client, analysis, reformatted, headers)
    assert status == 401
    assert "does not match" in body["detail"]
    assert _patch(client, analysis, STATUS, headers)[0] == 200


def test_a_signature_is_bound_to_its_call_on_every_replica(
    client: AppClient, analysis: int, platform: Platform
) -> None:
    failed = json.dumps({"status": "failed", "error_message": "out of memory"}).encode()
    headers = signed_headers(failed)
    first = client.patch(f"/api/analyses/{analysis}/status", content=failed, headers=headers)
    assert first.status_code == 200, first.text
    # Another server process on the same database: it has never seen the request.
    other = Platform.from_settings(platform.settings, db=platform.db)
    try:
        with AppClient(create_app(other)) as second:
            repeat = second.patch(
                f"/api/v2/analyses/{analysis}/status", content=failed, headers=headers
            )
            # The same body is a valid finalize: the signature is still not good for it.
            elsewhere = second.post(
                f"/api/analyses/{analysis}/finalize", content=failed, headers=headers
            )
    finally:
        other.close()
    assert (repeat.status_code, repeat.content) == (200, first.content)
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert elsewhere.status_code == 409
    assert elsewhere.json()["code"] == "signature_used_elsewhere"


def test_unknown_analysis_is_404_only_for_a_valid_signature(client: AppClient) -> None:
    status, body = _patch(client, 999_999, STATUS, signed_headers(STATUS))
    assert (status, body["detail"]) == (404, "analysis 999999 not found")
    status, _ = _patch(client, 999_998, STATUS, signed_headers(STATUS, "wrong"))
    assert status == 401


def test_rotation_global_list_and_project_secrets(
    client: AppClient, owner: Account, project_id: int, analysis: int, platform: Platform
) -> None:
    rotated = replace_settings(platform, ml_callback_hmac_secret=SecretStr(f"new-secret,{SECRET}"))
    with AppClient(create_app(rotated)) as server:
        for secret in ("new-secret", SECRET):
            headers = signed_headers(STATUS, secret, timestamp=int(time.time()) - len(secret))
            assert _patch(server, analysis, STATUS, headers)[0] == 200
    rotated.close()

    made = client.post(
        f"/api/v2/projects/{project_id}/callback-secrets",
        json={"name": "cluster"},
        headers=owner.headers,
    )
    assert made.status_code == 201, made.text
    secret, key_id = made.json()["secret"], made.json()["key_id"]
    listed = client.get(f"/api/v2/projects/{project_id}/callback-secrets", headers=owner.headers)
    assert secret not in listed.text
    pipeline = Pipeline(client, secret=secret, key_id=key_id)
    # Each call signs its own timestamp, taken from one instant: however slow the machine, no
    # two calls below are the same signed message (a repeat would get the first answer).
    now = int(time.time())
    answer = pipeline.call(
        "PATCH", f"/analyses/{analysis}/status", {"status": "processing"}, timestamp=now
    )
    assert answer.status_code == 200
    # Without the key id every active secret is tried.
    anyone = Pipeline(client, secret=secret)
    answer = anyone.call(
        "PATCH",
        f"/analyses/{analysis}/status",
        {"status": "processing"},
        timestamp=now - 3,
    )
    assert answer.status_code == 200
    # A key id picks only that secret: the global one is not tried with it.
    global_with_id = Pipeline(client, key_id=key_id)
    answer = global_with_id.call(
        "PATCH",
        f"/analyses/{analysis}/status",
        {"status": "processing"},
        timestamp=now - 4,
    )
    assert answer.status_code == 401
    revoked = client.delete(
        f"/api/v2/projects/{project_id}/callback-secrets/{made.json()['id']}", headers=owner.headers
    )
    assert revoked.status_code == 204
    answer = pipeline.call(
        "PATCH",
        f"/analyses/{analysis}/status",
        {"status": "processing"},
        timestamp=now - 5,
    )
    assert answer.status_code == 401
    # Told as a mismatch (a key id of another project must not tell its analyses apart from
    # this one's), counted apart.
    assert answer.json()["detail"] == PROBLEM_MESSAGES[SignatureProblem.MISMATCH]
    assert platform.callbacks.monitor.counts()["unknown_key"] >= 1
    # The stored value is sealed, not the secret.
    with platform.db.read() as repos:
        sealed = repos.callbacks.callbacks.active_sealed(project_id, None)
    assert all(secret not in value for _, value in sealed)


def test_the_feature_flag_turns_the_whole_api_off(
    client: AppClient, owner: Account, image_id: int, analysis: int, platform: Platform
) -> None:
    off = replace_settings(platform, ml_analysis_enabled=False)
    try:
        with AppClient(create_app(off)) as server:
            unknown = server.get("/api/v2/no-such-thing", headers=owner.headers).json()
            answers = [
                create_analysis(server, owner, image_id),
                server.get(f"/api/analyses/{analysis}", headers=owner.headers),
                server.get(f"/api/v2/images/{image_id}/analyses", headers=owner.headers),
                server.patch(
                    f"/api/analyses/{analysis}/status",
                    content=STATUS,
                    headers=signed_headers(STATUS),
                ),
            ]
    finally:
        off.close()
    for answer in answers:
        assert answer.status_code == 404
        assert answer.json() == unknown


def replace_settings(platform: Platform, **changes: object) -> Platform:
    settings = platform.settings.updated(**changes)
    return Platform.from_settings(settings, db=platform.db)


def test_unsigned_calls_with_a_member_token_when_hmac_is_not_required(
    client: AppClient, owner: Account, analysis: int, platform: Platform, make_account
) -> None:
    relaxed = replace_settings(platform, ml_pipeline_require_hmac=False)
    stranger = make_account("stranger")
    try:
        with AppClient(create_app(relaxed)) as server:
            mine = server.patch(
                f"/api/analyses/{analysis}/status",
                json={"status": "processing"},
                headers=owner.headers,
            )
            theirs = server.patch(
                f"/api/analyses/{analysis}/status",
                json={"status": "processing"},
                headers=stranger.headers,
            )
            nobody = server.patch(f"/api/analyses/{analysis}/status", json={"status": "processing"})
    finally:
        relaxed.close()
    assert mine.status_code == 200, mine.text
    assert theirs.status_code == 404
    assert nobody.status_code == 401
    # Required (the default), a token is not enough.
    assert (
        client.patch(
            f"/api/analyses/{analysis}/status", json={"status": "processing"}, headers=owner.headers
        ).status_code
        == 401
    )

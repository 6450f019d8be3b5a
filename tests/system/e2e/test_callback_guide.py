"""The integration guide's own examples against a real ``trapline serve``.

Python ``requests`` with the guide's header function, then ``curl`` + ``openssl dgst`` exactly
as the guide prints them, then ``trapline simulate-pipeline``; on SQLite and PostgreSQL, with
local storage and with S3 (a moto server). The secret is given by the guide's variable name.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.databases import BACKENDS, PostgresDatabases
from tests.support.moto import new_bucket
from tests.support.processes import clean_env
from tests.support.workers import live_platform
from trapline.client.simulation import gray_png
from trapline.imaging.synthetic import light_trap_jpeg

SECRET = "guide-example-secret"


def ml_headers(secret: str, body: bytes) -> dict[str, str]:
    """The guide's header function."""
    timestamp = str(int(time.time()))
    message = timestamp.encode() + b"." + body
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-ML-Timestamp": timestamp,
        "X-ML-Signature": f"sha256={signature}",
    }


#: The guide's curl recipe: sign ``timestamp.body`` with openssl, send the same bytes.
CURL_RECIPE = r"""
set -eu
TS=$(date +%s)
SIG=$(printf '%s.%s' "$TS" "$BODY" \
  | openssl dgst -sha256 -hmac "$ML_CALLBACK_HMAC_SECRET" | sed 's/^.* //')
curl -sS -X "$METHOD" "$URL" \
  -H "Content-Type: application/json" \
  -H "X-ML-Timestamp: $TS" \
  -H "X-ML-Signature: sha256=$SIG" \
  --data-binary "$BODY" \
  -w '\n%{http_code}'
"""


def curl(method: str, url: str, body: str) -> tuple[int, dict]:
    env = {"METHOD": method, "URL": url, "BODY": body, "ML_CALLBACK_HMAC_SECRET": SECRET}
    done = subprocess.run(
        ["bash", "-c", CURL_RECIPE], env={**clean_env(), **env}, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    text, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(text)


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("openssl")), reason="no curl/openssl"
)
@pytest.mark.parametrize("storage", ["local", "s3"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_guide_examples_work_unchanged(
    backend: str,
    storage: str,
    tmp_path: Path,
    postgres_databases: PostgresDatabases,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ML_CALLBACK_HMAC_SECRET", SECRET)
    extra: dict[str, str] = {}
    if storage == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        extra = {"STORAGE_URL": f"s3://{new_bucket(endpoint)}/blobs", "S3_ENDPOINT_URL": endpoint}
    with live_platform(backend, tmp_path, postgres_databases, **extra) as live:
        auth = {"Authorization": f"Token {live.token}"}
        with live.client() as client:
            project = client.post("/api/v2/projects/", json={"name": "guide"}).json()["id"]
            photo = ("files", ("trap.jpg", io.BytesIO(light_trap_jpeg(3, width=320, height=240))))
            uploaded = client.post(f"/api/v2/projects/{project}/images/", files=[photo])
            image_id = uploaded.json()["results"][0]["id"]
        base = live.url

        # Python requests, as the guide prints it.
        created = requests.post(
            f"{base}/api/images/{image_id}/analyses",
            json={"image_id": image_id, "model_name": "guide-model", "model_version": "0.1",
                  "parameters": {}, "provenance": {}},
            headers=auth, timeout=30,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        aid = created.json()["id"]
        body = json.dumps({"status": "processing"}).encode()
        moved = requests.patch(
            f"{base}/api/analyses/{aid}/status", data=body, headers=ml_headers(SECRET, body),
            timeout=30,
        )  # fmt: skip
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == "processing"

        # curl + openssl dgst.
        status, link = curl(
            "POST", f"{base}/api/analyses/{aid}/artifacts/presign",
            '{"artifact_type": "heatmap", "filename": "heat.png"}',
        )  # fmt: skip
        assert status == 200, link
        heat = gray_png(16, 12, lambda x, y: x * 16)
        put = requests.put(
            link["upload_url"], data=heat, headers={"Content-Type": "image/png"}, timeout=30
        )
        assert put.status_code in (200, 201), put.text
        items = [
            {"annotation_type": "bounding_box", "class_name": "moth", "confidence": 0.8,
             "data": {"x_min": 1, "y_min": 2, "x_max": 30, "y_max": 40,
                      "image_width": 320, "image_height": 240}},
            {"annotation_type": "heatmap", "storage_path": link["storage_path"],
             "data": {"width": 16, "height": 12, "color_map": "gray"}},
        ]  # fmt: skip
        bulk = json.dumps({"annotations": items, "mode": "append"}, indent=1)
        status, stored = curl("POST", f"{base}/api/v2/analyses/{aid}/annotations:bulk", bulk)
        assert status == 200, stored
        assert stored["total"] == 2
        status, done = curl(
            "POST", f"{base}/api/analyses/{aid}/finalize", '{"status": "completed"}'
        )
        assert status == 200, done
        assert done["status"] == "completed"

        read = requests.get(f"{base}/api/v2/analyses/{aid}", headers=auth, timeout=30).json()
        (artifact,) = read["artifacts"]
        assert requests.get(artifact["download_url"], timeout=30).content == heat

        # The simulation, as a person runs it.
        env = {**clean_env(), "TRAPLINE_TOKEN": live.token, "ML_CALLBACK_HMAC_SECRET": SECRET}
        ran = subprocess.run(
            [sys.executable, str(Path(__file__).parents[3] / "scripts" / "simulate_pipeline.py"),
             "--image-id", str(image_id), "--url", base],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert ": completed" in ran.stdout
        assert "9 annotations" in ran.stdout
        assert ran.stdout.count("artifact ") == 2

        # Without a secret it prints the exact call that makes one; following it works.
        del env["ML_CALLBACK_HMAC_SECRET"]
        script = Path(__file__).parents[3] / "scripts" / "simulate_pipeline.py"
        simulate = [sys.executable, str(script), "--image-id", str(image_id), "--url", base]
        hint = subprocess.run(simulate, env=env, capture_output=True, text=True, timeout=120)
        assert hint.returncode == 2, hint.stdout + hint.stderr
        project = requests.get(f"{base}/api/v2/images/{image_id}/", headers=auth, timeout=30)
        call = (
            f"curl -X POST {base}/api/v2/projects/{project.json()['project_id']}/callback-secrets"
        )
        assert call in hint.stderr, hint.stderr
        made = requests.post(
            call.split()[-1], json={"name": "simulator"}, headers=auth, timeout=30
        ).json()
        env["ML_CALLBACK_HMAC_SECRET"] = made["secret"]
        signed = subprocess.run(
            [*simulate, "--key-id", made["key_id"]], env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert signed.returncode == 0, signed.stdout + signed.stderr
        assert ": completed" in signed.stdout

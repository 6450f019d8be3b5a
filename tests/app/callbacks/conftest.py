"""Fixtures of the callback API tests: a server with a global secret, a signing client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.settings import make_settings
from trapline.domain.callbacks import sign
from trapline.settings import Settings

#: The global callback secret the test servers hold.
SECRET = "guide-secret-1"


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    return make_settings(request, tmp_path, database_url, ml_callback_hmac_secret=SECRET)


def signed_headers(
    body: bytes, secret: str = SECRET, *, timestamp: int | None = None, key_id: str | None = None
) -> dict[str, str]:
    """The guide's headers for a body."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        "X-ML-Timestamp": stamp,
        "X-ML-Signature": sign(secret.encode(), stamp, body),
    }
    if key_id:
        headers["X-ML-Key-Id"] = key_id
    return headers


@dataclass
class Pipeline:
    """Signs and sends callback calls through a test client."""

    client: AppClient
    secret: str = SECRET
    key_id: str | None = None
    prefix: str = "/api"

    def call(self, method: str, path: str, payload: Any, **kwargs: Any) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = signed_headers(body, self.secret, key_id=self.key_id, **kwargs)
        return self.client.request(method, self.prefix + path, content=body, headers=headers)


@pytest.fixture
def pipeline(client: AppClient) -> Pipeline:
    return Pipeline(client)


@pytest.fixture
def image_id(client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]) -> int:
    """One 320 x 240 image in the owner's project."""
    answer = upload(client, owner, project_id, ("a.jpg", jpeg(1)))
    assert answer["status"] == 201, answer
    return int(answer["results"][0]["id"])


def create_analysis(
    client: AppClient, account: Account, image: int, prefix: str = "/api", **extra: Any
) -> httpx.Response:
    body = {
        "image_id": image,
        "model_name": "moth-detector",
        "model_version": "1.2.0",
        "parameters": {"threshold": 0.5},
        "provenance": {"git": "abc123"},
        **extra,
    }
    return client.post(f"{prefix}/images/{image}/analyses", json=body, headers=account.headers)

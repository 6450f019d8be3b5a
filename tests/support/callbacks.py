"""The callback API as an external pipeline calls it: the global secret the test servers hold,
signed headers, a signing client, and the bodies the tests send."""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image as PILImage

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from trapline.domain.callbacks.callbacks import sign

#: The global callback secret the test servers hold (``ml_callback_hmac_secret``).
SECRET = "guide-secret-1"


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


def png(width: int = 32, height: int = 24) -> bytes:
    out = io.BytesIO()
    PILImage.new("L", (width, height), 128).save(out, "PNG")
    return out.getvalue()


def box(x1: float = 10, y1: float = 20, x2: float = 50, y2: float = 60, **extra: object) -> dict:
    data = {"x_min": x1, "y_min": y1, "x_max": x2, "y_max": y2,
            "image_width": 320, "image_height": 240}  # fmt: skip
    return {"annotation_type": "bounding_box", "class_name": "moth", "confidence": 0.9,
            "data": data, **extra}  # fmt: skip


_stamps: set[int] = set()


def fresh_timestamp() -> int:
    """A signing timestamp no other call of this process used (the same body and time is the
    same call again, answered as the first was), within the server's skew of 300 s either way."""
    now = int(time.time())
    stamp = next(s for s in range(now + 290, now - 290, -1) if s not in _stamps)
    _stamps.add(stamp)
    return stamp

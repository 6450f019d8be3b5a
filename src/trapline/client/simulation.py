"""A simulated external pipeline: drives one analysis through the callback API over HTTP.

It uses nothing of trapline but its public HTTP API and the HMAC scheme of
docs/callback-api.md (``sign`` below is the whole scheme), so it doubles as the worked
example: create an analysis, set it processing, upload a heatmap and a mask through presigned
links, post boxes, a top-k classification, a heatmap reference, an RLE segmentation, keypoints
and a custom item, finalize, and read it all back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import time
import zlib
from dataclasses import dataclass
from typing import Any

import httpx


def sign(
    secret: str, body: bytes, key_id: str | None = None, *, timestamp: int | None = None
) -> dict[str, str]:
    """The guide's headers: HMAC-SHA256 over ``timestamp + "." + raw body`` (now, unless
    ``timestamp`` says another second)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-ML-Timestamp": stamp,
        "X-ML-Signature": "sha256=" + digest.hexdigest(),
    }
    if key_id:
        headers["X-ML-Key-Id"] = key_id
    return headers


#: Seconds tried after now when a signature is taken by another call (docs/callback-api.md).
_LATER_SECONDS = 5


def gray_png(width: int, height: int, pixel: Any) -> bytes:
    """An 8-bit greyscale PNG whose pixel (x, y) is ``pixel(x, y)`` (0-255)."""
    rows = b"".join(b"\x00" + bytes(pixel(x, y) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass
class PipelineClient:
    """Calls of an external pipeline: a user token to create, a secret to sign the rest."""

    http: httpx.Client
    token: str
    secret: str
    key_id: str | None = None
    prefix: str = "/api"

    def create(self, image_id: int, model_name: str, model_version: str) -> dict[str, Any]:
        body = {
            "image_id": image_id,
            "model_name": model_name,
            "model_version": model_version,
            "parameters": {"threshold": 0.25},
            "provenance": {"runner": "trapline simulate-pipeline"},
        }
        answer = self.http.post(
            f"{self.prefix}/images/{image_id}/analyses",
            json=body,
            headers={"Authorization": f"Token {self.token}"},
        )
        return _ok(answer, 201)

    def signed(self, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        stamp = int(time.time())
        for later in range(_LATER_SECONDS):
            headers = sign(self.secret, body, self.key_id, timestamp=stamp + later)
            answer = self.http.request(method, self.prefix + path, content=body, headers=headers)
            # The same body signed in the same second for another analysis (another pipeline's
            # finalize, say) is the same signature, good for one call: sign the next second.
            if answer.status_code != 409 or answer.json().get("code") != "signature_used_elsewhere":
                break
        return _ok(answer, 200)

    def upload(self, analysis_id: int, kind: str, filename: str, data: bytes) -> str:
        link = self.signed(
            "POST",
            f"/analyses/{analysis_id}/artifacts/presign",
            {"artifact_type": kind, "filename": filename},
        )
        # The link carries its own credentials: a plain PUT with the content type.
        put = httpx.put(
            link["upload_url"], content=data, headers={"Content-Type": "image/png"}, timeout=60
        )
        if put.status_code not in (200, 201):
            raise RuntimeError(f"upload of {filename} answered {put.status_code}: {put.text}")
        return str(link["storage_path"])


def _ok(answer: httpx.Response, status: int) -> dict[str, Any]:
    if answer.status_code != status:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path} answered {answer.status_code}: "
            f"{answer.text[:500]}"
        )
    found: dict[str, Any] = answer.json()
    return found


def simulate(
    client: PipelineClient,
    image_id: int,
    *,
    model_name: str = "simulated-pipeline",
    model_version: str = "1.0",
) -> dict[str, Any]:
    """Run one analysis of ``image_id`` through its whole life; the analysis as read back."""
    analysis = client.create(image_id, model_name, model_version)
    aid = analysis["id"]
    client.signed("PATCH", f"/analyses/{aid}/status", {"status": "processing"})
    image = client.http.get(
        f"/api/v2/images/{image_id}", headers={"Authorization": f"Token {client.token}"}
    )
    width, height = _ok(image, 200)["width"], _ok(image, 200)["height"]
    heat = gray_png(64, 48, lambda x, y: (x * 4 + y * 2) % 256)
    mask = gray_png(64, 48, lambda x, y: 255 if 16 <= x < 48 and 12 <= y < 36 else 0)
    heat_path = client.upload(aid, "heatmap", "heatmap.png", heat)
    mask_path = client.upload(aid, "mask", "mask.png", mask)
    w, h = min(width, 40), min(height, 30)
    items: list[dict[str, Any]] = [
        {
            "annotation_type": "bounding_box",
            "class_name": "moth",
            "confidence": 0.91 - n * 0.1,
            "data": {
                "x_min": n * w // 4,
                "y_min": n * h // 4,
                "x_max": n * w // 4 + w // 2,
                "y_max": n * h // 4 + h // 2,
                "image_width": width,
                "image_height": height,
            },
        }
        for n in range(3)
    ]
    items += [
        {
            "annotation_type": "classification",
            "data": {
                "topk": [
                    {"class": "Noctuidae", "confidence": 0.72},
                    {"class": "Geometridae", "confidence": 0.18},
                    {"class": "Erebidae", "confidence": 0.06},
                ]
            },
        },
        {
            "annotation_type": "heatmap",
            "storage_path": heat_path,
            "data": {"width": 64, "height": 48, "color_map": "viridis"},
        },
        {
            "annotation_type": "segmentation",
            "class_name": "moth",
            "confidence": 0.8,
            "data": {"format": "rle", "counts": [0, 4, 4], "bbox": [0, 0, 4, 2], "area": 4},
        },
        {
            "annotation_type": "mask",
            "class_name": "moth",
            "storage_path": mask_path,
            "data": {"width": 64, "height": 48},
        },
        {
            "annotation_type": "keypoint",
            "class_name": "moth",
            "data": {
                "keypoints": [
                    {"name": "head", "x": w / 4, "y": h / 4, "confidence": 0.9},
                    {"name": "abdomen", "x": w / 2, "y": h / 2, "confidence": 0.8},
                ],
                "skeleton": [[0, 1]],
            },
        },
        {"annotation_type": "custom", "data": {"wing_span_mm": 34.5, "note": "simulated"}},
    ]
    client.signed(
        "POST", f"/analyses/{aid}/annotations:bulk", {"annotations": items, "mode": "append"}
    )
    client.signed("POST", f"/analyses/{aid}/finalize", {"status": "completed"})
    read = client.http.get(
        f"/api/v2/analyses/{aid}", headers={"Authorization": f"Token {client.token}"}
    )
    return _ok(read, 200)


def summary(analysis: dict[str, Any]) -> str:
    """A few lines on what the analysis holds."""
    kinds: dict[str, int] = {}
    for a in analysis["annotations"]:
        kinds[a["annotation_type"]] = kinds.get(a["annotation_type"], 0) + 1
    listed = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    lines = [
        f"analysis {analysis['id']} of image {analysis['image_id']} "
        f"({analysis['model_name']} {analysis['model_version']}): {analysis['status']}",
        f"  {len(analysis['annotations'])} annotations: {listed}",
    ]
    lines += [
        f"  artifact {a['artifact_type']}: {a['storage_path']}" for a in analysis["artifacts"]
    ]
    return "\n".join(lines)

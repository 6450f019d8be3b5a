"""msgspec structs of a post of results, for ``result_reading.py`` only (msgspec is not a
dependency of trapline: importing this fails without it)."""

from typing import Any

import msgspec


class Algorithm(msgspec.Struct):
    name: str
    key: str


class Classification(msgspec.Struct):
    classification: str
    algorithm: Algorithm
    labels: list[str] | None = None
    scores: list[float] = []
    logits: list[float] | None = None
    features: list[float] | None = None
    inference_time: float | None = None
    terminal: bool = True
    timestamp: str | None = None


class Box(msgspec.Struct):
    x1: float
    y1: float
    x2: float
    y2: float


class Detection(msgspec.Struct):
    source_image_id: str
    algorithm: Algorithm
    bbox: Box | None = None
    inference_time: float | None = None
    timestamp: str | None = None
    crop_image_url: str | None = None
    classifications: list[Classification] = []


class Source(msgspec.Struct):
    id: str
    url: str | None = None


class Result(msgspec.Struct):
    pipeline: str
    total_time: float = 0.0
    source_images: list[Source] = []
    detections: list[Detection] = []
    note: str | None = None


class Item(msgspec.Struct):
    reply_subject: str
    result: Result


class Post(msgspec.Struct):
    results: list[Item]
    client_info: dict[str, Any] | None = None


DECODER = msgspec.json.Decoder(Post)

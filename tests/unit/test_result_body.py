"""A post of results within the caps of one part is typed whole; anything else, or anything
not valid in it, is read part by part as before, with the same results and answers."""

from __future__ import annotations

import json
from typing import Any

from trapline.protocol.base import MAX_PART_VALUES
from trapline.protocol.results import PipelineResultsResponse, ResultError
from trapline.services.processing.result_body import (
    PendingResult,
    Refusal,
    StreamedResult,
    _read_post,
    read_post,
)


def _item(n: int, **changes: Any) -> dict[str, Any]:
    classification = {
        "classification": "moth",
        "labels": ["moth", "fly"],
        "scores": [0.8, 0.2],
        "features": [0.5, -0.25],
        "algorithm": {"name": "c", "key": "cls"},
    }
    result = {
        "pipeline": "p",
        "total_time": 0.5,
        "source_images": [{"id": str(n), "url": "http://example.org/1.jpg"}],
        "detections": [
            {
                "source_image_id": str(n),
                "bbox": {"x1": 1, "y1": 2, "x2": 30.5, "y2": 40},
                "algorithm": {"name": "d", "key": "det"},
                "classifications": [classification, {**classification, "terminal": False}],
            }
        ],
    }
    return {"reply_subject": f"lease-{n}", "result": {**result, **changes}}


def _typed_part_by_part(body: bytes) -> list[Any]:
    found = []
    for item in _read_post(body).items:
        assert isinstance(item.result, PendingResult)
        read = item.result.read()
        if isinstance(read, StreamedResult):
            read = read.head.model_copy(update={"detections": list(read.detections())})
        found.append((item.reply_subject, read))
    return found


def test_a_valid_post_is_typed_whole_as_part_by_part_types_it() -> None:
    items = [_item(n) for n in range(5)] + [
        {"reply_subject": "lease-e", "result": {"error": "out of memory", "image_id": "9"}}
    ]
    body = json.dumps({"results": items, "client_info": {"hostname": "h"}}).encode()

    post = read_post(body)

    assert post.client_info is not None
    assert post.client_info.hostname == "h"
    assert all(isinstance(i.result, PipelineResultsResponse | ResultError) for i in post.items)
    assert [_seen(i.reply_subject, i.result) for i in post.items] == [
        _seen(*item) for item in _typed_part_by_part(body)
    ]


def _seen(reply_subject: str | None, result: Any) -> tuple[Any, ...]:
    """What the rest of the result path reads of an item: its kind and every field."""
    kind = "result" if isinstance(result, PipelineResultsResponse) else type(result).__name__
    return reply_subject, kind, result.model_dump()


def test_an_error_key_makes_an_error_report_or_a_refusal_never_a_pipeline_result() -> None:
    items = [
        _item(0, error="disk full"),  # a report that also sent a pipeline's fields
        _item(1),
    ]
    post = read_post(json.dumps({"results": items}).encode())
    assert post.items[0].result == ResultError(error="disk full")
    assert isinstance(post.items[1].result, PipelineResultsResponse)

    for error in (None, 5):  # not a message: the item is refused, as part by part
        items = [_item(0, error=error), _item(1)]
        post = read_post(json.dumps({"results": items}).encode())
        pending = post.items[0].result
        assert isinstance(pending, PendingResult)
        read = pending.read()
        assert isinstance(read, Refusal)
        assert read.reason.startswith("result is not valid: error")


def test_a_post_with_an_item_not_valid_is_read_part_by_part() -> None:
    items = [_item(0), _item(1, total_time="slow"), _item(2)]
    body = json.dumps({"results": items}).encode()

    post = read_post(body)

    assert all(isinstance(i.result, PendingResult) for i in post.items)
    refused = post.items[1].result
    assert isinstance(refused, PendingResult)
    read = refused.read()
    assert isinstance(read, Refusal)
    assert "total_time" in read.reason
    kept = post.items[0].result
    assert isinstance(kept, PendingResult)
    assert isinstance(kept.read(), StreamedResult)


def test_a_post_past_one_parts_caps_is_read_part_by_part() -> None:
    features = [0.5] * 8000
    items = [_item(n) for n in range(MAX_PART_VALUES // 16_000 + 1)]
    for item in items:
        for classification in item["result"]["detections"][0]["classifications"]:
            classification["features"] = features
    body = json.dumps({"results": items}).encode()

    post = read_post(body)

    assert all(isinstance(i.result, PendingResult) for i in post.items)
    first = _typed_part_by_part(body)[0][1]
    assert first.detections[0].classifications[0].features == features
